/**
 * session/ owns per-user session state: the SessionStore contract below, its Redis and in-memory
 * implementations, the Lua scripts behind the Redis one, and node liveness (heartbeats, dead-node purge).
 * It may import config, errors, infra and the protocol; never auth, transport or socket.io.
 *
 * Every method is atomic for one user (one Lua script / one critical section, one round trip on the hot
 * path). A store that cannot answer rejects with GatewayError('STORE_UNAVAILABLE') — it never guesses, and
 * never reports "no session" because Redis was down. Such a rejection does not prove nothing happened: a
 * command that timed out against a hung Redis may still be applied when Redis wakes up. Every method is
 * therefore idempotent, so retrying it is safe.
 *
 * Times are epoch ms by the store's clock: Redis' own (TIME inside the scripts) for the Redis store, the
 * injected `now` for the memory store. Every write of a session (attach, detach, join, leave, touch, and a
 * purge that removed one of its sockets) slides its TTL: all of the session expires a full TTL later.
 */
import type { RoomName, UserId } from '@stayline/client-sdk/protocol';

export type SocketId = string;
export type NodeId = string;

/** What a connecting socket finds: the state to restore and when the session will expire. */
export interface SessionSnapshot {
  /** True when a session of this user existed before this attach (a live tab, or a return within the TTL). */
  recovered: boolean;
  /** Rooms the user is in, sorted. */
  rooms: RoomName[];
  /** Epoch ms at which the session expires unless extended by activity. */
  expiresAt: number;
  /**
   * True when the user had a session that expired before this attach (they came back too late): the
   * `stayline_sessions_expired_total` metric counts these. Known for SEEN_TTL (30 days) after last attach.
   */
  returnedAfterExpiry: boolean;
  /**
   * The events named by the user's queue/hold index, read by the same attach script (Redis store with a
   * claims index configured), so a restore without queues or holds costs no further round trip.
   * Undefined when the store did not read it.
   */
  claimEvents?: string[];
}

/** How long a store remembers that a user had a session, to tell an expired session from a first visit. */
export const SEEN_TTL_MS = 30 * 24 * 3600 * 1000;

/**
 * Result of attachSocket: refused by a revocation of the user's tokens (checked first), or by the per-user
 * connection limit. A refusal writes nothing.
 */
export type AttachResult =
  | { ok: true; session: SessionSnapshot }
  | { ok: false; reason: 'REVOKED'; revokedAtSeconds: number }
  | { ok: false; reason: 'CONNECTION_LIMIT'; liveSockets: number };

/**
 * The revocation rule, in one place for TypeScript (attach-socket.lua states it again): a revocation at
 * second `revokedAtSeconds` refuses every token issued at or before that second. `iat` has one-second
 * resolution, so a token issued in the very second of the revocation, even a moment after it, is refused:
 * the replacement token must be issued at least one second later.
 */
export const isRevokedBy = (revokedAtSeconds: number, tokenIssuedAtSeconds: number): boolean =>
  tokenIssuedAtSeconds <= revokedAtSeconds;

/** Result of joinRoom / leaveRoom. */
export interface RoomChange {
  /** False when the user was already in (join) or not in (leave) the room: the call is idempotent. */
  changed: boolean;
  rooms: RoomName[];
  expiresAt: number;
}

/** A read-only view of one user's session, for restore checks, tests and the service API. */
export interface SessionView {
  rooms: RoomName[];
  /** socketId -> the node that holds it. */
  sockets: Record<SocketId, NodeId>;
  expiresAt: number;
}

/** Result of purgeDeadNodes. */
export interface PurgeResult {
  /** Dead nodes this call found and purged (two nodes purging at once may both list a node). */
  nodes: NodeId[];
  /** Socket entries this call removed (under a concurrent purge each is removed, and counted, once). */
  sockets: number;
}

export interface SessionStore {
  readonly kind: 'memory' | 'redis';
  /**
   * Records `socketId` on `nodeId` for `userId` unless the user's tokens issued at or before
   * `tokenIssuedAtSeconds` are revoked (reason REVOKED, see isRevokedBy) or the user already has
   * `maxSockets` sockets (CONNECTION_LIMIT), extends the session TTL and returns the snapshot to restore.
   * `recovered` is judged before the attach. The revocation check, the limit check and the write are one
   * atomic step, across all nodes, in one round trip. Re-attaching a socketId that is already recorded is
   * not counted against the limit. If this rejects, the socket may still have been recorded: detach it
   * when dropping it.
   */
  attachSocket(
    userId: UserId,
    socketId: SocketId,
    nodeId: NodeId,
    maxSockets: number,
    tokenIssuedAtSeconds: number,
  ): Promise<AttachResult>;
  /**
   * Revokes every token of the user issued at or before now (the store's clock, whole seconds), on every
   * node, for `keepSeconds` (the longest a token issued now can stay valid: JWT_MAX_LIFETIME_SECONDS plus
   * the clock tolerance). Resolves with the revocation second. A later call moves it forward, never back,
   * and keeps it `keepSeconds` from then. Does not touch the session or its sockets.
   */
  revokeTokens(userId: UserId, keepSeconds: number): Promise<number>;
  /** True when a revocation in force refuses a token of the user issued at `tokenIssuedAtSeconds`. */
  isRevoked(userId: UserId, tokenIssuedAtSeconds: number): Promise<boolean>;
  /** Removes the socket from the maps at once; the session lives on for a full TTL from now. Idempotent. */
  detachSocket(userId: UserId, socketId: SocketId): Promise<void>;
  /**
   * Adds the room (idempotent) and slides the TTL. Called for a live socket, so a session that expired
   * under it is created again rather than refused.
   */
  /**
   * Adds `room` unless the user is already in `maxRooms` other rooms, which rejects with
   * GatewayError('ROOM_LIMIT') and changes nothing; the check and the add are one atomic step.
   */
  joinRoom(userId: UserId, room: RoomName, maxRooms: number): Promise<RoomChange>;
  /** Removes the room (idempotent) and slides the TTL; like joinRoom, creates an expired session again. */
  leaveRoom(userId: UserId, room: RoomName): Promise<RoomChange>;
  /** Extends the TTL of each existing session (activity). Users without a session are ignored. */
  touch(userIds: readonly UserId[]): Promise<void>;
  /** The user's session, or null when none exists (expired or never created). */
  getSession(userId: UserId): Promise<SessionView | null>;
  /** Marks `nodeId` alive now; a node that stops beating is dead after deadAfterSeconds. */
  heartbeat(nodeId: NodeId): Promise<void>;
  /**
   * Removes the socket entries of every node whose heartbeat is older than the dead-after interval, then
   * the node itself; sessions and rooms stay. Safe to run on every live node at the same time.
   */
  purgeDeadNodes(): Promise<PurgeResult>;
  /** Graceful leave: removes this node's socket entries and its heartbeat now. Idempotent. */
  removeNode(nodeId: NodeId): Promise<void>;
  /** Resolves when the store answers; rejects with STORE_UNAVAILABLE otherwise. */
  ping(): Promise<void>;
  /**
   * Releases what the store holds (a Redis client it created, the memory sweep timer); later calls reject
   * with STORE_UNAVAILABLE.
   */
  close(): Promise<void>;
}
