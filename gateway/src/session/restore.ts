/**
 * Restore, in one place: what a connecting socket finds and is told, and the restore metrics.
 *
 * 1. `attach` (called by the handshake): the session store's attach script records the socket, enforces
 *    revocations and MAX_CONNECTIONS_PER_USER, and returns the session (rooms, expiry) together with the
 *    events named by the user's queue/hold index (read by the same script: no extra round trip).
 * 2. `readClaims` (called by the handshake once attached, before it lets the CONNECT go): reads the user's
 *    queues, holds and admissions in those events (ClaimStore.userClaims). Read before the CONNECT, so
 *    that CONNECT and `session:restored` leave in one write (transport/engine/ws-engine.ts sendTogether)
 *    instead of `session:restored` following a round trip later in a write of its own.
 * 3. `restore` (called once the socket is connected): runs each feature's hook on the claims (watch queue
 *    positions, join event rooms...), and returns the `session:restored` payload plus what to tell after
 *    it.
 *
 * 4. the replay of missed messages (issue 12): the socket's `replay` (built by transport/history/replay.ts)
 *    reads history in `restore` (after the claims: the handshake read those); its gaps/gapReasons/positions
 *    go into `session:restored`, and its messages are sent right after it, before the after-hooks and
 *    before any live message.
 *
 * A restore that cannot read the truth fails (the caller closes the connection and the client retries):
 * never an empty answer in place of the user's state. Imports session types, metrics and the protocol.
 */
import { performance } from 'node:perf_hooks';
import type {
  RestoredHistory,
  RestoredSession,
  RoomName,
  ServerToClientEvents,
  UserId,
} from '@stayline/client-sdk/protocol';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import type { ClaimStore, UserClaims } from './claim-store.ts';
import type { AttachResult, NodeId, SessionSnapshot, SessionStore, SocketId } from './session-store.ts';

/** What a feature's restore hook can do to the restoring socket. */
export interface RestoringSocket {
  readonly userId: UserId;
  /** Joins client rooms (before `session:restored` is sent). */
  join(rooms: readonly RoomName[]): Promise<void> | void;
  /** Sends to this socket only. */
  emit<E extends keyof ServerToClientEvents>(event: E, payload: Parameters<ServerToClientEvents[E]>[0]): void;
  /** Reads what the socket missed; rejects when history cannot be read. Absent: nothing to replay. */
  replay?: () => Promise<ReplayPlan>;
}

/** The replay part of a restore: what `session:restored` says, and what follows it. */
export interface ReplayPlan {
  history: RestoredHistory;
  /** Sends the replay to the socket; called right after `session:restored` was emitted. */
  deliver(): void;
}

const NO_REPLAY: ReplayPlan = {
  history: { gaps: [], gapReasons: {}, positions: {} },
  deliver: () => undefined,
};

/** What a feature's restore hook sees. */
export interface RestoredState {
  session: SessionSnapshot;
  claims: UserClaims;
}

/**
 * A feature's part in restore: it may join rooms and start watching; it may return what to send once
 * `session:restored` has been sent (the client must learn its session first).
 */
export type RestoreHook = (
  socket: RestoringSocket,
  state: RestoredState,
) => Promise<AfterRestore | void> | AfterRestore | void;
export type AfterRestore = () => void;

/** A socket attached in the store, between the handshake and its `session:restored`. */
export interface PendingRestore {
  session: SessionSnapshot;
  /** performance.now() when the attach started: the restore latency is measured from here. */
  startedAt: number;
  /** The claims readClaims read during the handshake. */
  claims: UserClaims;
}

export interface Restorer {
  /** Attaches the socket (handshake step 5); counts refusals by the connection limit and store errors. */
  attach(
    userId: UserId,
    socketId: SocketId,
    tokenIssuedAtSeconds: number,
  ): Promise<{ result: AttachResult; startedAt: number }>;
  /**
   * Reads the claims of an attached session (no round trip when the attach found none). Rejects (counted
   * as a restore error) when they cannot be read: the socket must then be detached and refused.
   */
  readClaims(userId: UserId, session: SessionSnapshot): Promise<UserClaims>;
  /**
   * Computes `session:restored` for a connected socket and runs the features' hooks. Resolves with the
   * payload and a `sent` callback to call right after emitting it (runs the after-hooks, counts the
   * restore); rejects (counted as an error) when the user's state cannot be read.
   */
  restore(
    socket: RestoringSocket,
    pending: PendingRestore,
    hooks: readonly RestoreHook[],
  ): Promise<{ payload: RestoredSession; sent: () => void }>;
}

export interface RestorerDeps {
  sessions: Pick<SessionStore, 'attachSocket'>;
  /** Absent: the node has no queue/seat state to restore. */
  claims: Pick<ClaimStore, 'userClaims'> | undefined;
  metrics: Pick<GatewayMetrics, 'restores' | 'restoreDuration' | 'sessionsExpired'>;
  nodeId: NodeId;
  maxConnectionsPerUser: number;
}

const NO_CLAIMS: UserClaims = { queues: [], holds: [], admissions: [] };

export function createRestorer(deps: RestorerDeps): Restorer {
  const { metrics } = deps;
  return {
    async attach(userId, socketId, tokenIssuedAtSeconds) {
      const startedAt = performance.now();
      try {
        const result = await deps.sessions.attachSocket(
          userId,
          socketId,
          deps.nodeId,
          deps.maxConnectionsPerUser,
          tokenIssuedAtSeconds,
        );
        if (!result.ok && result.reason === 'CONNECTION_LIMIT') metrics.restores.inc({ outcome: 'limited' });
        return { result, startedAt };
      } catch (err) {
        metrics.restores.inc({ outcome: 'error' });
        throw err;
      }
    },

    async readClaims(userId, session) {
      if (!deps.claims) return NO_CLAIMS;
      try {
        return await deps.claims.userClaims(userId, session.claimEvents);
      } catch (err) {
        metrics.restores.inc({ outcome: 'error' });
        throw err;
      }
    },

    async restore(socket, pending, hooks) {
      const { session, claims } = pending;
      let replay: ReplayPlan;
      const after: AfterRestore[] = [];
      try {
        // History is read now (one round trip per stream, in parallel); the claims were read by the
        // handshake (readClaims).
        replay = socket.replay ? await socket.replay() : NO_REPLAY;
        for (const hook of hooks) {
          const then = await hook(socket, { session, claims });
          if (then) after.push(then);
        }
      } catch (err) {
        metrics.restores.inc({ outcome: 'error' });
        throw err;
      }
      const payload: RestoredSession = {
        recovered: session.recovered,
        rooms: session.rooms,
        expiresAt: session.expiresAt,
        queues: claims.queues,
        holds: claims.holds,
        gaps: replay.history.gaps,
        gapReasons: replay.history.gapReasons,
        positions: replay.history.positions,
      };
      return {
        payload,
        sent: () => {
          metrics.restores.inc({ outcome: session.recovered ? 'recovered' : 'fresh' });
          if (session.returnedAfterExpiry) metrics.sessionsExpired.inc();
          metrics.restoreDuration.observe((performance.now() - pending.startedAt) / 1000);
          // The missed messages first: nothing published after the client is back may come before them.
          replay.deliver();
          for (const then of after) then();
        },
      };
    },
  };
}
