/**
 * The composition root: builds every part of one gateway node from a GatewayConfig and wires them
 * together. It does not listen until `listen()` is called, and `close()` stops everything it started, in
 * order. It only composes: the HTTP server, routes, socket.io, the cluster adapter and readiness are built
 * by transport/ (no express, socket.io or node:http here; eslint.config.js holds it to that).
 */
import { createTokenVerifier } from './auth/index.ts';
import type { GatewayConfig } from './config/index.ts';
import { createFeatures } from './features/index.ts';
import { createLogger, type Logger } from './infra/logger.ts';
import { createOutageLog } from './infra/outage-log.ts';
import type { RedisLike } from './infra/redis.ts';
import { createClusterPubSubClients, createPubSubClients, type PubSubClients } from './infra/redis-pubsub.ts';
import { assertWritable } from './infra/redis-role.ts';
import { createClaimMetrics } from './metrics/claim-metrics.ts';
import { createGatewayMetrics } from './metrics/gateway-metrics.ts';
import { createHistoryMetrics } from './metrics/history-metrics.ts';
import type { EventDefinition } from './session/claim-store.ts';
import { createClaimStore } from './session/create-claim-store.ts';
import { createHistoryStore } from './session/history-store.ts';
import { claimsIndexTtlMs, createRequestLedger, createSessionStore } from './session/index.ts';
import { createRestorer } from './session/restore.ts';
import { assertScriptsLoadable } from './session/redis/scripts-loadable.ts';
import { createDelivery } from './transport/delivery.ts';
import { createClusterAdapter } from './transport/engine/cluster-adapter.ts';
import { closeSocketServer, connectedSockets, drainSockets } from './transport/drain.ts';
import { createHealthRoutes } from './transport/http/health-routes.ts';
import { createHousekeeping } from './transport/housekeeping.ts';
import { createHttpServer } from './transport/http/http-server.ts';
import { createOriginPolicy } from './transport/engine/origin-policy.ts';
import { createReadiness, type ReadinessCheck } from './transport/http/readiness.ts';
import { roomPublisher } from './transport/http/service-publish.ts';
import { createServiceRouter } from './transport/http/service-router.ts';
import { createSocketServer } from './transport/socket-server.ts';

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
async function waitForStores(
  stores: readonly { name: string; ping(): Promise<void> }[],
  log: Logger,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await Promise.all(
    stores.map(async (store) => {
      for (;;) {
        try {
          await store.ping();
          return;
        } catch (err) {
          if (Date.now() >= deadline) {
            log.error(
              { err, store: store.name },
              'store unavailable at start; serving STORE_UNAVAILABLE until it recovers',
            );
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }),
  );
}

export function buildGateway(config: GatewayConfig, options: BuildOptions = {}): Gateway {
  const log = options.logger ?? createLogger({ level: config.log.level, nodeId: config.nodeId });
  const metrics = createGatewayMetrics({ nodeId: config.nodeId });
  const verifier = createTokenVerifier(config.auth);
  // Every Redis call of the stores, timed and counted by command and outcome; an outage is logged when it
  // starts and when it ends, not per failed call.
  const outage = createOutageLog(log.child({ module: 'store' }));
  const observeCommand = (command: string, seconds: number, outcome: 'ok' | 'error'): void => {
    metrics.redisCommandDuration.observe({ command, outcome }, seconds);
    if (outcome === 'error') {
      metrics.redisErrors.inc({ command });
      outage.failed(command);
    } else outage.succeeded();
  };
  // Each store's own Redis client, by name: readiness checks that each reaches a writable primary.
  const storeClients = new Map<string, RedisLike>();
  const onClient = (name: string, redis: RedisLike): void => {
    storeClients.set(name, redis);
  };
  const store = createSessionStore(config.store, {
    logger: log.child({ module: 'session' }),
    onClient,
    // The attach script reads the queue/hold index too: a restore without them is one round trip.
    claimsIndexTtlMs: claimsIndexTtlMs(config.store.sessionTtlSeconds, config.claims.holdSeconds),
    observeCommand,
  });
  // Waiting queues and seat holds: their own store (own Redis connection), metrics and runtime.
  const claimStore = createClaimStore(config, {
    logger: log.child({ module: 'claims' }),
    sessions: store,
    observeCommand,
    onClient,
    onWaitShort: (operation) => metrics.redisWaitShort.inc({ operation }),
  });
  // The request ledger (retried requests act once): its own store contract and connection.
  const ledger = createRequestLedger(config.store, {
    logger: log.child({ module: 'claims' }),
    observeCommand,
    onClient,
  });
  const claimMetrics = createClaimMetrics(metrics.registry);
  // Message history (issue 12): its own store and connection; undefined when HISTORY_SIZE is 0.
  const historyStore = createHistoryStore(config, {
    logger: log.child({ module: 'history' }),
    observeCommand,
    onClient,
  });
  const historyMetrics = createHistoryMetrics(metrics.registry);
  let pubsub: PubSubClients | undefined;
  const pubsubOptions = {
    commandTimeoutMs: config.store.commandTimeoutMs,
    log: log.child({ module: 'adapter' }),
    onPublishError: () => metrics.publishes.inc({ result: 'redis_error' }),
    onResubscribe: () => {
      metrics.pubsubResubscribes.inc();
      // What other nodes published while the subscriber was away is read from history.
      sockets.history?.resubscribed();
    },
  };
  if (config.store.redisClusterNodes !== undefined) {
    pubsub = createClusterPubSubClients(config.store.redisClusterNodes, pubsubOptions);
  } else if (config.store.redisSentinel !== undefined) {
    pubsub = createPubSubClients({ sentinel: config.store.redisSentinel }, pubsubOptions);
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
  const http = createHttpServer();
  // The features, built on a delivery the socket server binds; their loops start at listen().
  const delivery = createDelivery();
  const features = createFeatures(config, {
    sessions: store,
    claims: claimStore,
    delivery,
    metrics,
    claimMetrics,
    log: log.child({ module: 'claims' }),
  });
  const sockets = createSocketServer(http.server, {
    config,
    verifier,
    store,
    metrics,
    log: log.child({ module: 'socket' }),
    originPolicy,
    isRefusing: () => refusing,
    restorer: createRestorer({
      sessions: store,
      claims: claimStore,
      metrics,
      nodeId: config.nodeId,
      maxConnectionsPerUser: config.limits.maxConnectionsPerUser,
    }),
    features: features.all,
    delivery,
    ledger,
    requestReplays: claimMetrics.requestReplays,
    adapter: createClusterAdapter(pubsub, config.store.keyPrefix),
    history: {
      store: historyStore,
      metrics: historyMetrics,
      // On classic Pub/Sub the append script publishes each message itself; on Redis Cluster it goes
      // through the adapter (serverSideEmit).
      channel:
        historyStore?.kind === 'redis' && pubsub?.listen !== undefined
          ? { name: `${config.store.keyPrefix}history`, listen: pubsub.listen }
          : undefined,
    },
  });
  const httpLog = log.child({ module: 'http' });
  http.mount({
    service: createServiceRouter({
      serviceToken: config.service.token,
      log: httpLog,
      metrics,
      events: { queue: features.queue, seats: features.seats },
      users: sockets.users,
      publish: roomPublisher(sockets.io, sockets.history),
    }),
    health: createHealthRoutes({
      metrics,
      log: httpLog,
      nodeId: config.nodeId,
      readiness: createReadiness(readinessChecks(), () => draining, {
        log: log.child({ module: 'readiness' }),
        // Probes are unauthenticated: at most one ROLE per store client per second, however many come.
        cacheMs: 1000,
      }),
    }),
  });

  /**
   * What /readyz checks. Every store (a restore reads sessions and queue/hold state, a request goes through
   * the ledger) on its own connection, which must reach a primary: a replica or a Sentinel answers PING but
   * refuses every write. The Lua scripts must be loaded or loadable there (an ACL without scripting answers
   * PING and ROLE but fails every request). The adapter's subscriber must be live and subscribed, or broadcasts from other
   * nodes never arrive. The memory stores (no Redis) only answer their ping.
   */
  function readinessChecks(): ReadinessCheck[] {
    const writable = (name: string, fallback: () => Promise<unknown>) => (): Promise<unknown> => {
      const redis = storeClients.get(name);
      return redis === undefined ? fallback() : assertWritable(redis);
    };
    const checks: ReadinessCheck[] = [
      { name: 'store', ping: writable('session-store', () => store.ping()) },
      { name: 'claims', ping: writable('claim-store', () => claimStore.ping()) },
    ];
    if (storeClients.has('request-ledger'))
      checks.push({ name: 'ledger', ping: writable('request-ledger', () => Promise.resolve()) });
    // The Lua scripts are loaded, or loadable, where the holds run (one script cache per server).
    const scriptsClient = storeClients.get('claim-store') ?? storeClients.get('session-store');
    if (scriptsClient !== undefined)
      checks.push({ name: 'scripts', ping: () => assertScriptsLoadable(scriptsClient) });
    // Publishes with history and restores read and write it.
    if (storeClients.has('history-store'))
      checks.push({ name: 'history', ping: writable('history-store', () => Promise.resolve()) });
    const adapter = pubsub;
    if (adapter !== undefined) checks.push({ name: 'pubsub', ping: () => adapter.checkSubscriber() });
    return checks;
  }

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
      // Both stores' connections, before the first handshake and the first background round.
      await waitForStores(
        [
          { name: 'session', ping: () => store.ping() },
          { name: 'claims', ping: () => claimStore.ping() },
        ],
        log,
        config.store.commandTimeoutMs * 5,
      );
      await housekeeping.start();
      for (const [eventId, definition] of Object.entries(options.seedEvents ?? {})) {
        await claimStore
          .defineEvent(eventId, definition)
          .catch((err: unknown) => log.warn({ err, eventId }, 'could not define a seed event'));
      }
      for (const feature of features.all) feature.start?.();
      const port = await http.listen(config.http.port, config.http.host, config.http.listenBacklog);
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
        if (graceMs > 0 && connectedSockets(sockets.io) > 0) {
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
        for (const feature of features.all) feature.stop?.();
        // The drained sockets' detaches, still in their batch, before the node forgets itself.
        await sockets.flushDetaches();
        await store
          .removeNode(config.nodeId)
          .catch((err: unknown) => log.warn({ err }, 'removeNode failed at shutdown'));
        await closeSocketServer(sockets.io);
        http.closeConnections();
        // Sockets the drain did not reach were detached as the server closed them.
        await sockets.flushDetaches();
        await store.close();
        await claimStore.close();
        await ledger.close();
        sockets.history?.close();
        await historyStore?.close();
        await pubsub?.close();
        log.info('gateway closed');
      })();
      return closed;
    },
  };
}
