/**
 * A node's background duties, on one timer each, all unref'd and stopped by close():
 * - heartbeat: tells the store this node is alive;
 * - purge: removes the socket entries of nodes whose heartbeat expired (a SIGKILLed node leaves them), so
 *   presence and per-user connection counts heal within NODE_DEAD_AFTER_SECONDS + NODE_HEARTBEAT_SECONDS;
 * - touch: extends the session TTL of every user connected here (the TTL slides while a user is present);
 * - retry of detaches that failed while the store was down.
 * A failed round is logged and counted, and simply tried again next round.
 */
import { countAndLogFailedRound, Loops } from '../infra/periodic.ts';
import type { Logger } from '../infra/logger.ts';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import type { NodeId, SessionStore } from '../session/session-store.ts';
import type { LocalPresence } from './local-presence.ts';

export interface HousekeepingOptions {
  nodeId: NodeId;
  heartbeatSeconds: number;
  sessionTtlSeconds: number;
}

export interface Housekeeping {
  /** Sends the first heartbeat (awaited, so a node is registered before it serves; a store outage is logged, not fatal) and starts the timers. */
  start(): Promise<void>;
  stop(): void;
}

export function createHousekeeping(
  deps: {
    store: SessionStore;
    presence: LocalPresence;
    pendingDetaches: Map<string, string>;
    metrics: GatewayMetrics;
    log: Logger;
  },
  options: HousekeepingOptions,
): Housekeeping {
  const failed = countAndLogFailedRound(
    deps.log,
    (operation) => deps.metrics.storeErrors.inc({ operation }),
    'housekeeping round failed',
  );
  const loops = new Loops(failed);

  const heartbeat = () => deps.store.heartbeat(options.nodeId);
  const purge = async () => {
    const result = await deps.store.purgeDeadNodes();
    if (result.nodes.length > 0) {
      deps.metrics.stalePurges.inc(result.nodes.length);
      deps.metrics.purgedSockets.inc(result.sockets);
      deps.log.info({ nodes: result.nodes, sockets: result.sockets }, 'purged socket entries of dead nodes');
    }
  };
  const touch = async () => {
    const users = deps.presence.users();
    if (users.length > 0) await deps.store.touch(users);
  };
  const retryDetaches = async () => {
    for (const [socketId, userId] of [...deps.pendingDetaches]) {
      await deps.store.detachSocket(userId, socketId);
      deps.pendingDetaches.delete(socketId);
    }
  };

  return {
    async start() {
      await heartbeat().catch((err: unknown) => failed(err, 'heartbeat'));
      const heartbeatMs = options.heartbeatSeconds * 1000;
      loops.every(heartbeatMs, 'heartbeat', heartbeat);
      loops.every(heartbeatMs, 'purge', purge);
      loops.every(heartbeatMs, 'detach-retry', retryDetaches);
      // Three touches per TTL: a user connected here never gets within two thirds of a TTL of expiry.
      loops.every(Math.min((options.sessionTtlSeconds * 1000) / 3, 60_000), 'touch', touch);
    },
    stop: () => loops.stopAll(),
  };
}
