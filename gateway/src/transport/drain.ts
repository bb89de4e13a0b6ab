/**
 * Graceful drain of one node (SIGTERM): the sockets are split into batches spread evenly over
 * DRAIN_SECONDS; each socket of a batch is told `server:draining { reconnectAfterMs }` (jittered within the
 * batch interval), its acks in flight are allowed to complete, then its transport is closed (not
 * `disconnect(true)`, which would turn a stock client's reconnection off). The other nodes so see at most
 * about `sockets / DRAIN_SECONDS` reconnects per second from this node, not a spike. Whatever is still open
 * at the deadline is closed at once. Then closeSocketServer() closes socket.io itself.
 */
import type { Logger } from '../infra/logger.ts';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import type { LocalPresence } from './local-presence.ts';
import { forceClose } from './socket-guards.ts';
import type { GatewayServer, GatewaySocket } from './socket-types.ts';

export interface DrainOptions {
  drainSeconds: number;
  /** Interval between batches; the jitter of reconnectAfterMs spans one interval. Default 250 ms. */
  batchIntervalMs?: number;
  /** How long one socket's in-flight requests may delay its close. Default 5 s. */
  ackGraceMs?: number;
  random?: () => number;
}

export async function drainSockets(
  io: GatewayServer,
  presence: LocalPresence,
  deps: { log: Logger; metrics: GatewayMetrics },
  options: DrainOptions,
): Promise<void> {
  const random = options.random ?? Math.random;
  const intervalMs = options.batchIntervalMs ?? 250;
  const ackGraceMs = options.ackGraceMs ?? 5_000;
  const drainMs = options.drainSeconds * 1000;
  const sockets = [...io.of('/').sockets.values()];
  const batches = Math.max(1, Math.floor(drainMs / intervalMs));
  const perBatch = Math.max(1, Math.ceil(sockets.length / batches));
  deps.log.info({ sockets: sockets.length, perBatch, intervalMs }, 'draining');

  const closeSoftly = async (socket: GatewaySocket): Promise<void> => {
    socket.emit('server:draining', { reconnectAfterMs: Math.floor(random() * intervalMs) });
    await socket.data.inflight.whenIdle(ackGraceMs);
    deps.metrics.drainedSockets.inc();
    socket.conn.close();
  };

  const deadline = performance.now() + drainMs + ackGraceMs;
  const closing: Promise<void>[] = [];
  for (let start = 0; start < sockets.length; start += perBatch) {
    if (start > 0) await new Promise((resolve) => setTimeout(resolve, intervalMs));
    for (const socket of sockets.slice(start, start + perBatch)) {
      if (socket.connected) closing.push(closeSoftly(socket));
    }
  }
  await Promise.all(closing);
  if (!(await presence.whenEmpty(Math.max(1000, deadline - performance.now())))) {
    deps.log.warn({ sockets: presence.socketCount }, 'drain deadline passed; closing the remaining sockets');
    for (const socket of io.of('/').sockets.values()) forceClose(socket);
    await presence.whenEmpty(1000);
  }
}

/** Sockets connected to this node (the drain's grace is skipped when there are none). */
export function connectedSockets(io: GatewayServer): number {
  return io.of('/').sockets.size;
}

/**
 * Closes the socket.io server after the drain: whatever is still connected, the engine, and the HTTP
 * server it is attached to (which stops listening; its idle connections are ended by the HTTP server).
 */
export function closeSocketServer(io: GatewayServer): Promise<void> {
  return new Promise<void>((resolve) => {
    void io.close(() => resolve());
  });
}
