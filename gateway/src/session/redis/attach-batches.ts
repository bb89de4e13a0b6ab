/**
 * The attaches of one turn of the event loop, sent together. A herd of reconnects attaches tens to hundreds
 * of sockets per turn on a node, and each command costs the node its build, write and parse (ioredis) and
 * Redis a command of its own. No latency is added: the calls are made at the end of the turn, and leave in
 * the write that sends the turn's other commands (infra/end-of-turn.ts).
 *
 * The rule both ways keep (redis-session-store.ts, module comment): a socket is never recorded in its user's
 * hash without its entry in the node's index, so a dead node's purge finds every socket.
 * - On a single Redis (standalone, Sentinel): one attach-sockets.lua call per turn (and per
 *   ATTACHES_PER_CALL), which writes each entry and its attach in one step.
 * - On Cluster the users' hashes and the node's index live on different shards: the turn's index entries
 *   go in one node-index-add.lua call, and once it is acknowledged, each attach is its own attach-socket.lua
 *   call in its user's slot.
 */
import { TurnBatches } from '../../infra/turn-batches.ts';
import type { NodeId } from '../session-store.ts';
import { asArray } from './replies.ts';

/**
 * Attaches per attach-sockets.lua call. Each costs Redis a few commands on one small hash: 100 fresh users'
 * attaches took Redis 1.0-1.6 ms per call (`INFO commandstats`, a scratch loop of 2,000), so a call holds
 * Redis for a millisecond or two.
 */
export const ATTACHES_PER_CALL = 100;
/** Entries per node-index-add.lua call (each an HSET field; one call holds Redis well under a millisecond). */
export const ENTRIES_PER_INDEX_WRITE = 500;

/** One socket's attach, as the batches take it. */
export interface PendingAttach {
  /** The user's hash and token revocation keys (redis/user-keys.ts). */
  readonly user: { readonly session: string; readonly revoked: string };
  readonly socketId: string;
  /** The user's connection limit (attachSocket's maxSockets). */
  readonly maxSockets: number;
  /** Principal.issuedAtSeconds of the connecting token. */
  readonly issuedAtSeconds: number;
  /** The node-index bucket of the socket's entry, and the entry (redis/node-keys.ts). */
  readonly bucketKey: string;
  readonly entry: string;
}

/** The scripts the batches call, with the store's constant arguments already bound. */
export interface AttachCalls {
  /** attach-sockets.lua over the attaches of one node, in order; its raw reply. */
  attachSockets(nodeId: NodeId, attaches: readonly PendingAttach[]): Promise<unknown>;
  /** node-index-add.lua: keys, then per key its count and entries. */
  nodeIndexAdd(keys: readonly string[], countsAndEntries: readonly string[]): Promise<unknown>;
  /** attach-socket.lua for one socket; its raw reply. */
  attachSocket(nodeId: NodeId, attach: PendingAttach): Promise<unknown>;
}

interface Waiting {
  attach: PendingAttach;
  resolve: (reply: unknown) => void;
  reject: (err: unknown) => void;
}

/** attach-sockets.lua's reply for an attach Redis refused a command of. */
const ATTACH_FAILED = -2;

/**
 * Redis' refusal of one attach in attach-sockets.lua, as the error the same refusal of a call of its own
 * would have been (ioredis names those ReplyError), so the store maps it alike (infra/redis.ts: an OOM or
 * READONLY is STORE_UNAVAILABLE, a WRONGTYPE a bug).
 */
function replyError(message: unknown): Error {
  const err = new Error(typeof message === 'string' ? message : 'attach failed in attach-sockets.lua');
  err.name = 'ReplyError';
  return err;
}

export class AttachBatches {
  private readonly batches: TurnBatches<NodeId, Waiting>;

  /** `cluster`: the client is a Redis Cluster (see the module comment). */
  constructor(
    private readonly calls: AttachCalls,
    cluster: boolean,
    perCall: number = cluster ? ENTRIES_PER_INDEX_WRITE : ATTACHES_PER_CALL,
  ) {
    this.batches = new TurnBatches(
      (nodeId, items) =>
        cluster ? this.sendIndexThenAttaches(nodeId, items) : this.sendTogether(nodeId, items),
      perCall,
    );
  }

  /**
   * Attaches the socket on `nodeId` with the other attaches of this turn. Resolves with attach-socket.lua's
   * reply; rejects when the call fails (the socket may then be recorded: the caller detaches it).
   */
  attach(nodeId: NodeId, attach: PendingAttach): Promise<unknown> {
    return new Promise((resolve, reject) => this.batches.add(nodeId, { attach, resolve, reject }));
  }

  private sendTogether(nodeId: NodeId, items: readonly Waiting[]): void {
    this.calls
      .attachSockets(
        nodeId,
        items.map((w) => w.attach),
      )
      .then(
        (reply) => {
          let replies: unknown[];
          try {
            replies = asArray('attachSockets', reply);
            if (replies.length !== items.length) throw new Error(`attachSockets: ${replies.length} replies`);
          } catch (err) {
            for (const w of items) w.reject(err);
            return;
          }
          items.forEach((w, i) => {
            const one = replies[i];
            if (Array.isArray(one) && one[0] === ATTACH_FAILED) w.reject(replyError(one[1]));
            else w.resolve(one);
          });
        },
        (err: unknown) => {
          for (const w of items) w.reject(err);
        },
      );
  }

  private sendIndexThenAttaches(nodeId: NodeId, items: readonly Waiting[]): void {
    const byKey = new Map<string, string[]>();
    for (const { attach } of items) {
      const entries = byKey.get(attach.bucketKey);
      if (entries === undefined) byKey.set(attach.bucketKey, [attach.entry]);
      else entries.push(attach.entry);
    }
    const args: string[] = [];
    for (const entries of byKey.values()) args.push(String(entries.length), ...entries);
    this.calls.nodeIndexAdd([...byKey.keys()], args).then(
      () => {
        for (const w of items) this.calls.attachSocket(nodeId, w.attach).then(w.resolve, w.reject);
      },
      (err: unknown) => {
        for (const w of items) w.reject(err);
      },
    );
  }
}
