/**
 * The socket.io server of one node: engine options (message size, ping, connect timeout, origin check in
 * allowRequest), the guards of connections not yet authenticated (engine-guards.ts), the handshake, and
 * each connection's lifecycle — restore, guards (floods end in a disconnect), token expiry, requests,
 * detach.
 */
import type { Server as HttpServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Server } from 'socket.io';
import type { Adapter } from 'socket.io-adapter';
import type { AckCallback, AuthRefreshResult, RoomResult } from '@stayline/client-sdk/protocol';
import { SERVER_EVENTS } from '@stayline/client-sdk/protocol';
import type { TokenVerifier } from '../auth/index.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { GatewayConfig } from '../config/index.ts';
import { joinRoom, leaveRoom, type RoomDeps } from '../features/rooms/room-handlers.ts';
import { createLogSampler } from '../infra/log-sampler.ts';
import type { Logger } from '../infra/logger.ts';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import type { SessionStore } from '../session/session-store.ts';
import { startAuthLifecycle } from './auth-lifecycle.ts';
import { refuseBinary } from './binary-guard.ts';
import type { ClaimsRuntime } from './claims-runtime.ts';
import { clientFields } from './client-ip.ts';
import { traceConnections } from './connection-trace.ts';
import { guardEngine } from './engine-guards.ts';
import { createHandshake } from './handshake.ts';
import { LocalPresence } from './local-presence.ts';
import type { OriginPolicy } from './origin-policy.ts';
import { answer } from './request-edge.ts';
import { forceClose, guardInbound, guardOutbound } from './socket-guards.ts';
import { sizedParser } from './sized-parser.ts';
import { FairWebSocketServer, pauseReading, stopReading } from './ws-engine.ts';
import { FloodCooldown } from './flood-cooldown.ts';
import { clientRoom, userRoom, type GatewayServer, type GatewaySocket } from './socket-types.ts';
import { createUserSessions, type UserSessions } from './user-sessions.ts';

const SERVER_EVENT_NAMES: ReadonlySet<string> = new Set(SERVER_EVENTS);

export interface SocketServerDeps {
  config: GatewayConfig;
  verifier: TokenVerifier;
  store: SessionStore;
  metrics: GatewayMetrics;
  log: Logger;
  originPolicy: OriginPolicy;
  roomDeps: Omit<RoomDeps, 'membership'>;
  /** True once the node refuses new handshakes (a drain past its grace). */
  isRefusing: () => boolean;
  /** Optional adapter constructor (the Redis adapter when the store is Redis). */
  adapter?: ((nsp: unknown) => Adapter) | undefined;
  /** Builds the queue/seat runtime on this server (request ids, queue:*, seat:*, restored queues/holds). */
  createClaims?: ((io: GatewayServer) => ClaimsRuntime) | undefined;
}

export interface SocketServer {
  io: GatewayServer;
  presence: LocalPresence;
  /** Detaches that failed (store down) and are retried by the node's housekeeping. */
  pendingDetaches: Map<string, string>;
  claims: ClaimsRuntime | undefined;
  /** Ends a user's sessions on every node (the service API's kick and revoke). */
  users: UserSessions;
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
  const claims = deps.createClaims?.(io);
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
        log.warn({ err }, 'detach failed; will retry');
        pendingDetaches.set(socketId, userId);
      },
    );
  };

  // With the Redis adapter, socketsJoin/socketsLeave and the emit reach the user's sockets on every node.
  const membership: RoomDeps['membership'] = {
    joined: (userId, result) => {
      io.in(userRoom(userId)).socketsJoin(clientRoom(result.room));
      io.to(userRoom(userId)).emit('room:joined', result);
    },
    left: (userId, result) => {
      io.in(userRoom(userId)).socketsLeave(clientRoom(result.room));
      io.to(userRoom(userId)).emit('room:left', result);
    },
  };
  const roomDeps: RoomDeps = { ...deps.roomDeps, membership };

  const floodCooldown = new FloodCooldown(FLOOD_COOLDOWN_MS);
  const handshake = createHandshake({
    verifier: deps.verifier,
    store: deps.store,
    metrics,
    log,
    nodeId: config.nodeId,
    maxConnectionsPerUser: config.limits.maxConnectionsPerUser,
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

    void socket.join([userRoom(userId), ...session.rooms.map(clientRoom)]);

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

    const ctx = () => ({ userId, claims: socket.data.principal.claims });
    const edge = (event: string) => ({ log: socketLog, metrics, event, inflight: socket.data.inflight });
    // Every acknowledged request goes through the request-id ledger (claims-runtime / idempotency.ts).
    const once =
      <T>(event: string, handler: (payload: unknown) => Promise<T>) =>
      (payload: unknown, ack: AckCallback<T>) =>
        answer(
          ack,
          () => (claims ? claims.once(userId, event, payload, handler) : handler(payload)),
          edge(event),
        );
    socket.on(
      'room:join',
      once<RoomResult>('room:join', (payload) => joinRoom(roomDeps, ctx(), payload)),
    );
    socket.on(
      'room:leave',
      once<RoomResult>('room:leave', (payload) => leaveRoom(roomDeps, ctx(), payload)),
    );
    claims?.register(socket, once);
    socket.on(
      'auth:refresh',
      once<AuthRefreshResult>('auth:refresh', async (payload) => {
        const token =
          typeof payload === 'object' && payload !== null
            ? (payload as { token?: unknown }).token
            : undefined;
        const renewed = deps.verifier.verifyRefresh(typeof token === 'string' ? token : undefined, userId);
        // One store read: a token issued at or before a revocation of this user is refused on every node.
        if (await deps.store.isRevoked(userId, renewed.issuedAtSeconds))
          throw new GatewayError('AUTH_REVOKED');
        lifecycle.renew(renewed);
        return { expiresAt: renewed.expiresAtMs };
      }),
    );

    socket.on('disconnect', (reason) => {
      lifecycle.stop();
      presence.remove(userId);
      metrics.connections.dec();
      metrics.disconnects.inc({ reason });
      detach(userId, socket.id);
      claims?.socketGone(userId);
    });

    const restored = () => {
      metrics.restores.inc({ outcome: session.recovered ? 'recovered' : 'fresh' });
      if (session.returnedAfterExpiry) metrics.sessionsExpired.inc();
      metrics.restoreDuration.observe((performance.now() - socket.data.restoreStartedAt) / 1000);
    };
    const base = { recovered: session.recovered, rooms: session.rooms, expiresAt: session.expiresAt };
    if (claims === undefined) {
      socket.emit('session:restored', { ...base, queues: [], holds: [] });
      restored();
    } else {
      // Queues and holds are computed now (index, then event side): one or two more round trips.
      claims.restore(socket).then(
        ({ queues, holds }) => {
          socket.emit('session:restored', { ...base, queues, holds });
          restored();
        },
        (err: unknown) => {
          // Never an empty answer in place of the truth: the client reconnects and tries again.
          metrics.restores.inc({ outcome: 'error' });
          socketLog.warn({ err }, 'could not read queues and holds for session:restored; closing');
          socket.conn.close();
        },
      );
    }
  });

  // After the connection handler above: a socket it ends late has been set up, and is cleaned up, as usual.
  const users = createUserSessions(io, {
    store: deps.store,
    clustered: deps.adapter !== undefined,
    revocationKeepSeconds: config.auth.maxLifetimeSeconds + config.auth.clockToleranceSeconds,
    log,
    metrics,
  });

  return { io, presence, pendingDetaches, claims, users };
}
