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
 * check in allowRequest), the engine guards, the handshake, and each connection's lifecycle — restore
 * (session/restore.ts with every feature's hook), guards (floods end in a disconnect), token expiry,
 * requests (every feature's, registered in one loop and answered through the one request pipeline), detach.
 */
import type { Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import type { Adapter } from 'socket.io-adapter';
import { z } from 'zod';
import { SERVER_EVENTS } from '@stayline/client-sdk/protocol';
import type { TokenVerifier } from '../auth/index.ts';
import { GatewayError, isGatewayError } from '../errors/gateway-error.ts';
import type { GatewayConfig } from '../config/index.ts';
import { defineRequest, type AnyFeatureRequest, type Feature } from '../features/feature.ts';
import { createLogSampler } from '../infra/log-sampler.ts';
import type { Logger } from '../infra/logger.ts';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import type { ClaimMetrics } from '../metrics/claim-metrics.ts';
import type { HistoryMetrics } from '../metrics/history-metrics.ts';
import type { HistoryStore } from '../session/history-store.ts';
import type { RequestLedger } from '../session/request-ledger.ts';
import type { Restorer, RestoringSocket } from '../session/restore.ts';
import type { SessionStore } from '../session/session-store.ts';
import { startAuthLifecycle, type AuthLifecycle } from './auth-lifecycle.ts';
import { refuseBinary } from './binary-guard.ts';
import { clientFields } from './engine/client-ip.ts';
import { traceConnections } from './connection-trace.ts';
import { guardEngine } from './engine/engine-guards.ts';
import { createHandshake } from './handshake/handshake.ts';
import { LocalPresence } from './local-presence.ts';
import type { OriginPolicy } from './engine/origin-policy.ts';
import type { BindableDelivery } from './delivery.ts';
import { createRequestPipeline } from './requests/request-pipeline.ts';
import { forceClose, guardInbound, guardOutbound } from './socket-guards.ts';
import { sizedParser } from './engine/sized-parser.ts';
import { FairWebSocketServer, pauseReading, stopReading } from './engine/ws-engine.ts';
import { FloodCooldown } from './handshake/flood-cooldown.ts';
import {
  createHistoryTransport,
  type HistoryTransport,
  type HistoryTransportDeps,
} from './history/history-transport.ts';
import { holdStreams, streamRooms } from './history/replay.ts';
import { clientRoom, type GatewayServer, type GatewaySocket } from './socket-types.ts';
import { createUserSessions, type UserSessions } from './user-sessions.ts';

const SERVER_EVENT_NAMES: ReadonlySet<string> = new Set(SERVER_EVENTS);

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
  /** Ends a user's sessions on every node (the service API's kick and revoke). */
  users: UserSessions;
  /** Publishes with history and keeps this node's deliveries exact; undefined when history is off. */
  history: HistoryTransport | undefined;
}

/** Engine.IO error code 4 (FORBIDDEN) makes engine.io answer a polling request with HTTP 403. */
const ENGINE_FORBIDDEN = 4;

/** How long a flooder's requests accepted before the flood may delay its disconnect, to be answered. */
const FLOOD_ACK_GRACE_MS = 1_000;
/** How long a flooder's disconnect may wait for its last packets to be written before the cut is forced. */
const FLOOD_CLOSE_GRACE_MS = 1_000;
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
  const featureRequests = deps.features.flatMap((f) => f.requests);
  const restoreHooks = deps.features.flatMap((f) => (f.restore ? [f.restore] : []));
  const pipeline = createRequestPipeline({
    ledger: deps.ledger,
    // A crashed attempt blocks its retries at most this long.
    ledgerOptions: { pendingMs: Math.max(2000, config.store.commandTimeoutMs * 4) },
    metrics,
    replays: deps.requestReplays,
  });
  const pendingDetaches = new Map<string, string>();
  const everConnected = new WeakSet<GatewaySocket>();
  // Refusals a client can cause at will are logged per code at most 10 times per 10 s, with a count.
  const sampled = createLogSampler(log);

  // Before authentication: the HTTP gate, pending handshakes, the polling packet cap, CONNECTs per connection.
  const engineGuards = guardEngine(io, httpServer, {
    config,
    metrics,
    originPolicy: deps.originPolicy,
    sampled,
  });

  const detach = (userId: string, socketId: string): void => {
    deps.store.detachSocket(userId, socketId).then(
      () => pendingDetaches.delete(socketId),
      (err: unknown) => {
        metrics.storeErrors.inc({ operation: 'detach' });
        // A store outage is logged once by the outage log; anything else here.
        if (!isGatewayError(err, 'STORE_UNAVAILABLE')) log.warn({ err }, 'detach failed; will retry');
        pendingDetaches.set(socketId, userId);
      },
    );
  };

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
    onOrphan: (socket) => {
      if (!everConnected.has(socket)) detach(socket.data.principal.userId, socket.id);
    },
  });
  io.use(engineGuards.guardHandshake(handshake));

  io.on('connection', (socket) => {
    engineGuards.connected(socket);
    everConnected.add(socket);
    const { principal, session } = socket.data;
    const userId = principal.userId;
    const socketLog = log.child({ socketId: socket.id });
    presence.add(userId);
    metrics.connections.inc();

    const streams = streamRooms(userId, session.rooms);
    void socket.join(streams);
    // In the same tick as the join: the socket's streams are held for its replay (history/replay.ts).
    const replay = holdStreams(
      { sequencer: history?.sequencer, metrics: deps.history.metrics },
      {
        id: socket.id,
        emitApp: (event, data, position) =>
          (socket.emit as unknown as (e: string, d: unknown, p: unknown) => boolean)(event, data, position),
      },
      { userId, rooms: session.rooms, recovered: session.recovered },
      socket.data.positions,
    );

    socket.onAnyOutgoing((event: string) => {
      metrics.eventsOut.inc({ event: SERVER_EVENT_NAMES.has(event) ? event : 'app' });
    });
    const lifecycle = startAuthLifecycle(socket, {
      warningSeconds: config.auth.expiryWarningSeconds,
      clockToleranceSeconds: config.auth.clockToleranceSeconds,
      onExpired: () => metrics.disconnects.inc({ reason: 'AUTH_EXPIRED' }),
    });
    guardInbound(
      socket,
      { ...config.limits, clockToleranceSeconds: config.auth.clockToleranceSeconds },
      {
        metrics,
        onExpired: () => lifecycle.expireNow(),
        // Over its rate, a websocket client is not read until its next event is allowed: its backlog waits
        // in kernel buffers instead of being parsed and refused message by message.
        onOverRate: (waitMs) => pauseReading(socket.conn.transport, waitMs),
        onFlooded: ({ event, refusals }) => {
          metrics.disconnects.inc({ reason: 'RATE_FLOODED' });
          floodCooldown.cut(userId);
          sampled(
            'RATE_FLOODED',
            'warn',
            {
              code: 'RATE_FLOODED',
              userId,
              ...clientFields(socket.request, config.http.trustProxy),
              event,
              refusals,
            },
            'socket went on flooding after RATE_LIMITED; disconnected',
          );
          // The guard reads nothing more from this socket, and the node stops reading its websocket at all
          // (what it keeps sending waits in kernel buffers, costing nothing). Requests it accepted before the
          // flood are still answered (their handlers start on the ticks queued behind this one), then it is cut.
          stopReading(socket.conn.transport);
          setImmediate(() => {
            void socket.data.inflight.whenIdle(FLOOD_ACK_GRACE_MS).then(() => {
              if (!socket.connected) return;
              // A server-side disconnect, not a transport close: the stock client does not reconnect by
              // itself ("io server disconnect"), so a runaway loop does not come straight back.
              socket.disconnect(true);
              // The close waits for the last packets (RATE_FLOODED among them) to be written, and a websocket
              // close waits for the peer's close frame, which a socket we no longer read never delivers: the
              // connection is ended for good after a grace period (a no-op when it is already gone).
              setTimeout(() => forceClose(socket), FLOOD_CLOSE_GRACE_MS).unref();
            });
          });
        },
      },
    );
    refuseBinary(socket, { metrics });
    guardOutbound(socket, config.limits.maxOutboundBufferBytes, () => {
      metrics.disconnects.inc({ reason: 'SLOW_CONSUMER' });
      socketLog.warn('outbound buffer over the bound; closing a client that stopped reading');
      forceClose(socket);
    });

    const source = { userId, claims: principal.claims, log: socketLog, inflight: socket.data.inflight };
    // Every acknowledged request, of every feature, goes through the one pipeline.
    for (const request of [...featureRequests, authRefresh(deps, lifecycle)]) {
      (socket.on as (event: string, listener: (payload: unknown, ack: unknown) => void) => void)(
        request.event,
        (payload, ack) => pipeline(source, request, payload, ack as (response: unknown) => void),
      );
    }

    socket.on('disconnect', (reason) => {
      lifecycle.stop();
      presence.remove(userId);
      metrics.connections.dec();
      metrics.disconnects.inc({ reason });
      detach(userId, socket.id);
      history?.sequencer.forgetSocket(socket.id, streams);
      for (const feature of deps.features) feature.socketGone?.(userId);
    });

    const restoring: RestoringSocket = {
      userId,
      join: (rooms) => socket.join(rooms.map(clientRoom)),
      emit: (event, payload) => (socket.emit as (e: string, p: unknown) => boolean)(event, payload),
      replay,
    };
    const pending = { session, startedAt: socket.data.restoreStartedAt };
    deps.restorer.restore(restoring, pending, restoreHooks).then(
      ({ payload, sent }) => {
        socket.emit('session:restored', payload);
        sent();
      },
      (err: unknown) => {
        // Never an empty answer in place of the truth: the client reconnects and tries again.
        socketLog.warn({ err }, 'could not restore queues and holds for session:restored; closing');
        socket.conn.close();
      },
    );
  });

  // After the connection handler above: a socket it ends late has been set up, and is cleaned up, as usual.
  const users = createUserSessions(io, {
    store: deps.store,
    clustered: deps.adapter !== undefined,
    revocationKeepSeconds: config.auth.maxLifetimeSeconds + config.auth.clockToleranceSeconds,
    log,
    metrics,
  });

  return { io, presence, pendingDetaches, users, history };
}

/** `auth:refresh`: a renewed token for the same user, unless the user's tokens were revoked since. */
function authRefresh(
  deps: Pick<SocketServerDeps, 'verifier' | 'store'>,
  lifecycle: Pick<AuthLifecycle, 'renew'>,
): AnyFeatureRequest {
  return defineRequest({
    event: 'auth:refresh',
    // Any payload: a missing or non-string token is refused by the verifier with its own code.
    schema: z
      .unknown()
      .transform((payload) =>
        typeof payload === 'object' && payload !== null ? (payload as { token?: unknown }).token : undefined,
      ),
    idempotency: 'ledger',
    async handle(ctx, token) {
      const renewed = deps.verifier.verifyRefresh(typeof token === 'string' ? token : undefined, ctx.userId);
      // One store read: a token issued at or before a revocation of this user is refused on every node.
      if (await deps.store.isRevoked(ctx.userId, renewed.issuedAtSeconds))
        throw new GatewayError('AUTH_REVOKED');
      lifecycle.renew(renewed);
      return { expiresAt: renewed.expiresAtMs };
    },
  });
}
