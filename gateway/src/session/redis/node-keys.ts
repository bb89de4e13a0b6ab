/**
 * The keys of the `{node:<id>}` slot (a node's socket index) and the few global keys that belong to no
 * entity (the node registry, the event lists). Commands on these are single-key, never one script with a
 * user's or an event's keys.
 */
import type { UserId } from '@stayline/client-sdk/protocol';
import type { NodeId, SocketId } from '../session-store.ts';
import { bucketOf } from './bucket-hash.ts';
import { checkKeyPrefix, encodeKeyId } from './key-id.ts';

/**
 * How many hashes a node's socket index is spread over (by bucketOf of the entry). Fixed, so a purger
 * knows every key of a dead node's index without a SCAN; only buckets that hold an entry exist. 256
 * buckets stay listpacks (≤ 128 entries each, Redis' default hash-max-listpack-entries) up to ~30,000
 * sockets per node; past that the fuller buckets become hashtables (about twice the bytes per socket,
 * nothing else changes). 1024 cost a deployment of 1,000 users ~35 B per user more in bucket keys
 * (docs/benchmarks.md §10). Changing it strands the entries of the other layout: upgrade on an empty
 * Redis or after a drain.
 */
export const NODE_INDEX_BUCKETS = 256;

/** The bucket of the node's socket index that holds `entry` (a nodeIndexEntry). */
export function nodeIndexBucket(entry: string): number {
  return bucketOf(entry, NODE_INDEX_BUCKETS);
}

export interface NodeKeys {
  /**
   * `<prefix>{node:<id>}:s:<bucket>`: bucket `bucket` (0 ≤ bucket < NODE_INDEX_BUCKETS) of the node's socket
   * index, a hash nodeIndexEntry -> '' (see nodeIndexBucket): ~40 B an entry as a listpack, where the one set
   * `{node:<id>}:sockets` it replaces took ~90 (issue 15).
   */
  nodeSockets(nodeId: NodeId, bucket: number): string;
  /** `<prefix>nodes`: sorted set of node ids scored by last heartbeat (epoch ms, Redis clock). */
  readonly nodes: string;
  /** `<prefix>events`: set of every defined event id. */
  readonly events: string;
  /** `<prefix>events:rated`: set of the event ids that admit by rate. */
  readonly ratedEvents: string;
  /**
   * `<prefix>{events}:due`: sorted set eventId -> when the event next needs the sweeper (its earliest hold
   * expiry or member check); what the sweeper reads (redis/due-index.ts).
   */
  readonly dueEvents: string;
  /** `<prefix>{events}:dueseq`: hash eventId -> seq of the last write to `dueEvents` (same slot). */
  readonly dueSeqs: string;
}

/** Builds node and global keys for `prefix` (e.g. `stayline:`; no braces). */
export function createNodeKeys(prefix: string): NodeKeys {
  checkKeyPrefix(prefix);
  return {
    nodeSockets: (nodeId, bucket) => `${prefix}{node:${encodeKeyId(nodeId)}}:s:${bucket}`,
    nodes: `${prefix}nodes`,
    events: `${prefix}events`,
    ratedEvents: `${prefix}events:rated`,
    dueEvents: `${prefix}{events}:due`,
    dueSeqs: `${prefix}{events}:dueseq`,
  };
}

/**
 * An entry of a node's socket index. JSON keeps it unambiguous whatever characters the ids contain
 * (a space-separated "userId socketId" would not be), and JSON.stringify of two strings is deterministic,
 * so HDEL finds the entry HSET wrote (in the same bucket: nodeIndexBucket).
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
