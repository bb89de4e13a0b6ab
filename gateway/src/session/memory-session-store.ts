/**
 * The embedded session store: one gateway node, no Redis. Same semantics as the Redis store (the same
 * contract suite runs against both): sliding TTL over the whole session, the connection limit, node
 * heartbeats and purges. Atomicity is free here: each method runs to completion synchronously.
 */
import type { RoomName, UserId } from '@stayline/client-sdk/protocol';
import { GatewayError } from '../errors/gateway-error.ts';
import {
  SEEN_TTL_MS,
  isRevokedBy,
  type AttachResult,
  type NodeId,
  type PurgeResult,
  type RoomChange,
  type SessionStore,
  type SessionView,
  type SocketId,
} from './session-store.ts';

/** Options of MemorySessionStore. */
export interface MemorySessionStoreOptions {
  /** Session lifetime after the last activity. Fractions allowed; applied in ms. */
  sessionTtlSeconds: number;
  /** A node whose last heartbeat is older than this is dead. */
  deadAfterSeconds: number;
  /** Clock in epoch ms. Default Date.now. */
  now?: () => number;
  /** How often expired sessions are swept from memory (expiry itself is exact on access). Default 30000. */
  sweepIntervalMs?: number;
}

interface MemorySession {
  createdAt: number;
  /** Epoch ms; the session is gone once now > expiresAt (Redis' rule for key expiry). */
  expiresAt: number;
  sockets: Map<SocketId, NodeId>;
  rooms: Set<RoomName>;
}

/** How many dead nodes one purgeDeadNodes call handles, like the Redis store. */
const DEAD_NODES_PER_PURGE = 100;

/** SessionStore in this process's memory. */
export class MemorySessionStore implements SessionStore {
  readonly kind = 'memory';
  private readonly sessions = new Map<UserId, MemorySession>();
  /** userId -> when the user last attached (epoch ms), kept SEEN_TTL_MS, like the Redis `seen` marker. */
  private readonly seen = new Map<UserId, number>();
  /** userId -> the revocation second in force and when it lapses (epoch ms), like the Redis `revoked` key. */
  private readonly revocations = new Map<UserId, { atSeconds: number; expiresAt: number }>();
  /** nodeId -> last heartbeat, epoch ms. */
  private readonly nodes = new Map<NodeId, number>();
  private readonly ttlMs: number;
  private readonly deadAfterMs: number;
  private readonly now: () => number;
  private readonly sweepTimer: NodeJS.Timeout;
  private closed = false;

  constructor(options: MemorySessionStoreOptions) {
    this.ttlMs = Math.round(options.sessionTtlSeconds * 1000);
    this.deadAfterMs = Math.round(options.deadAfterSeconds * 1000);
    this.now = options.now ?? Date.now;
    // unref: the sweep only reclaims memory and must never keep the process alive.
    this.sweepTimer = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 30_000).unref();
  }

  /** Sessions held in memory, including expired ones the sweep has not reclaimed yet (tests, metrics). */
  get size(): number {
    return this.sessions.size;
  }

  attachSocket(
    userId: UserId,
    socketId: SocketId,
    nodeId: NodeId,
    maxSockets: number,
    tokenIssuedAtSeconds: number,
  ): Promise<AttachResult> {
    return this.run((now): AttachResult => {
      const revokedAtSeconds = this.revokedAt(userId, now);
      if (revokedAtSeconds !== undefined && isRevokedBy(revokedAtSeconds, Math.floor(tokenIssuedAtSeconds))) {
        return { ok: false, reason: 'REVOKED', revokedAtSeconds };
      }
      const existing = this.live(userId, now);
      const live = existing?.sockets.size ?? 0;
      if (!existing?.sockets.has(socketId) && live >= maxSockets) {
        return { ok: false, reason: 'CONNECTION_LIMIT', liveSockets: live };
      }
      const lastSeen = this.seen.get(userId);
      const returnedAfterExpiry =
        existing === undefined && lastSeen !== undefined && now - lastSeen <= SEEN_TTL_MS;
      this.seen.set(userId, now);
      const session = existing ?? this.create(userId, now);
      session.sockets.set(socketId, nodeId);
      this.slide(session, now);
      return {
        ok: true,
        session: {
          recovered: existing !== undefined,
          rooms: sorted(session.rooms),
          expiresAt: session.expiresAt,
          returnedAfterExpiry,
        },
      };
    });
  }

  revokeTokens(userId: UserId, keepSeconds: number): Promise<number> {
    return this.run((now) => {
      // Like revoke-tokens.lua: whole seconds of the store's clock, never moved back.
      const atSeconds = Math.max(Math.floor(now / 1000), this.revokedAt(userId, now) ?? 0);
      this.revocations.set(userId, { atSeconds, expiresAt: now + Math.round(keepSeconds * 1000) });
      return atSeconds;
    });
  }

  isRevoked(userId: UserId, tokenIssuedAtSeconds: number): Promise<boolean> {
    return this.run((now) => {
      const revokedAtSeconds = this.revokedAt(userId, now);
      return (
        revokedAtSeconds !== undefined && isRevokedBy(revokedAtSeconds, Math.floor(tokenIssuedAtSeconds))
      );
    });
  }

  detachSocket(userId: UserId, socketId: SocketId): Promise<void> {
    return this.run((now) => {
      const session = this.live(userId, now);
      if (session === undefined) return;
      session.sockets.delete(socketId);
      this.slide(session, now);
    });
  }

  joinRoom(userId: UserId, room: RoomName, maxRooms: number): Promise<RoomChange> {
    return this.run((now) => {
      // Like join-room.lua: a join comes from a live socket, so an expired session is created again.
      const existing = this.live(userId, now);
      if (existing && !existing.rooms.has(room) && existing.rooms.size >= maxRooms) throw roomLimit(maxRooms);
      const session = existing ?? this.create(userId, now);
      const changed = !session.rooms.has(room);
      session.rooms.add(room);
      this.slide(session, now);
      return { changed, rooms: sorted(session.rooms), expiresAt: session.expiresAt };
    });
  }

  leaveRoom(userId: UserId, room: RoomName): Promise<RoomChange> {
    return this.run((now) => {
      const session = this.live(userId, now) ?? this.create(userId, now);
      const changed = session.rooms.delete(room);
      this.slide(session, now);
      return { changed, rooms: sorted(session.rooms), expiresAt: session.expiresAt };
    });
  }

  touch(userIds: readonly UserId[]): Promise<void> {
    return this.run((now) => {
      for (const userId of userIds) {
        const session = this.live(userId, now);
        if (session !== undefined) this.slide(session, now);
      }
    });
  }

  getSession(userId: UserId): Promise<SessionView | null> {
    return this.run((now) => {
      const session = this.live(userId, now);
      if (session === undefined) return null;
      return {
        rooms: sorted(session.rooms),
        sockets: Object.fromEntries(session.sockets),
        expiresAt: session.expiresAt,
      };
    });
  }

  heartbeat(nodeId: NodeId): Promise<void> {
    return this.run((now) => {
      this.nodes.set(nodeId, now);
    });
  }

  purgeDeadNodes(): Promise<PurgeResult> {
    return this.run((now) => {
      const dead = [...this.nodes]
        .filter(([, lastBeat]) => lastBeat < now - this.deadAfterMs)
        .sort(([, a], [, b]) => a - b)
        .slice(0, DEAD_NODES_PER_PURGE)
        .map(([nodeId]) => nodeId);
      let sockets = 0;
      for (const nodeId of dead) {
        sockets += this.drainNode(nodeId, now);
        this.nodes.delete(nodeId);
      }
      return { nodes: dead, sockets };
    });
  }

  removeNode(nodeId: NodeId): Promise<void> {
    return this.run((now) => {
      this.drainNode(nodeId, now);
      this.nodes.delete(nodeId);
    });
  }

  ping(): Promise<void> {
    return this.run(() => undefined);
  }

  close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweepTimer);
    return Promise.resolve();
  }

  /** Drops every session whose TTL has passed. */
  private sweep(): void {
    const now = this.now();
    for (const [userId, session] of this.sessions) {
      if (now > session.expiresAt) this.sessions.delete(userId);
    }
    for (const [userId, at] of this.seen) {
      if (now - at > SEEN_TTL_MS) this.seen.delete(userId);
    }
    for (const [userId, revocation] of this.revocations) {
      if (now > revocation.expiresAt) this.revocations.delete(userId);
    }
  }

  /** The revocation second in force for the user, if any; a lapsed one is deleted on the spot. */
  private revokedAt(userId: UserId, now: number): number | undefined {
    const revocation = this.revocations.get(userId);
    if (revocation !== undefined && now > revocation.expiresAt) {
      this.revocations.delete(userId);
      return undefined;
    }
    return revocation?.atSeconds;
  }

  /** The user's session if it has not expired; an expired one is deleted on the spot (lazy expiry). */
  private live(userId: UserId, now: number): MemorySession | undefined {
    const session = this.sessions.get(userId);
    if (session !== undefined && now > session.expiresAt) {
      this.sessions.delete(userId);
      return undefined;
    }
    return session;
  }

  private create(userId: UserId, now: number): MemorySession {
    const session: MemorySession = {
      createdAt: now,
      expiresAt: now + this.ttlMs,
      sockets: new Map(),
      rooms: new Set(),
    };
    this.sessions.set(userId, session);
    return session;
  }

  private slide(session: MemorySession, now: number): void {
    session.expiresAt = now + this.ttlMs;
  }

  /** Like purge-sockets.lua for every user: removes the node's sockets; a session that lost some slides. */
  private drainNode(nodeId: NodeId, now: number): number {
    let removed = 0;
    for (const userId of [...this.sessions.keys()]) {
      const session = this.live(userId, now);
      if (session === undefined) continue;
      let lost = 0;
      for (const [socketId, holder] of session.sockets) {
        if (holder === nodeId) {
          session.sockets.delete(socketId);
          lost += 1;
        }
      }
      if (lost > 0) this.slide(session, now);
      removed += lost;
    }
    return removed;
  }

  /** Runs `fn` atomically with one reading of the clock; a closed store rejects like an unreachable one. */
  private run<T>(fn: (now: number) => T): Promise<T> {
    if (this.closed) return Promise.reject(new GatewayError('STORE_UNAVAILABLE', 'Session store is closed'));
    try {
      return Promise.resolve(fn(this.now()));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

function sorted(rooms: Set<RoomName>): RoomName[] {
  return [...rooms].sort();
}

function roomLimit(maxRooms: number): GatewayError {
  return new GatewayError('ROOM_LIMIT', `A user may be in at most ${maxRooms} rooms.`);
}
