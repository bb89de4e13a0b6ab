/**
 * The Redis session store: every user-side operation is one Lua script (lua/session/*.lua), so it is atomic
 * and costs one round trip, and it touches only keys of one `{u:<id>}` hash tag, so the same scripts
 * run on Redis Cluster. The one exception, attach-sockets.lua (the attaches of a turn, many users' keys and
 * the node's index in one script), is only ever sent to a single Redis; on Cluster the store sends
 * attach-socket.lua per user instead (see attachSocket).
 *
 * Time: scripts read Redis' own clock (TIME) for TTLs, `expiresAt` and heartbeats. All gateway nodes then
 * share one clock, and a node with a skewed clock can neither shorten sessions nor look dead. (On Redis
 * Cluster each shard uses its own clock; shards are expected to be NTP-synced.)
 *
 * Node index: each node has an index of the sockets it holds, spread over NODE_INDEX_BUCKETS small hashes
 * `{node:<id>}:s:<bucket>` (redis/node-keys.ts), used to purge a dead node. What it must not miss is a
 * recorded socket. On a single Redis the attach script writes the entry itself (attach-sockets.lua, the
 * attaches of a turn in one call); on Cluster a script cannot write both the user's slot and the node's,
 * so the entry is written by a separate, idempotent command, acknowledged before the attach is sent (see
 * attachSocket). The index may hold stale entries (a refused attach whose cleanup failed, an entry whose HDEL
 * failed): harmless, because the purge only removes a socket still recorded on that node
 * (purge-sockets.lua).
 */
import type { RoomName, UserId } from '@stayline/client-sdk/protocol';
import { GatewayError } from '../errors/gateway-error.ts';
import type { Logger } from '../infra/logger.ts';
import { Cluster } from 'ioredis';
import { AttachBatches } from './redis/attach-batches.ts';
import { RedisStore, type RedisStoreClient } from './redis/redis-store.ts';
import {
  createNodeKeys,
  NODE_INDEX_BUCKETS,
  nodeIndexBucket,
  nodeIndexEntry,
  parseNodeIndexEntry,
  type NodeKeys,
} from './redis/node-keys.ts';
import { asInt, asStrings, unexpected } from './redis/replies.ts';
import { defineScripts, type Scripts } from './redis/scripts.ts';
import { decodeAttach, decodeRoomChange, decodeSession } from './redis/session-replies.ts';
import { createUserKeys, type UserKeys } from './redis/user-keys.ts';
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

export type { ObserveCommand } from './redis/replies.ts';

/** Options of RedisSessionStore. */
export interface RedisSessionStoreOptions extends RedisStoreClient {
  /** Prefix of every key, e.g. `stayline:`. */
  keyPrefix: string;
  /** Session lifetime after the last activity. Fractions allowed (tests); applied in ms. */
  sessionTtlSeconds: number;
  /** A node whose last heartbeat is older than this is dead. Fractions allowed (tests). */
  deadAfterSeconds: number;
  logger: Logger;
  /**
   * When set, attachSocket also reads the user's queue/hold index and extends it by this many ms
   * (see SessionSnapshot.claimEvents). Default 0: the index is not read.
   */
  claimsIndexTtlMs?: number;
}

/** How many sessions touch extends at once. */
const BATCH = 500;
/** How many buckets of a dead node's index purge reads per round trip. */
const BUCKETS_PER_READ = 32;
/** How many dead nodes one purgeDeadNodes call handles; the rest wait for the next call. */
const DEAD_NODES_PER_PURGE = 100;

/** SessionStore on Redis (standalone now; written to run unchanged on Cluster: see the module comment). */
export class RedisSessionStore extends RedisStore implements SessionStore {
  readonly kind = 'redis';
  private readonly claimsIndexTtlMs: number;
  private readonly scripts: Scripts;
  private readonly userKeys: (userId: UserId) => UserKeys;
  private readonly nodeKeys: NodeKeys;
  private readonly ttlMs: number;
  private readonly deadAfterMs: number;
  private readonly log: Logger;
  /** Nodes this instance has beaten for: a later "first beat" means another node purged us as dead. */
  private readonly beating = new Set<NodeId>();
  /** The attaches of a turn, with their node-index entries (redis/attach-batches.ts). */
  private readonly attaches: AttachBatches;
  /** A Redis Cluster: the attach's index entry is a command of its own, taken back by this store. */
  private readonly cluster: boolean;

  constructor(options: RedisSessionStoreOptions) {
    super(options, 'Session store');
    this.scripts = defineScripts(options.redis);
    this.userKeys = createUserKeys(options.keyPrefix);
    this.nodeKeys = createNodeKeys(options.keyPrefix);
    this.ttlMs = Math.round(options.sessionTtlSeconds * 1000);
    this.deadAfterMs = Math.round(options.deadAfterSeconds * 1000);
    this.log = options.logger; // bound to module 'session' by the caller
    this.claimsIndexTtlMs = Math.round(options.claimsIndexTtlMs ?? 0);
    const { scripts, ttlMs, claimsIndexTtlMs } = this;
    this.cluster = this.redis instanceof Cluster;
    this.attaches = new AttachBatches(
      {
        attachSockets: (nodeId, attaches) =>
          scripts.attachSockets(
            attaches.flatMap((a) => [a.user.session, a.user.revoked, a.bucketKey]),
            nodeId,
            ttlMs,
            SEEN_TTL_MS,
            claimsIndexTtlMs,
            attaches.flatMap((a) => [a.socketId, a.maxSockets, Math.floor(a.issuedAtSeconds), a.entry]),
          ),
        nodeIndexAdd: (keys, countsAndEntries) => scripts.nodeIndexAdd(keys, countsAndEntries),
        attachSocket: (nodeId, a) =>
          scripts.attachSocket(
            a.user,
            a.socketId,
            nodeId,
            a.maxSockets,
            ttlMs,
            SEEN_TTL_MS,
            claimsIndexTtlMs,
            Math.floor(a.issuedAtSeconds),
          ),
      },
      this.cluster,
    );
  }

  /**
   * Sent with the other attaches of this turn (redis/attach-batches.ts), with the socket's node-index entry:
   * on a single Redis in the same script, written with the attach and taken back if it is refused; on Redis
   * Cluster the two keys live on different shards, so the entry is written first and acknowledged before the
   * attach is sent (two round trips), and taken back here if the attach is refused. Either way, whenever the
   * socket is recorded, its index entry exists. If the call fails it rejects, and the caller must treat the
   * socket as possibly recorded and detach it when it drops it (a timed-out command may still have run).
   */
  attachSocket(
    userId: UserId,
    socketId: SocketId,
    nodeId: NodeId,
    maxSockets: number,
    tokenIssuedAtSeconds: number,
  ): Promise<AttachResult> {
    return this.run('attachSocket', async () => {
      const entry = nodeIndexEntry(userId, socketId);
      const bucketKey = this.nodeKeys.nodeSockets(nodeId, nodeIndexBucket(entry));
      const reply = await this.attaches.attach(nodeId, {
        user: this.userKeys(userId),
        socketId,
        maxSockets,
        issuedAtSeconds: tokenIssuedAtSeconds,
        bucketKey,
        entry,
      });
      const result = decodeAttach(reply, this.claimsIndexTtlMs > 0);
      if (!result.ok && this.cluster) await this.dropIndexEntry(bucketKey, entry);
      return result;
    });
  }

  revokeTokens(userId: UserId, keepSeconds: number): Promise<number> {
    return this.run('revokeTokens', async () =>
      asInt(
        'revokeTokens',
        await this.scripts.revokeTokens(this.userKeys(userId), Math.round(keepSeconds * 1000)),
      ),
    );
  }

  /** One GET (the key expires with the revocation); the rule is isRevokedBy's. */
  isRevoked(userId: UserId, tokenIssuedAtSeconds: number): Promise<boolean> {
    return this.run('isRevoked', async () => {
      const value = await this.redis.get(this.userKeys(userId).revoked);
      if (value === null) return false;
      const revokedAt = Number(value);
      if (!Number.isSafeInteger(revokedAt)) throw unexpected('isRevoked', value);
      return isRevokedBy(revokedAt, tokenIssuedAtSeconds);
    });
  }

  /** Two round trips: the script says which node held the socket, then that node's index is cleaned. */
  detachSocket(userId: UserId, socketId: SocketId): Promise<void> {
    return this.run('detachSocket', async () => {
      const node = await this.scripts.detachSocket(this.userKeys(userId), socketId, this.ttlMs);
      if (typeof node === 'string') {
        const entry = nodeIndexEntry(userId, socketId);
        await this.dropIndexEntry(this.nodeKeys.nodeSockets(node, nodeIndexBucket(entry)), entry);
      } else if (node !== null) throw unexpected('detachSocket', node);
    });
  }

  joinRoom(userId: UserId, room: RoomName, maxRooms: number): Promise<RoomChange> {
    return this.run('joinRoom', async () => {
      const change = decodeRoomChange(
        'joinRoom',
        await this.scripts.joinRoom(this.userKeys(userId), room, this.ttlMs, maxRooms),
      );
      if (change === 'limit')
        throw new GatewayError('ROOM_LIMIT', `A user may be in at most ${maxRooms} rooms.`);
      return change;
    });
  }

  leaveRoom(userId: UserId, room: RoomName): Promise<RoomChange> {
    return this.run('leaveRoom', async () => {
      const change = decodeRoomChange(
        'leaveRoom',
        await this.scripts.leaveRoom(this.userKeys(userId), room, this.ttlMs),
      );
      if (change === 'limit') throw unexpected('leaveRoom', change);
      return change;
    });
  }

  /** One script per user, issued concurrently in batches (the commands share the connection's writes). */
  touch(userIds: readonly UserId[]): Promise<void> {
    return this.run('touch', async () => {
      const unique = [...new Set(userIds)];
      for (let i = 0; i < unique.length; i += BATCH) {
        await Promise.all(
          unique
            .slice(i, i + BATCH)
            .map((userId) => this.scripts.touchSession(this.userKeys(userId), this.ttlMs)),
        );
      }
    });
  }

  getSession(userId: UserId): Promise<SessionView | null> {
    return this.run('getSession', async () =>
      decodeSession(await this.scripts.getSession(this.userKeys(userId))),
    );
  }

  heartbeat(nodeId: NodeId): Promise<void> {
    return this.run('heartbeat', async () => {
      const added = await this.scripts.heartbeatNode(this.nodeKeys, nodeId);
      if (added === 1 && this.beating.has(nodeId)) {
        // Either another node judged us dead (we missed beats for deadAfterSeconds) and purged our
        // sockets from the users' maps, or Redis lost its data (restart without persistence). Either way
        // sessions of sockets still open here may be missing: say so loudly.
        this.log.warn(
          { heartbeatNodeId: nodeId },
          'Node was missing from the registry (purged as dead, or Redis lost data); socket entries may be gone',
        );
      }
      this.beating.add(nodeId);
    });
  }

  /**
   * Safe to run on every node at once: two purgers read the same index entries and run the same
   * idempotent purge-sockets.lua (each socket is removed, and counted, by exactly one of them); the
   * registry entry goes last and only if the node is still dead, so a crash half-way leaves it to be
   * retried. `nodes` lists the dead nodes this call found and processed (concurrent purgers may both
   * list one); `sockets` counts the socket entries this call removed.
   */
  purgeDeadNodes(): Promise<PurgeResult> {
    return this.run('purgeDeadNodes', async () => {
      const dead = asStrings(
        'findDeadNodes',
        await this.scripts.findDeadNodes(this.nodeKeys, this.deadAfterMs, DEAD_NODES_PER_PURGE),
      );
      let sockets = 0;
      for (const nodeId of dead) {
        sockets += await this.drainNode(nodeId);
        await this.scripts.forgetNode(this.nodeKeys, nodeId, this.deadAfterMs);
        this.log.info({ deadNodeId: nodeId }, 'Purged a dead node');
      }
      return { nodes: dead, sockets };
    });
  }

  removeNode(nodeId: NodeId): Promise<void> {
    return this.run('removeNode', async () => {
      await this.drainNode(nodeId);
      await this.scripts.forgetNode(this.nodeKeys, nodeId, -1);
      this.beating.delete(nodeId);
    });
  }

  /**
   * Removes every socket the node's index lists from the users' maps (only where still recorded on that
   * node), bucket by bucket, deleting index entries only after their users were handled: entries deleted
   * before a crash would be lost, leaving sockets nobody purges.
   */
  private async drainNode(nodeId: NodeId): Promise<number> {
    let removed = 0;
    for (let first = 0; first < NODE_INDEX_BUCKETS; first += BUCKETS_PER_READ) {
      const keys = Array.from({ length: BUCKETS_PER_READ }, (_, j) =>
        this.nodeKeys.nodeSockets(nodeId, first + j),
      );
      const lists = await Promise.all(keys.map((key) => this.redis.hkeys(key)));
      const byUser = new Map<UserId, SocketId[]>();
      for (const entry of lists.flat()) {
        const parsed = parseNodeIndexEntry(entry);
        if (parsed === undefined) {
          this.log.warn({ nodeId, entry }, 'Dropping an unreadable node index entry');
          continue;
        }
        const list = byUser.get(parsed.userId) ?? [];
        list.push(parsed.socketId);
        byUser.set(parsed.userId, list);
      }
      const counts = await Promise.all(
        [...byUser].map(([userId, socketIds]) =>
          this.scripts.purgeSockets(this.userKeys(userId), nodeId, this.ttlMs, socketIds),
        ),
      );
      for (const count of counts) removed += asInt('purgeSockets', count);
      const drop = keys.flatMap((key, j) =>
        lists[j]!.length > 0 ? [this.redis.hdel(key, ...lists[j]!)] : [],
      );
      await Promise.all(drop);
    }
    return removed;
  }

  /** Index cleanup is best effort: a leftover entry is harmless (see the module comment); log, go on. */
  private async dropIndexEntry(nodeKey: string, entry: string): Promise<void> {
    try {
      await this.redis.hdel(nodeKey, entry);
    } catch (err) {
      this.log.warn({ err, nodeKey }, 'Could not remove a node index entry; the purge will ignore it');
      this.observe?.('nodeIndexCleanup', 0, 'error');
    }
  }
}
