/**
 * session/ owns per-user session state: the SessionStore contract below, its Redis and in-memory
 * implementations, the Lua scripts behind the Redis one, and node liveness (heartbeats, dead-node purge).
 * It may import config, errors, infra and the protocol; never auth, transport or socket.io.
 *
 * Every method is atomic for one user (one Lua script / one critical section, one round trip on the hot
 * path). A store that cannot answer rejects with GatewayError('STORE_UNAVAILABLE') — it never guesses, and
 * never reports "no session" because Redis was down.
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
}

/** Result of attachSocket: refused only by the per-user connection limit. */
export type AttachResult =
  | { ok: true; session: SessionSnapshot }
  | { ok: false; reason: 'CONNECTION_LIMIT'; liveSockets: number };

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
  nodes: NodeId[];
  sockets: number;
}

export interface SessionStore {
  readonly kind: 'memory' | 'redis';
  /**
   * Records `socketId` on `nodeId` for `userId` unless the user already has `maxSockets` sockets, extends
   * the session TTL and returns the snapshot to restore. `recovered` is judged before the attach.
   */
  attachSocket(userId: UserId, socketId: SocketId, nodeId: NodeId, maxSockets: number): Promise<AttachResult>;
  /** Removes the socket from the maps at once; the session lives on for a full TTL from now. Idempotent. */
  detachSocket(userId: UserId, socketId: SocketId): Promise<void>;
  joinRoom(userId: UserId, room: RoomName): Promise<RoomChange>;
  leaveRoom(userId: UserId, room: RoomName): Promise<RoomChange>;
  /** Extends the TTL of each existing session (activity). Users without a session are ignored. */
  touch(userIds: readonly UserId[]): Promise<void>;
  /** The user's session, or null when none exists (expired or never created). */
  getSession(userId: UserId): Promise<SessionView | null>;
  /** Marks `nodeId` alive now; a node that stops beating is dead after the configured interval. */
  heartbeat(nodeId: NodeId): Promise<void>;
  /** Removes the socket entries of every node whose heartbeat is older than the dead-after interval. */
  purgeDeadNodes(): Promise<PurgeResult>;
  /** Graceful leave: removes this node's socket entries and its heartbeat now. */
  removeNode(nodeId: NodeId): Promise<void>;
  /** Resolves when the store answers; rejects with STORE_UNAVAILABLE otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
