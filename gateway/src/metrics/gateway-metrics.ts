/**
 * metrics/ defines every Prometheus metric of the gateway, once, on a registry of its own (so several
 * gateways can live in one test process). Labels come from bounded sets only: error codes, protocol event
 * names, outcomes — never a user id, socket id or room name. Imports prom-client and the protocol only.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { BufferedCounter } from './buffered-counter.ts';

/** Latency buckets in seconds for handshakes, restores and Redis commands (sub-ms to seconds). */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface GatewayMetrics {
  readonly registry: Registry;
  readonly connections: Gauge;
  readonly handshakes: Counter<'result'>;
  /** Handshakes waiting in the admission queue now. */
  readonly handshakesQueued: Gauge;
  /** How long admitted handshakes waited in the admission queue. */
  readonly handshakeQueueWait: Histogram;
  /** Retryable refusals delivered as a closed transport (clients that do not retry connect_errors). */
  readonly handshakesShed: Counter<'code'>;
  readonly eventsIn: Counter<'event'>;
  readonly eventsOut: Counter<'event'>;
  readonly rejections: Counter<'code'>;
  readonly disconnects: Counter<'reason'>;
  readonly restores: Counter<'outcome'>;
  readonly restoreDuration: Histogram;
  readonly redisCommandDuration: Histogram<'command' | 'outcome'>;
  readonly redisErrors: Counter<'command'>;
  readonly redisWaitShort: Counter<'operation'>;
  readonly stalePurges: Counter;
  readonly sessionsExpired: Counter;
  readonly purgedSockets: Counter;
  readonly storeErrors: Counter<'operation'>;
  readonly publishes: Counter<'result'>;
  readonly pubsubResubscribes: Counter;
  readonly userDisconnects: Counter<'revoke'>;
  readonly ready: Gauge;
  readonly draining: Gauge;
  readonly drainedSockets: Counter;
  /** Requests and engine connections refused or cut before authentication, by reason. */
  readonly transportRefusals: Counter<'reason'>;
  /** Engine connections that have not completed the Socket.IO CONNECT yet. */
  readonly pendingHandshakes: Gauge;
}

/**
 * Creates the metrics on a new registry, with Node's default process metrics (CPU, memory, event-loop
 * lag as `stayline_nodejs_eventloop_lag_*`) and `nodeId` as a default label.
 */
export function createGatewayMetrics(options: { nodeId: string; collectDefaults?: boolean }): GatewayMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ node: options.nodeId });
  if (options.collectDefaults ?? true) collectDefaultMetrics({ register: registry, prefix: 'stayline_' });
  const registers = [registry];
  return {
    registry,
    connections: new Gauge({ name: 'stayline_connections', help: 'Open authenticated sockets.', registers }),
    handshakesQueued: new Gauge({
      name: 'stayline_handshakes_queued',
      help: 'Handshakes waiting in the admission queue (over HANDSHAKES_PER_SECOND).',
      registers,
    }),
    handshakeQueueWait: new Histogram({
      name: 'stayline_handshake_queue_wait_seconds',
      help: 'Time admitted handshakes waited in the admission queue.',
      buckets: [0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40],
      registers,
    }),
    handshakesShed: new Counter({
      name: 'stayline_handshakes_shed_total',
      help: 'Retryable handshake refusals delivered by closing the transport, by code.',
      labelNames: ['code'],
      registers,
    }),
    handshakes: new Counter({
      name: 'stayline_handshakes_total',
      help: 'Handshakes by result: ok, or the wire error code that refused them.',
      labelNames: ['result'],
      registers,
    }),
    eventsIn: new BufferedCounter({
      name: 'stayline_events_in_total',
      help: 'Client events received, by protocol event name (unknown names count as "unknown").',
      labelNames: ['event'],
      registers,
    }),
    eventsOut: new BufferedCounter({
      name: 'stayline_events_out_total',
      help: 'Events sent to sockets of this node, by protocol event name ("app" for published app events).',
      labelNames: ['event'],
      registers,
    }),
    rejections: new BufferedCounter({
      name: 'stayline_rejections_total',
      help: 'Client events refused, by wire error code (limits, validation, expiry).',
      labelNames: ['code'],
      registers,
    }),
    disconnects: new Counter({
      name: 'stayline_disconnects_total',
      help: 'Disconnections by reason (socket.io reason or a gateway code such as AUTH_EXPIRED).',
      labelNames: ['reason'],
      registers,
    }),
    restores: new Counter({
      name: 'stayline_restores_total',
      help: 'Session restores at handshake by outcome: recovered, fresh, limited, error.',
      labelNames: ['outcome'],
      registers,
    }),
    restoreDuration: new Histogram({
      name: 'stayline_restore_duration_seconds',
      help: 'Time from the store call to the restored session being ready on the socket.',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    redisCommandDuration: new Histogram({
      name: 'stayline_redis_command_duration_seconds',
      help: 'Session store command latency by command and outcome.',
      labelNames: ['command', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    redisErrors: new Counter({
      name: 'stayline_redis_errors_total',
      help: 'Session store commands that failed, by command.',
      labelNames: ['command'],
      registers,
    }),
    redisWaitShort: new Counter({
      name: 'stayline_redis_wait_short_total',
      help: 'Holds, releases and sales refused (retryable) because fewer than REDIS_WAIT_REPLICAS replicas had them in time, by operation.',
      labelNames: ['operation'],
      registers,
    }),
    sessionsExpired: new Counter({
      name: 'stayline_sessions_expired_total',
      help: 'Sessions that had expired when their user came back (counted at the return; a fresh session follows).',
      registers,
    }),
    stalePurges: new Counter({
      name: 'stayline_stale_node_purges_total',
      help: 'Dead nodes whose socket entries this node purged.',
      registers,
    }),
    purgedSockets: new Counter({
      name: 'stayline_purged_sockets_total',
      help: 'Socket entries of dead nodes removed from sessions.',
      registers,
    }),
    storeErrors: new Counter({
      name: 'stayline_store_errors_total',
      help: 'Store operations that failed in background work (detach, heartbeat, purge, touch).',
      labelNames: ['operation'],
      registers,
    }),
    publishes: new Counter({
      name: 'stayline_publishes_total',
      help: 'Messages published through the service API or fanned out to Redis, by result.',
      labelNames: ['result'],
      registers,
    }),
    pubsubResubscribes: new Counter({
      name: 'stayline_pubsub_resubscribes_total',
      help: "Times the adapter's Redis subscriber came back after losing its connection and subscribed again (broadcasts published meanwhile did not reach this node).",
      registers,
    }),
    userDisconnects: new Counter({
      name: 'stayline_user_disconnects_total',
      help: 'Users whose sockets the service API closed on every node (POST /v1/users/:userId/disconnect), by whether their tokens were revoked ("true", "false").',
      labelNames: ['revoke'],
      registers,
    }),
    ready: new Gauge({ name: 'stayline_ready', help: '1 when /readyz answers 200.', registers }),
    draining: new Gauge({
      name: 'stayline_draining',
      help: '1 while this node drains (after SIGTERM).',
      registers,
    }),
    drainedSockets: new Counter({
      name: 'stayline_drained_sockets_total',
      help: 'Sockets told server:draining and closed by a drain.',
      registers,
    }),
    transportRefusals: new Counter({
      name: 'stayline_transport_refusals_total',
      help: 'Refused or cut before authentication or below socket.io, by reason: ORIGIN_FORBIDDEN (403 on a request of an open connection), PENDING_HANDSHAKES (503 at MAX_PENDING_HANDSHAKES), POLL_PACKETS (a long-polling POST over MAX_PACKETS_PER_POLL), CONNECT_CONCURRENT and CONNECT_ATTEMPTS (CONNECTs repeated on one connection).',
      labelNames: ['reason'],
      registers,
    }),
    pendingHandshakes: new Gauge({
      name: 'stayline_pending_handshakes',
      help: 'Engine.IO connections that have not completed the Socket.IO CONNECT (closed after CONNECT_TIMEOUT_MS).',
      registers,
    }),
  };
}
