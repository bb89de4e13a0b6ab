/**
 * Ending a user's sessions on every node, for the service API (`POST /v1/users/:userId/disconnect`):
 * optionally revokes the user's tokens in the store first, then every node sends each of the user's sockets
 * `session:ended { code }` and disconnects it ("io server disconnect": the stock socket.io-client does not
 * reconnect by itself after it, which is the point). The node that got the call asks the others through the
 * adapter (`serverSideEmit` with an ack), so the count is exact when every node answers.
 *
 * A handshake that is past its store attach when the kick arrives would otherwise connect after it and
 * survive (and with a revocation, the attach may have read the store just before the revocation was
 * written). Each node so remembers its recent kicks for a minute (longer than socket.io's 45 s
 * `connectTimeout`, which bounds a handshake) and ends, as it connects, any socket of that user whose
 * handshake began its attach before the kick reached the node.
 */
import { wireError, type UserId } from '@stayline/client-sdk/protocol';
import type { Logger } from '../infra/logger.ts';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import type { SessionStore } from '../session/session-store.ts';
import { userRoom, type GatewayServer, type GatewaySocket, type SessionEndCode } from './socket-types.ts';

/** What ending a user's sessions did. */
export interface EndSessionsResult {
  /** Sockets closed, summed over this node and every node that answered. */
  disconnected: number;
  /** False when some node did not answer in time: its sockets are not counted (call again to be sure). */
  complete: boolean;
  /** With a revocation: the second at or before which the user's tokens are refused (store clock). */
  revokedAt: number | undefined;
}

export interface UserSessions {
  /**
   * Revokes the user's tokens when asked (rejects with STORE_UNAVAILABLE, having closed nothing, when the
   * store cannot record it), then ends every socket of the user on every node.
   */
  end(userId: UserId, options: { revoke: boolean }): Promise<EndSessionsResult>;
}

export interface UserSessionsDeps {
  store: SessionStore;
  /** True when an adapter connects this node to others (Redis); false: this node is the cluster. */
  clustered: boolean;
  /** How long a revocation is kept: JWT_MAX_LIFETIME_SECONDS + JWT_CLOCK_TOLERANCE_SECONDS. */
  revocationKeepSeconds: number;
  log: Logger;
  metrics: GatewayMetrics;
  /**
   * How long to wait for the other nodes' answers. Default 6000: the Redis adapters give up after their own
   * 5 s request timeout and report the answers they have; this bound also covers a publish that failed.
   */
  answerTimeoutMs?: number;
  /** Monotonic clock in ms, compared with socket.data.restoreStartedAt. Default performance.now. */
  now?: () => number;
}

/** How long a node remembers a kick, for handshakes that were in flight when it came. */
const RECENT_KICK_MS = 60_000;
const CODES: ReadonlySet<string> = new Set<SessionEndCode>(['SESSION_KICKED', 'AUTH_REVOKED']);
const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/**
 * Installs the inter-node handler and the late-handshake check on `io`. Call it after the server's own
 * `connection` handler is installed: a socket ended here has then been set up (and is cleaned up) as usual.
 */
export function createUserSessions(io: GatewayServer, deps: UserSessionsDeps): UserSessions {
  const now = deps.now ?? (() => performance.now());
  const answerTimeoutMs = deps.answerTimeoutMs ?? 6_000;
  /** userId -> when the last kick reached this node, and its code; oldest first (re-set on every kick). */
  const recent = new Map<UserId, { at: number; code: SessionEndCode }>();

  const endSocket = (socket: GatewaySocket, code: SessionEndCode): void => {
    deps.metrics.disconnects.inc({ reason: code });
    socket.emit('session:ended', wireError(code));
    // disconnect(true) after the emit: the packet is queued on the transport before it closes.
    socket.disconnect(true);
  };

  const endLocal = (userId: UserId, code: SessionEndCode): number => {
    const at = now();
    recent.delete(userId);
    recent.set(userId, { at, code });
    for (const [id, kick] of recent) {
      if (at - kick.at <= RECENT_KICK_MS) break;
      recent.delete(id);
    }
    let closed = 0;
    for (const id of [...(io.sockets.adapter.rooms.get(userRoom(userId)) ?? [])]) {
      const socket = io.sockets.sockets.get(id);
      if (socket?.connected !== true) continue;
      endSocket(socket, code);
      closed += 1;
    }
    return closed;
  };

  io.on('user:end', (request, ack) => {
    // From another node through Redis: checked anyway, a malformed request closes nothing.
    const valid =
      typeof request === 'object' &&
      request !== null &&
      typeof request.userId === 'string' &&
      CODES.has(request.code);
    const closed = valid ? endLocal(request.userId, request.code) : 0;
    if (typeof ack === 'function') ack(closed);
  });

  // A handshake whose attach began before a kick reached this node ends as it connects.
  io.on('connection', (socket) => {
    const kick = recent.get(socket.data.principal.userId);
    if (kick === undefined || socket.data.restoreStartedAt > kick.at || now() - kick.at > RECENT_KICK_MS)
      return;
    endSocket(socket, kick.code);
  });

  const askOtherNodes = (userId: UserId, code: SessionEndCode) =>
    new Promise<{ counts: number[]; complete: boolean }>((resolve) => {
      if (!deps.clustered) return resolve({ counts: [], complete: true });
      // The adapter swallows a failed publish without calling back: this timer answers then.
      const timer = setTimeout(() => resolve({ counts: [], complete: false }), answerTimeoutMs);
      io.serverSideEmit('user:end', { userId, code }, (err: Error | null, responses: unknown[]) => {
        clearTimeout(timer);
        const answers = Array.isArray(responses) ? responses : [];
        const counts = answers.filter(isCount);
        resolve({ counts, complete: !err && counts.length === answers.length });
      });
    });

  return {
    async end(userId, { revoke }) {
      const code: SessionEndCode = revoke ? 'AUTH_REVOKED' : 'SESSION_KICKED';
      const revokedAt = revoke
        ? await deps.store.revokeTokens(userId, deps.revocationKeepSeconds)
        : undefined;
      const others = askOtherNodes(userId, code);
      const local = endLocal(userId, code);
      const { counts, complete } = await others;
      const disconnected = counts.reduce((sum, n) => sum + n, local);
      deps.metrics.userDisconnects.inc({ revoke: String(revoke) });
      deps.log.info({ userId, revoke, disconnected, complete, revokedAt }, "ended a user's sessions");
      if (!complete) deps.log.warn({ userId }, 'some nodes did not answer the kick in time');
      return { disconnected, complete, revokedAt };
    },
  };
}
