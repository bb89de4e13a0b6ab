/**
 * Metrics of waiting queues and seat holds, registered on the gateway's registry. Labels are bounded:
 * `operation` is one of join, leave, admit_rate, admit_call, hold, release, confirm, define, lapse, sweep;
 * `result` is ok, noop, admitted or a wire error code.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { BufferedCounter } from './buffered-counter.ts';

export interface ClaimMetrics {
  readonly operations: Counter<'operation' | 'result'>;
  readonly positionPushes: Counter;
  readonly watchedQueuedUsers: Gauge;
  readonly seatUpdates: Counter;
  readonly followedEvents: Gauge;
  readonly admitted: Counter;
  readonly sweepDuration: Histogram;
  readonly requestReplays: Counter<'event'>;
}

export function createClaimMetrics(registry: Registry): ClaimMetrics {
  const registers = [registry];
  return {
    operations: new BufferedCounter({
      name: 'stayline_claim_operations_total',
      help: 'Queue and seat operations by operation and result (ok, noop, admitted, or a wire error code).',
      labelNames: ['operation', 'result'],
      registers,
    }),
    positionPushes: new Counter({
      name: 'stayline_queue_position_pushes_total',
      help: 'queue:position events pushed by this node (only changed positions, at most one per user, event and interval).',
      registers,
    }),
    watchedQueuedUsers: new Gauge({
      name: 'stayline_queue_watched_users',
      help: 'Queued users connected to this node whose positions it pushes.',
      registers,
    }),
    seatUpdates: new Counter({
      name: 'stayline_seat_updates_total',
      help: 'seat:update batches sent by this node (one per followed event and interval with changes, to its own followers).',
      registers,
    }),
    followedEvents: new Gauge({
      name: 'stayline_seat_followed_events',
      help: 'Events whose seat changes this node tails (some socket here follows them).',
      registers,
    }),
    admitted: new Counter({
      name: 'stayline_queue_admitted_total',
      help: 'Users admitted from waiting queues by this node (by rate or by service call).',
      registers,
    }),
    sweepDuration: new Histogram({
      name: 'stayline_claim_sweep_duration_seconds',
      help: 'Duration of one sweep round (expired holds, ended sessions) over every event.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
    requestReplays: new BufferedCounter({
      name: 'stayline_request_replays_total',
      help: 'Requests answered from the request-id ledger instead of acting again, by protocol event.',
      labelNames: ['event'],
      registers,
    }),
  };
}
