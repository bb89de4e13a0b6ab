/**
 * The handshake middleware, installed with `io.use`. Its steps, in order, cheapest first:
 * 1. the node is refusing (draining past its grace) → SERVER_DRAINING;
 * 2. handshakes per client IP (HANDSHAKES_PER_IP_PER_SECOND, off by default) → RATE_LIMITED;
 * 3. token verification → AUTH_*; a user cut off for flooding on this node in the last FLOOD_COOLDOWN_MS
 *    → RATE_LIMITED; malformed `auth.positions` (read-positions.ts) → BAD_REQUEST;
 * 4. admission at HANDSHAKES_PER_SECOND: over the rate a handshake waits in a FIFO (the client just sees a
 *    slower connect); past HANDSHAKE_QUEUE_MAX_WAIT_MS → RATE_LIMITED;
 * 5. the session attach (session/restore.ts), which also enforces MAX_CONNECTIONS_PER_USER → CONNECTION_LIMIT, STORE_UNAVAILABLE;
 * 6. the read of the user's queues and holds for `session:restored` (before the CONNECT, so that both leave
 *    in one write) → STORE_UNAVAILABLE, after detaching the socket again.
 *
 * How a refusal reaches the client depends on what the client can survive. The stock socket.io-client
 * never reconnects after a `connect_error` from middleware (../shared/MEASURED.md), so a refusal that means
 * "later" (retryable, not AUTH_*) closes its transport instead: every socket.io-client takes that for a
 * drop and reconnects with its own backoff. A client that says it retries refusals itself
 * (`auth.retryableConnectErrors: true`, as the SDK does) gets the `connect_error` with code and
 * `retryAfterMs`. AUTH_* refusals are `connect_error`s for everyone: retrying the same token cannot help.
 */
import { performance } from 'node:perf_hooks';
import type { WireError } from '@stayline/client-sdk/protocol';
import { GatewayError, isGatewayError, toWireError } from '../../errors/gateway-error.ts';
import type { Logger } from '../../infra/logger.ts';
import type { SampledLog } from '../../infra/log-sampler.ts';
import type { GatewayMetrics } from '../../metrics/gateway-metrics.ts';
import { readToken, type TokenVerifier } from '../../auth/index.ts';
import type { Restorer } from '../../session/restore.ts';
import { AdmissionQueue } from './admission-queue.ts';
import { clientIp } from '../engine/client-ip.ts';
import { sendTogether } from '../engine/ws-engine.ts';
import { Inflight } from '../requests/inflight.ts';
import { PerIpLimiter } from './per-ip-limiter.ts';
import { readPositions } from './read-positions.ts';
import { edgeError } from '../requests/request-edge.ts';
import type { GatewaySocket } from '../socket-types.ts';

type Next = (err?: Error) => void;

export interface HandshakeDeps {
  verifier: TokenVerifier;
  /** Attaches the socket to its session and reads its claims (steps 5 and 6; session/restore.ts). */
  restorer: Pick<Restorer, 'attach' | 'readClaims'>;
  metrics: GatewayMetrics;
  log: Logger;
  /** Refused handshakes are logged through this sampler (a herd or an attacker must not flood the log). */
  sampledLog: SampledLog;
  /** MAX_CONNECTIONS_PER_USER, for the refusal's message (the store enforces it). */
  maxConnectionsPerUser: number;
  /** MAX_ROOMS_PER_USER: `auth.positions` may name that many rooms plus the user's own stream. */
  maxRoomsPerUser: number;
  handshakesPerSecond: number;
  handshakeQueueMaxWaitMs: number;
  /** 0 = no per-IP limit. */
  handshakesPerIpPerSecond: number;
  /** TRUST_PROXY: the header with the client IP, or undefined for the TCP peer. */
  trustProxy: string | undefined;
  /** True once the node refuses new handshakes (a drain past its grace). */
  isRefusing: () => boolean;
  /** Milliseconds left before a user cut off for flooding may connect again (0: it may). */
  floodCooldownMs: (userId: string) => number;
  /** Called when a socket attached in the store will never connect (its transport closed meanwhile). */
  onOrphan: (socket: GatewaySocket) => void;
  now?: () => number;
}

/** Retryable refusals a stock client must survive by reconnecting; AUTH_* stay connect_errors. */
const isShedRefusal = (wire: WireError): boolean => wire.retryable && !wire.code.startsWith('AUTH_');

/** True when the client's handshake `auth` says it retries retryable connect_errors itself (the SDK). */
export function retriesRefusals(auth: unknown): boolean {
  return (
    typeof auth === 'object' &&
    auth !== null &&
    (auth as { retryableConnectErrors?: unknown }).retryableConnectErrors === true
  );
}

/** The handshake middleware, and what the `connection` handler must tell it. */
export interface Handshake {
  (socket: GatewaySocket, next: Next): void;
  /** Call on `connection`: the socket is connected, no longer an orphan in waiting. */
  connected(socket: GatewaySocket): void;
}

/** What `auth` holds once the token is verified: the token itself is not kept for the connection's life. */
const VERIFIED_AUTH: object = Object.freeze({});

/**
 * The close listener of a socket attached in the store but not yet connected. Built here, outside the
 * middleware, so that it holds the socket and nothing of the handshake (whose closures would otherwise stay
 * reachable from every connection, with socket.io's own middleware chain).
 */
function orphanWatcher(socket: GatewaySocket, onOrphan: (socket: GatewaySocket) => void): () => void {
  return () => {
    if (!socket.connected) onOrphan(socket);
  };
}

/** The middleware chain as one function, installed with `io.use`. */
export function createHandshake(deps: HandshakeDeps): Handshake {
  /** Sockets attached in the store whose `connection` has not come yet, with their close listener. */
  const attached = new Map<GatewaySocket, () => void>();
  const onOrphan = (socket: GatewaySocket): void => {
    attached.delete(socket);
    deps.onOrphan(socket);
  };
  /** Detaches a socket attached in the store that will not connect after all (its claims read failed). */
  const dropAttached = (socket: GatewaySocket): void => {
    const watcher = attached.get(socket);
    if (watcher !== undefined) socket.conn.off('close', watcher);
    onOrphan(socket);
  };
  const queue = new AdmissionQueue(deps.handshakesPerSecond, {
    maxWaitMs: deps.handshakeQueueMaxWaitMs,
    ...(deps.now === undefined ? {} : { now: deps.now }),
  });
  const perIp =
    deps.handshakesPerIpPerSecond > 0
      ? new PerIpLimiter(deps.handshakesPerIpPerSecond, Math.max(1, deps.handshakesPerIpPerSecond), deps.now)
      : undefined;

  const refuse = (socket: GatewaySocket, next: Next, err: unknown, ip: string, userId?: string): void => {
    // A refusal the gateway means (GatewayError) is logged once, by the sampler below: a herd or a Redis
    // stall refuses thousands a second. Only the unexpected goes through the edge's unsampled error log.
    const wire = isGatewayError(err) ? toWireError(err) : edgeError(err, deps.log, { stage: 'handshake' });
    const shed = isShedRefusal(wire) && !retriesRefusals(socket.handshake.auth);
    deps.metrics.handshakes.inc({ result: wire.code });
    if (shed) deps.metrics.handshakesShed.inc({ code: wire.code });
    deps.sampledLog(
      wire.code,
      wire.code.startsWith('AUTH_') ? 'info' : 'warn',
      {
        code: wire.code,
        ...(userId === undefined ? {} : { userId }),
        ip,
        origin: socket.handshake.headers.origin,
        delivery: shed ? 'transport-close' : 'connect_error',
      },
      'handshake refused',
    );
    if (shed) {
      // A closed transport is what every socket.io-client retries by itself; `next` is never called, and
      // socket.io drops the half-made socket when its connection closes.
      socket.conn.close();
      return;
    }
    next(Object.assign(new Error(wire.code), { data: wire }));
  };

  const handshake = (socket: GatewaySocket, next: Next): void => {
    const ip = clientIp(socket.handshake.address, socket.handshake.headers, deps.trustProxy);
    if (deps.isRefusing()) return refuse(socket, next, new GatewayError('SERVER_DRAINING'), ip);
    const ipWaitMs = perIp?.take(ip) ?? 0;
    if (ipWaitMs > 0) {
      const limited = new GatewayError('RATE_LIMITED', 'Too many handshakes from this address.', {
        retryAfterMs: ipWaitMs,
      });
      return refuse(socket, next, limited, ip);
    }
    let principal;
    try {
      principal = deps.verifier.verify(readToken(socket.handshake));
    } catch (err) {
      return refuse(socket, next, err, ip);
    }
    const userId = principal.userId;
    const coolingMs = deps.floodCooldownMs(userId);
    if (coolingMs > 0) {
      const cooling = new GatewayError('RATE_LIMITED', 'Cut off for flooding; try again later.', {
        retryAfterMs: coolingMs,
      });
      return refuse(socket, next, cooling, ip, userId);
    }
    let positions;
    try {
      positions = readPositions(socket.handshake.auth, deps.maxRoomsPerUser + 1);
    } catch (err) {
      return refuse(socket, next, err, ip, userId);
    }
    const { issuedAtSeconds } = principal;
    const ticket = queue.enter();
    deps.metrics.handshakesQueued.set(queue.waiting);
    const leftWhileQueued = (): void => ticket.cancel();
    socket.conn.once('close', leftWhileQueued);
    const queuedAt = performance.now();
    void ticket.admitted.then((admission) => {
      socket.conn.off('close', leftWhileQueued);
      deps.metrics.handshakesQueued.set(queue.waiting);
      if (socket.conn.readyState !== 'open') return;
      if (!admission.ok) {
        const full = new GatewayError('RATE_LIMITED', 'Too many handshakes on this node.', {
          retryAfterMs: admission.retryAfterMs,
        });
        return refuse(socket, next, full, ip, userId);
      }
      deps.metrics.handshakeQueueWait.observe((performance.now() - queuedAt) / 1000);
      socket.data.principal = principal;
      socket.data.positions = positions;
      socket.data.expired = false;
      socket.data.inflight = new Inflight();
      deps.restorer.attach(userId, socket.id, issuedAtSeconds).then(
        ({ result, startedAt }) => {
          socket.data.restoreStartedAt = startedAt;
          if (!result.ok && result.reason === 'REVOKED')
            return refuse(socket, next, new GatewayError('AUTH_REVOKED'), ip, userId);
          if (!result.ok) {
            const limit = new GatewayError(
              'CONNECTION_LIMIT',
              `At most ${deps.maxConnectionsPerUser} connections per user.`,
            );
            return refuse(socket, next, limit, ip, userId);
          }
          socket.data.session = result.session;
          if (socket.conn.readyState !== 'open') return deps.onOrphan(socket);
          // socket.io drops a socket whose transport closed while middlewares ran; detach it then. The
          // listener goes once the socket connects (connected() below).
          const watcher = orphanWatcher(socket, onOrphan);
          attached.set(socket, watcher);
          socket.conn.once('close', watcher);
          void deps.restorer.readClaims(userId, result.session).then(
            (claims) => {
              // Closed meanwhile: the watcher has detached it.
              if (socket.conn.readyState !== 'open') return;
              socket.data.claims = claims;
              socket.handshake.auth = VERIFIED_AUTH;
              deps.metrics.handshakes.inc({ result: 'ok' });
              // The CONNECT that next() sends and the `session:restored` that follows it in this turn go
              // as one write (ws-engine.ts).
              sendTogether(socket.conn);
              next();
            },
            (err: unknown) => {
              dropAttached(socket);
              refuse(socket, next, err, ip, userId);
            },
          );
        },
        (err: unknown) => refuse(socket, next, err, ip, userId),
      );
    });
  };
  return Object.assign(handshake, {
    connected(socket: GatewaySocket): void {
      const watcher = attached.get(socket);
      if (watcher === undefined) return;
      attached.delete(socket);
      socket.conn.off('close', watcher);
    },
  });
}
