/**
 * The guards of one node's Engine.IO connections, before a socket is authenticated, wired in one place:
 * - the HTTP gate (engine-gate.ts): Origin on every request, 503 beyond MAX_PENDING_HANDSHAKES;
 * - pending handshakes (pending-handshakes.ts): connections without a completed CONNECT, closed at
 *   CONNECT_TIMEOUT_MS;
 * - the packet cap of a long-polling POST (polling-cap.ts): MAX_PACKETS_PER_POLL;
 * - one CONNECT at a time, and a few in all, per connection (connect-guard.ts).
 * Each refusal is counted (`stayline_transport_refusals_total`, or `stayline_handshakes_total` for a
 * handshake from a refused origin) and logged through the node's sampler with the client's address and
 * Origin (and the user when known), never a token.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { GatewayConfig } from '../../config/index.ts';
import type { SampledLog } from '../../infra/log-sampler.ts';
import type { GatewayMetrics } from '../../metrics/gateway-metrics.ts';
import { clientFields } from './client-ip.ts';
import { oneConnectAtATime, type GuardedConnection } from './connect-guard.ts';
import { gateEngine } from './engine-gate.ts';
import type { OriginPolicy } from './origin-policy.ts';
import { PendingHandshakes, type ClosableConnection } from './pending-handshakes.ts';
import { capPollingPackets, type PollingConnection } from './polling-cap.ts';
import type { GatewayServer, GatewaySocket } from '../socket-types.ts';

/** CONNECT attempts one engine connection may make (socket.io-client makes one; connect-guard.ts). */
const CONNECT_ATTEMPTS_PER_CONNECTION = 5;

/** The part of an Engine.IO connection (engine.io `Socket`) the guards use. */
interface EngineConnection extends PollingConnection, ClosableConnection, GuardedConnection {
  readonly request: IncomingMessage;
}

type Middleware = (socket: GatewaySocket, next: (err?: Error) => void) => void;

export interface EngineGuards {
  /** The handshake middleware, bounded to one CONNECT at a time and a few in all per connection. */
  guardHandshake(handshake: Middleware): Middleware;
  /** Call first thing on io 'connection': the connection is no longer pending, and its user is known. */
  connected(socket: GatewaySocket): void;
}

/** Installs the guards on `io` and on `httpServer` (to which `io` is attached). */
export function guardEngine(
  io: GatewayServer,
  httpServer: HttpServer,
  deps: {
    config: GatewayConfig;
    metrics: GatewayMetrics;
    originPolicy: OriginPolicy;
    sampled: SampledLog;
  },
): EngineGuards {
  const { config, metrics, sampled } = deps;
  const pending = new PendingHandshakes(config.engine.connectTimeoutMs, (count) =>
    metrics.pendingHandshakes.set(count),
  );
  const userOfConnection = new WeakMap<object, string>();

  io.engine.on('connection', (conn: EngineConnection) => {
    pending.add(conn);
    capPollingPackets(conn, config.limits.maxPacketsPerPoll, (packets) => {
      metrics.transportRefusals.inc({ reason: 'POLL_PACKETS' });
      sampled(
        'POLL_PACKETS',
        'warn',
        {
          code: 'POLL_PACKETS',
          userId: userOfConnection.get(conn),
          ...clientFields(conn.request, config.http.trustProxy),
          packets,
          maxPackets: config.limits.maxPacketsPerPoll,
        },
        'long-polling POST over MAX_PACKETS_PER_POLL; connection closed unread',
      );
      // Discard: closed at once, not when a GET comes to carry the close packet.
      conn.close(true);
    });
  });

  gateEngine(httpServer, {
    path: `${io.path()}/`,
    isAllowedOrigin: (origin, host) => deps.originPolicy.isAllowed(origin, host),
    pendingHandshakes: () => pending.size,
    maxPendingHandshakes: config.limits.maxPendingHandshakes,
    onRefused: ({ reason, handshake, transport, req }) => {
      if (reason === 'ORIGIN_FORBIDDEN' && handshake) metrics.handshakes.inc({ result: reason });
      else metrics.transportRefusals.inc({ reason });
      const fields = { code: reason, ...clientFields(req, config.http.trustProxy), handshake, transport };
      if (reason === 'ORIGIN_FORBIDDEN')
        sampled(
          reason,
          'info',
          { ...fields, allowed: deps.originPolicy.allowedList },
          'origin not allowed (CORS_ORIGINS); HTTP 403',
        );
      else
        sampled(
          reason,
          'warn',
          { ...fields, pending: pending.size },
          'MAX_PENDING_HANDSHAKES reached; new engine connection refused with HTTP 503',
        );
    },
  });

  return {
    guardHandshake: (handshake) =>
      oneConnectAtATime(handshake, {
        maxAttempts: CONNECT_ATTEMPTS_PER_CONNECTION,
        onRefused: (socket, reason) => {
          metrics.transportRefusals.inc({ reason });
          sampled(
            reason,
            'warn',
            { code: reason, ...clientFields(socket.request, config.http.trustProxy) },
            'CONNECT repeated on one engine connection; connection closed',
          );
        },
      }),
    connected(socket) {
      pending.settle(socket.conn);
      // Only the polling cap logs the user (a websocket connection has no cap): nothing kept for the others.
      if (socket.conn.transport.name === 'polling')
        userOfConnection.set(socket.conn, socket.data.principal.userId);
    },
  };
}
