/**
 * The handshake middlewares, in order: admission (draining, handshakes per second), token verification,
 * then the session attach that also enforces MAX_CONNECTIONS_PER_USER. A refused handshake reaches the
 * client as `connect_error` with `message` = the code and `data` = `{ code, message, retryable }`.
 */
import { performance } from 'node:perf_hooks';
import { GatewayError } from '../errors/gateway-error.ts';
import type { Logger } from '../infra/logger.ts';
import { AdmissionGate } from './admission-gate.ts';
import { Inflight } from './inflight.ts';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import { readToken, type TokenVerifier } from '../auth/index.ts';
import type { NodeId, SessionStore } from '../session/session-store.ts';
import { edgeError } from './request-edge.ts';
import type { GatewaySocket } from './socket-types.ts';

type Next = (err?: Error) => void;

export interface HandshakeDeps {
  verifier: TokenVerifier;
  store: SessionStore;
  metrics: GatewayMetrics;
  log: Logger;
  nodeId: NodeId;
  maxConnectionsPerUser: number;
  handshakesPerSecond: number;
  isDraining: () => boolean;
  /** Called when a socket attached in the store will never connect (its transport closed meanwhile). */
  onOrphan: (socket: GatewaySocket) => void;
  now?: () => number;
}

/** The middleware chain as one function, installed with `io.use`. */
export function createHandshake(deps: HandshakeDeps): (socket: GatewaySocket, next: Next) => void {
  const admission = new AdmissionGate(deps.handshakesPerSecond, deps.now);

  const refuse = (next: Next, err: unknown): void => {
    const wire = edgeError(err, deps.log, { stage: 'handshake' });
    deps.metrics.handshakes.inc({ result: wire.code });
    next(Object.assign(new Error(wire.code), { data: wire }));
  };

  return (socket, next) => {
    if (deps.isDraining()) return refuse(next, new GatewayError('SERVER_DRAINING'));
    const admitted = admission.tryAdmit();
    if (!admitted.ok) {
      const retryAfterMs = admitted.retryAfterMs;
      return refuse(
        next,
        new GatewayError('RATE_LIMITED', 'Too many handshakes on this node.', { retryAfterMs }),
      );
    }
    let principal;
    try {
      principal = deps.verifier.verify(readToken(socket.handshake));
    } catch (err) {
      return refuse(next, err);
    }
    socket.data.principal = principal;
    socket.data.expired = false;
    socket.data.inflight = new Inflight();
    socket.data.restoreStartedAt = performance.now();
    const userId = principal.userId;
    const { issuedAtSeconds } = principal;
    deps.store.attachSocket(userId, socket.id, deps.nodeId, deps.maxConnectionsPerUser, issuedAtSeconds).then(
      (result) => {
        if (!result.ok && result.reason === 'REVOKED') return refuse(next, new GatewayError('AUTH_REVOKED'));
        if (!result.ok) {
          deps.metrics.restores.inc({ outcome: 'limited' });
          return refuse(
            next,
            new GatewayError(
              'CONNECTION_LIMIT',
              `At most ${deps.maxConnectionsPerUser} connections per user.`,
            ),
          );
        }
        socket.data.session = result.session;
        if (socket.conn.readyState !== 'open') return deps.onOrphan(socket);
        // socket.io drops a socket whose transport closed while middlewares ran; detach it then.
        socket.conn.once('close', () => {
          if (!socket.connected) deps.onOrphan(socket);
        });
        deps.metrics.handshakes.inc({ result: 'ok' });
        next();
      },
      (err: unknown) => {
        deps.metrics.restores.inc({ outcome: 'error' });
        refuse(next, err);
      },
    );
  };
}
