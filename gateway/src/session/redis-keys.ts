/**
 * Redis key names of the session store. One user's keys share the hash tag `{user:<id>}` and so one
 * Redis Cluster slot, which is what lets one Lua script touch all of them atomically.
 */
import type { UserId } from '@stayline/client-sdk/protocol';
import type { NodeId, SocketId } from './session-store.ts';

/**
 * Makes an id safe inside a hash tag. Redis Cluster hashes the text between the first `{` and the first
 * `}` after it, so a user id containing `}` would end the tag early (e.g. users `a}x` and `a}y` would
 * land on user `a`'s slot) and one containing `{` could start a different one. Percent-encoding `%`, `{`
 * and `}` (and nothing else) removes both problems, stays injective (two ids never share a key), and keeps
 * ordinary ids readable in redis-cli.
 */
export function encodeKeyId(id: string): string {
  return id.replace(/[%{}]/g, (c) => (c === '%' ? '%25' : c === '{' ? '%7B' : '%7D'));
}

/** The three keys of one user's session, in the order every user-side script takes them as KEYS. */
export type UserKeys = readonly [session: string, sockets: string, rooms: string];

/** Key builders for one key prefix. */
export interface RedisKeys {
  /** `<prefix>{user:<id>}:session` hash, `:sockets` hash socketId -> nodeId, `:rooms` set. */
  user(userId: UserId): UserKeys;
  /** `<prefix>{node:<id>}:sockets`: the node's index of entries, see nodeIndexEntry. */
  nodeSockets(nodeId: NodeId): string;
  /** `<prefix>{user:<id>}:seen`: that the user had a session (attach only), for the expired-session count. */
  seen(userId: UserId): string;
  /** `<prefix>{user:<id>}:claims`: the user's queue/hold index (written by the claim store). */
  claimsIndex(userId: UserId): string;
  /** `<prefix>{user:<id>}:revoked`: the epoch second at or before which the user's tokens are refused. */
  revoked(userId: UserId): string;
  /** `<prefix>nodes`: sorted set of node ids scored by last heartbeat (epoch ms, Redis clock). */
  readonly nodes: string;
}

/** Builds the key names for `prefix` (e.g. `stayline:`). The prefix may not contain braces. */
export function createRedisKeys(prefix: string): RedisKeys {
  if (/[{}]/.test(prefix)) throw new Error(`Redis key prefix may not contain braces: ${prefix}`);
  return {
    user(userId) {
      const base = `${prefix}{user:${encodeKeyId(userId)}}:`;
      return [`${base}session`, `${base}sockets`, `${base}rooms`];
    },
    nodeSockets: (nodeId) => `${prefix}{node:${encodeKeyId(nodeId)}}:sockets`,
    seen: (userId) => `${prefix}{user:${encodeKeyId(userId)}}:seen`,
    claimsIndex: (userId) => `${prefix}{user:${encodeKeyId(userId)}}:claims`,
    revoked: (userId) => `${prefix}{user:${encodeKeyId(userId)}}:revoked`,
    nodes: `${prefix}nodes`,
  };
}

/**
 * An entry of a node's socket index. JSON keeps it unambiguous whatever characters the ids contain
 * (a space-separated "userId socketId" would not be), and JSON.stringify of two strings is deterministic,
 * so SREM finds the entry SADD wrote.
 */
export function nodeIndexEntry(userId: UserId, socketId: SocketId): string {
  return JSON.stringify([userId, socketId]);
}

/** Parses a nodeIndexEntry; undefined for anything else. */
export function parseNodeIndexEntry(entry: string): { userId: UserId; socketId: SocketId } | undefined {
  try {
    const parsed: unknown = JSON.parse(entry);
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      typeof parsed[0] === 'string' &&
      typeof parsed[1] === 'string'
    ) {
      return { userId: parsed[0], socketId: parsed[1] };
    }
  } catch {
    // Not JSON: fall through to "not an entry"; the caller logs and drops it.
  }
  return undefined;
}
