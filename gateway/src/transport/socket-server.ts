/**
 * transport/ owns everything a node says on the network, in rooms by job: http/ (HTTP server, service API,
 * operator routes), engine/ (Engine.IO options and the guards of connections not yet authenticated, the
 * websocket engine, origin policy, client IP, cluster adapter), handshake/ (the io.use middleware: limits,
 * admission queue, flood cool-down), requests/ (the one request pipeline: request ids, the ledger, the
 * edge where errors become the wire shape), and here the socket.io server and each connection's lifecycle
 * (delivery to features, guards, token expiry, kick/revoke, drain, housekeeping). It may import features/,
 * auth/, session/, metrics/, infra/, config/, errors/ and the protocol; it is the only folder that touches
 * express, socket.io, ws and node:http (eslint.config.js).
 *
 * This file: the socket.io server of one node: engine options (message size, ping, connect timeout, origin
 * check in allowRequest), the engine guards, the handshake, the detach of a socket that leaves, and the
 * `connection` handler (connection.ts: each connection's lifecycle — restore with every feature's hook,
 * guards, token expiry on the node's deadline heap, requests dispatched into the one request pipeline).
 */
import type { Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import type { Adapter } from 'socket.io-adapter';
import type { TokenVerifier } from '../auth/index.ts';
import { isGatewayError } from '../errors/gateway-error.ts';
import type { GatewayConfig } from '../config/index.ts';
import type { Feature } from '../features/feature.ts';
import { createLogSampler } from '../infra/log-sampler.ts';
import type { Logger } from '../infra/logger.ts';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import type { ClaimMetrics } from '../metrics/claim-metrics.ts';
import type { HistoryMetrics } from '../metrics/history-metrics.ts';
import type { HistoryStore } from '../session/history-store.ts';
import type { RequestLedger } from '../session/request-ledger.ts';
import type { Restorer } from '../session/restore.ts';
import type { SessionStore } from '../session/session-store.ts';
import { createConnectionHandler } from './connection.ts';
import { DetachBatch } from './detach-batch.ts';
import { traceConnections } from './connection-trace.ts';
import { guardEngine } from './engine/engine-guards.ts';
import { createHandshake } from './handshake/handshake.ts';
import { LocalPresence } from './local-presence.ts';
import type { OriginPolicy } from './engine/origin-policy.ts';
import type { BindableDelivery } from './delivery.ts';
import { sizedParser } from './engine/sized-parser.ts';
import { FairWebSocketServer } from './engine/ws-engine.ts';
import { FloodCooldown } from './handshake/flood-cooldown.ts';
import {
  createHistoryTransport,
  type HistoryTransport,
  type HistoryTransportDeps,
} from './history/history-transport.ts';
import type { GatewayServer } from './socket-types.ts';
import { createUserSessions, type UserSessions } from './user-sessions.ts';

export interface SocketServerDeps {
  config: GatewayConfig;
  verifier: TokenVerifier;
  store: SessionStore;
  metrics: GatewayMetrics;
  log: Logger;
  originPolicy: OriginPolicy;
  /** Attach at handshake, then restore with every feature's hook. */
  restorer: Restorer;
  /** Every feature, in the order their requests are registered and their restore hooks run. */
  features: readonly Feature[];
  /** The delivery the features were built with; bound to this server here. */
  delivery: BindableDelivery;
  /** The request ledger (request ids of `ledger` requests). */
  ledger: RequestLedger;
  /** Counts requests answered from a record (ledger or folded). */
  requestReplays: ClaimMetrics['requestReplays'];
  /** True once the node refuses new handshakes (a drain past its grace). */
  isRefusing: () => boolean;
  /** Optional adapter constructor (the Redis adapter when the store is Redis). */
  adapter?: ((nsp: unknown) => Adapter) | undefined;
  /**
   * Message history (issue 12); its store is undefined when HISTORY_SIZE is 0. `channel`: the Pub/Sub
   * channel the Redis store publishes messages on with their append (history-transport.ts).
   */
  history: {
    store: HistoryStore | undefined;
    metrics: HistoryMetrics;
    channel?: HistoryTransportDeps['channel'];
  };
}

export interface SocketServer {
  io: GatewayServer;
  presence: LocalPresence;
  /** Detaches that failed (store down) and are retried by the node's housekeeping. */
  pendingDetaches: Map<string, string>;
  /** Sends the detaches still waiting in their batch now (shutdown); resolves once each was answered. */
  flushDetaches(): Promise<void>;
  /** Ends a user's sessions on every node (the service API's kick and revoke). */
  users: UserSessions;
  /** Publishes with history and keeps this node's deliveries exact; undefined when history is off. */
  history: HistoryTransport | undefined;
}

/** Engine.IO error code 4 (FORBIDDEN) makes engine.io answer a polling request with HTTP 403. */
const ENGINE_FORBIDDEN = 4;

/** How late a detach may be sent, batched with the others of a burst of closes (detach-batch.ts). */
const DETACH_BATCH_MS = 5;

/** How long a user cut off for flooding is refused new handshakes on this node (flood-cooldown.ts). */
const FLOOD_COOLDOWN_MS = 10_000;

export function createSocketServer(httpServer: HttpServer, deps: SocketServerDeps): SocketServer {
  const { config, metrics, log } = deps;
  const io: GatewayServer = new Server(httpServer, {
    // Frames over twice the message limit are cut at the engine; up to that, the guard answers
    // MESSAGE_TOO_LARGE on the ack, so a client learns why.
    maxHttpBufferSize: config.limits.maxMessageBytes * 2,
    pingInterval: config.engine.pingIntervalMs,
    pingTimeout: config.engine.pingTimeoutMs,
    // socket.io's own close of a connection without CONNECT (default 45 s), only a backstop here: the
    // engine guards close such a connection at CONNECT_TIMEOUT_MS, at once. socket.io's polite close must
    // not come first, or a polling connection would linger "closing" (pending-handshakes.ts).
    connectTimeout: config.engine.connectTimeoutMs * 2,
    serveClient: false,
    parser: sizedParser,
    wsEngine: FairWebSocketServer,
    cors: {
      origin: (origin, callback) =>
        callback(null, deps.originPolicy.isAllowed(origin, undefined) ? (origin ?? false) : false),
      credentials: true,
    },
    allowRequest: (req, callback) => {
      const allowed = deps.originPolicy.isAllowed(req.headers.origin, req.headers.host);
      if (allowed) return callback(null, true);
      metrics.handshakes.inc({ result: 'ORIGIN_FORBIDDEN' });
      callback(ENGINE_FORBIDDEN as unknown as string, false);
    },
    ...(deps.adapter ? { adapter: deps.adapter as never } : {}),
  });

  // Opt-in (CONNECTION_TRACE_FILE): a JSON-lines trace of connects/disconnects for `loadtest replay`.
  if (config.trace.file !== undefined)
    traceConnections(io, { ...config.trace, file: config.trace.file, nodeId: config.nodeId, log });
  const presence = new LocalPresence();
  const history =
    deps.history.store === undefined
      ? undefined
      : createHistoryTransport(io, {
          store: deps.history.store,
          metrics: deps.history.metrics,
          log: log.child({ module: 'history' }),
          clustered: deps.adapter !== undefined,
          nodeId: config.nodeId,
          channel: deps.history.channel,
        });
  deps.delivery.bind(io, history);
  const pendingDetaches = new Map<string, string>();
  // Refusals a client can cause at will are logged per code at most 10 times per 10 s, with a count.
  const sampled = createLogSampler(log);

  // Before authentication: the HTTP gate, pending handshakes, the polling packet cap, CONNECTs per connection.
  const engineGuards = guardEngine(io, httpServer, {
    config,
    metrics,
    originPolicy: deps.originPolicy,
    sampled,
  });

  const detaches = new DetachBatch(
    (userId, socketId) =>
      deps.store.detachSocket(userId, socketId).then(
        () => void pendingDetaches.delete(socketId),
        (err: unknown) => {
          metrics.storeErrors.inc({ operation: 'detach' });
          // A store outage is logged once by the outage log; anything else here.
          if (!isGatewayError(err, 'STORE_UNAVAILABLE')) log.warn({ err }, 'detach failed; will retry');
          pendingDetaches.set(socketId, userId);
        },
      ),
    DETACH_BATCH_MS,
  );
  const detach = (userId: string, socketId: string): void => detaches.add(userId, socketId);

  const floodCooldown = new FloodCooldown(FLOOD_COOLDOWN_MS);
  const handshake = createHandshake({
    verifier: deps.verifier,
    restorer: deps.restorer,
    metrics,
    log,
    maxConnectionsPerUser: config.limits.maxConnectionsPerUser,
    maxRoomsPerUser: config.rooms.maxPerUser,
    handshakesPerSecond: config.limits.handshakesPerSecond,
    handshakeQueueMaxWaitMs: config.limits.handshakeQueueMaxWaitMs,
    handshakesPerIpPerSecond: config.limits.handshakesPerIpPerSecond,
    trustProxy: config.http.trustProxy,
    sampledLog: sampled,
    isRefusing: deps.isRefusing,
    floodCooldownMs: (userId) => floodCooldown.remainingMs(userId),
    // Only for a socket that never connected (a connected one is detached on disconnect).
    onOrphan: (socket) => detach(socket.data.principal.userId, socket.id),
  });
  io.use(engineGuards.guardHandshake(handshake));

  const onConnection = createConnectionHandler({
    config,
    verifier: deps.verifier,
    store: deps.store,
    metrics,
    log,
    sampled,
    restorer: deps.restorer,
    features: deps.features,
    ledger: deps.ledger,
    requestReplays: deps.requestReplays,
    presence,
    floodCooldown,
    detach,
    history,
    historyMetrics: deps.history.metrics,
  });
  io.on('connection', (socket) => {
    engineGuards.connected(socket);
    handshake.connected(socket);
    onConnection(socket);
  });

  // After the connection handler above: a socket it ends late has been set up, and is cleaned up, as usual.
  const users = createUserSessions(io, {
    store: deps.store,
    clustered: deps.adapter !== undefined,
    revocationKeepSeconds: config.auth.maxLifetimeSeconds + config.auth.clockToleranceSeconds,
    log,
    metrics,
  });

  return {
    io,
    presence,
    pendingDetaches,
    flushDetaches: () => detaches.flush(),
    users,
    history,
  };
}
