/**
 * Metrics of message history and replay (issue 12), registered on the gateway's registry. Labels are
 * bounded: `result` ok or error, `reason` a GapReason, `trigger` gap, resubscribe or read.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface HistoryMetrics {
  /** Publishes appended to history (or refused because the store could not append). */
  readonly appends: Counter<'result'>;
  /** Messages replayed to restoring sockets after `session:restored`. */
  readonly replayed: Counter;
  /** Streams a restore could not replay, by reason. */
  readonly gaps: Counter<'reason'>;
  /** Messages this node fetched from history for its connected sockets (lost on pub/sub, or late). */
  readonly repaired: Counter<'trigger'>;
  /**
   * Times a stream held messages after a jump for the whole gap wait (25 ms) and then read history: in
   * steady state on one Redis it stays 0 (a late predecessor arrives well within the wait).
   */
  readonly gapWaits: Counter;
  /** Messages this node received twice (pub/sub after a repair) and dropped. */
  readonly duplicates: Counter;
  /** History reads of the node's sequencer that failed (retried). */
  readonly catchUpFailures: Counter;
  /** Streams this node sequences now (streams with sockets here). */
  readonly streams: Gauge;
}

export function createHistoryMetrics(registry: Registry): HistoryMetrics {
  const registers = [registry];
  return {
    appends: new Counter({
      name: 'stayline_history_appends_total',
      help: 'Publishes appended to message history (result ok), or refused because the history store could not append (error).',
      labelNames: ['result'],
      registers,
    }),
    replayed: new Counter({
      name: 'stayline_history_replayed_messages_total',
      help: 'Missed messages replayed to restoring sockets right after session:restored.',
      registers,
    }),
    gaps: new Counter({
      name: 'stayline_history_gaps_total',
      help: 'Streams a restore could not replay (session:restored gapReasons), by reason.',
      labelNames: ['reason'],
      registers,
    }),
    repaired: new Counter({
      name: 'stayline_history_repaired_messages_total',
      help: 'Messages this node delivered from history to its connected sockets because pub/sub lost them or they were late (trigger gap, resubscribe or read).',
      labelNames: ['trigger'],
      registers,
    }),
    gapWaits: new Counter({
      name: 'stayline_history_gap_waits_total',
      help: 'Times a stream held messages after an offset jump for the whole gap wait, then read history for the missing ones.',
      registers,
    }),
    duplicates: new Counter({
      name: 'stayline_history_duplicates_dropped_total',
      help: 'Messages this node received again (already delivered) and dropped.',
      registers,
    }),
    catchUpFailures: new Counter({
      name: 'stayline_history_catchup_failures_total',
      help: 'History reads of the node sequencer that failed (the store unavailable); retried.',
      registers,
    }),
    streams: new Gauge({
      name: 'stayline_history_streams',
      help: 'Streams this node sequences now (streams with sockets here).',
      registers,
    }),
  };
}
