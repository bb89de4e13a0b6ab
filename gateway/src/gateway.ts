/**
 * The composition root: builds every part of one gateway node from a GatewayConfig and wires them
 * together. It does not listen until `listen()` is called, and `close()` stops everything it started.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import express from 'express';
import { createTokenVerifier } from './auth/index.ts';
import type { GatewayConfig } from './config/index.ts';
import { createRoomPolicy } from './features/rooms/room-policy.ts';
import { createLogger, type Logger } from './infra/logger.ts';
import { createClusterPubSubClients, createPubSubClients, type PubSubClients } from './infra/redis-pubsub.ts';
import { createClaimMetrics } from './metrics/claim-metrics.ts';
import { createGatewayMetrics } from './metrics/gateway-metrics.ts';
import type { EventDefinition } from './session/claim-store.ts';
import { createClaimStore } from './session/create-claim-store.ts';
import { createClaimsHttp } from './transport/claims-http.ts';
import { createClaimsRuntime } from './transport/claims-runtime.ts';
import {
  claimsIndexTtlMs,
  createRequestLedger,
  createSessionStore,
  type SessionStore,
} from './session/index.ts';
import { createHousekeeping } from './transport/housekeeping.ts';
import { createDemoRoute } from './transport/demo-route.ts';
import { createHttpApp } from './transport/http-app.ts';
import { createOriginPolicy } from './transport/origin-policy.ts';
import { drainSockets } from './transport/drain.ts';
import { createSocketServer } from './transport/socket-server.ts';
import { createUsersHttp } from './transport/users-http.ts';
import { clientRoom, userRoom } from './transport/socket-types.ts';

export interface Gateway {
  readonly config: GatewayConfig;
  readonly log: Logger;
  /** Starts listening on config.http; resolves with the bound port (useful with PORT=0). */
  listen(): Promise<{ port: number }>;
  /** Stops taking connections, tells clients to reconnect elsewhere, and releases every resource. */
  close(): Promise<void>;
}

export interface BuildOptions {
  /** Overrides the logger (tests pass a silent one or capture lines). */
  logger?: Logger;
  /** Events defined at listen() (idempotent), e.g. the development demo's event. Default none. */
  seedEvents?: Readonly<Record<string, EventDefinition>>;
}

/**
 * Gives a Redis store a moment to connect before serving, so the first handshakes are not refused; a store
 * still down after `timeoutMs` is logged and the node starts anyway (not ready, recovering by itself).
 */
async function waitForStore(store: SessionStore, log: Logger, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await store.ping();
      return;
    } catch (err) {
      if (Date.now() >= deadline) {
        log.error({ err }, 'session store unavailable at start; serving STORE_UNAVAILABLE until it recovers');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

export function buildGateway(config: GatewayConfig, options: BuildOptions = {}): Gateway {
  const log = options.logger ?? createLogger({ level: config.log.level, nodeId: config.nodeId });
  const metrics = createGatewayMetrics({ nodeId: config.nodeId });
  const verifier = createTokenVerifier(config.auth);
  const store = createSessionStore(config.store, {
    logger: log.child({ module: 'session' }),
    // The attach script reads the queue/hold index too: a restore without them is one round trip.
    claimsIndexTtlMs: claimsIndexTtlMs(config.store.sessionTtlSeconds, config.claims.holdSeconds),
    observeCommand: (command, seconds, outcome) => {
      metrics.redisCommandDuration.observe({ command, outcome }, seconds);
      if (outcome === 'error') metrics.redisErrors.inc({ command });
    },
  });
  // Waiting queues and seat holds: their own store (own Redis connection), metrics and runtime.
  const claimStore = createClaimStore(config, {
    logger: log.child({ module: 'claims' }),
    sessions: store,
    observeCommand: (command, seconds, outcome) => {
      metrics.redisCommandDuration.observe({ command, outcome }, seconds);
      if (outcome === 'error') metrics.redisErrors.inc({ command });
    },
  });
  // The request ledger (retried requests act once): its own store contract and connection.
  const ledger = createRequestLedger(config.store, {
    logger: log.child({ module: 'claims' }),
    observeCommand: (command, seconds, outcome) => {
      metrics.redisCommandDuration.observe({ command, outcome }, seconds);
      if (outcome === 'error') metrics.redisErrors.inc({ command });
    },
  });
  const claimMetrics = createClaimMetrics(metrics.registry);
  let pubsub: PubSubClients | undefined;
  const pubsubOptions = {
    commandTimeoutMs: config.store.commandTimeoutMs,
    log: log.child({ module: 'adapter' }),
    onPublishError: () => metrics.publishes.inc({ result: 'redis_error' }),
  };
  if (config.store.redisClusterNodes !== undefined) {
    pubsub = createClusterPubSubClients(config.store.redisClusterNodes, pubsubOptions);
  } else if (config.store.redisUrl !== undefined) {
    pubsub = createPubSubClients(config.store.redisUrl, pubsubOptions);
  }
  let draining = false;
  /** Set when the drain's first batch starts: from then on new handshakes are refused (SERVER_DRAINING). */
  let refusing = false;
  let closed: Promise<void> | undefined;
  const originPolicy = createOriginPolicy(config.http.corsOrigins, {
    allowLocalhost: config.http.allowLocalhostOrigins,
  });
  // The express app is the server's request listener from the start: socket.io, attached next, takes over
  // its /socket.io/ path and hands every other request to it.
  const app = express();
  const httpServer = createServer(app);
  const sockets = createSocketServer(httpServer, {
    config,
    verifier,
    store,
    metrics,
    log: log.child({ module: 'socket' }),
    originPolicy,
    roomDeps: {
      store,
      policy: createRoomPolicy(config.rooms.patterns),
      maxRoomsPerUser: config.rooms.maxPerUser,
    },
    isRefusing: () => refusing,
    createClaims: (io) =>
      createClaimsRuntime({
        io,
        store: claimStore,
        ledger,
        config,
        metrics,
        claimMetrics,
        log: log.child({ module: 'claims' }),
      }),
    adapter: pubsub
      ? pubsub.sharded
        ? (createShardedAdapter(pubsub.pub, pubsub.sub, {
            channelPrefix: `${config.store.keyPrefix}io`,
          }) as never)
        : (createAdapter(pubsub.pub, pubsub.sub, { key: `${config.store.keyPrefix}io` }) as never)
      : undefined,
  });

  if (sockets.claims) {
    app.use(
      createClaimsHttp({
        serviceToken: config.service.token,
        queueDeps: sockets.claims.queueDeps,
        seatDeps: sockets.claims.seatDeps,
        log: log.child({ module: 'http' }),
      }),
    );
  }
  app.use(
    createUsersHttp({
      serviceToken: config.service.token,
      users: sockets.users,
      log: log.child({ module: 'http' }),
    }),
  );
  app.use(createDemoRoute());
  app.use(
    createHttpApp({
      metrics,
      log: log.child({ module: 'http' }),
      nodeId: config.nodeId,
      serviceToken: config.service.token,
      readiness: async () => {
        const checks: Record<string, string> = { draining: draining ? 'draining' : 'ok' };
        // Both stores: a restore reads sessions and queue/hold state, and either may still be reconnecting.
        const [sessions, claims] = await Promise.all(
          [store.ping(), claimStore.ping()].map((p) =>
            p.then(
              () => 'ok',
              () => 'unavailable',
            ),
          ),
        );
        checks['store'] = sessions ?? 'unavailable';
        checks['claims'] = claims ?? 'unavailable';
        return { ready: !draining && sessions === 'ok' && claims === 'ok', checks };
      },
      publish: ({ room, userId, event, data }) => {
        const target = room !== undefined ? clientRoom(room) : userRoom(userId ?? '');
        // App events are the backend's own vocabulary, outside the typed protocol maps.
        const untyped = sockets.io.to(target) as unknown as { emit(event: string, data: unknown): boolean };
        untyped.emit(event, data);
      },
    }),
  );

  const housekeeping = createHousekeeping(
    {
      store,
      presence: sockets.presence,
      pendingDetaches: sockets.pendingDetaches,
      metrics,
      log: log.child({ module: 'housekeeping' }),
    },
    {
      nodeId: config.nodeId,
      heartbeatSeconds: config.store.heartbeatSeconds,
      sessionTtlSeconds: config.store.sessionTtlSeconds,
    },
  );

  return {
    config,
    log,
    async listen() {
      await waitForStore(store, log, config.store.commandTimeoutMs * 5);
      await housekeeping.start();
      for (const [eventId, definition] of Object.entries(options.seedEvents ?? {})) {
        await claimStore
          .defineEvent(eventId, definition)
          .catch((err: unknown) => log.warn({ err, eventId }, 'could not define a seed event'));
      }
      sockets.claims?.start();
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.http.port, config.http.host, () => {
          httpServer.off('error', reject);
          resolve();
        });
      });
      const { port } = httpServer.address() as AddressInfo;
      log.info({ port, store: store.kind }, 'gateway listening');
      return { port };
    },
    async close() {
      if (closed) return closed;
      draining = true;
      metrics.draining.set(1);
      closed = (async () => {
        // Unready but still serving for DRAIN_GRACE_SECONDS: the load balancer's health check sees /readyz
        // 503 and stops routing here before the first batch, so the drained clients' reconnects go to other
        // nodes instead of being sent back here and refused. With no sockets there is nothing to protect.
        const graceMs = config.drain.graceSeconds * 1000;
        if (graceMs > 0 && sockets.io.of('/').sockets.size > 0) {
          log.info({ graceSeconds: config.drain.graceSeconds }, 'unready; draining after the grace');
          await new Promise((resolve) => setTimeout(resolve, graceMs));
        }
        refusing = true;
        // Heartbeats go on during the drain: a draining node is alive, and its sockets are not to be purged.
        await drainSockets(
          sockets.io,
          sockets.presence,
          { log, metrics },
          { drainSeconds: config.drain.seconds },
        );
        housekeeping.stop();
        sockets.claims?.stop();
        await store
          .removeNode(config.nodeId)
          .catch((err: unknown) => log.warn({ err }, 'removeNode failed at shutdown'));
        await new Promise<void>((resolve) => {
          void sockets.io.close(() => resolve());
        });
        httpServer.closeAllConnections();
        await store.close();
        await claimStore.close();
        await ledger.close();
        await pubsub?.close();
        log.info('gateway closed');
      })();
      return closed;
    },
  };
}
