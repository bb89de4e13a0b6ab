/**
 * The node-index entries of the attaches of one turn of the event loop, written with one node-index-add.lua
 * call instead of one HSET per attach. A herd of reconnects attaches tens to hundreds of sockets per turn,
 * and each command costs the node its build, write and parse (ioredis) and Redis a command of its own.
 *
 * Order: an attach must never be recorded in the user's hash before its node-index entry is on its way
 * (redis-session-store.ts, module comment), so the batch runs each attach itself, after the write: right
 * behind it on the same connection (standalone and Sentinel: Redis runs a connection's commands in order),
 * or once the write is acknowledged (Cluster: the two keys live on different shards). No latency is added:
 * the batch is sent at the end of the turn, in the write that sends the turn's other commands
 * (infra/end-of-turn.ts).
 */
import { TurnBatches } from '../../infra/turn-batches.ts';
import type { NodeId } from '../session-store.ts';

/** Entries per node-index-add.lua call (each an HSET field; one call holds Redis well under a millisecond). */
export const ENTRIES_PER_INDEX_WRITE = 500;

/** Writes entries into buckets of one node's index (node-index-add.lua): keys, then per key its count and entries. */
export type WriteIndexEntries = (
  keys: readonly string[],
  countsAndEntries: readonly string[],
) => Promise<unknown>;

interface Waiting {
  bucketKey: string;
  entry: string;
  next: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export class AttachIndexWrites {
  private readonly batches: TurnBatches<NodeId, Waiting>;

  /**
   * `ordered`: true when commands sent one after the other on the client are run by Redis in that order
   * (one connection: standalone, Sentinel), false on Cluster.
   */
  constructor(
    private readonly write: WriteIndexEntries,
    private readonly ordered: boolean,
    entriesPerCall: number = ENTRIES_PER_INDEX_WRITE,
  ) {
    this.batches = new TurnBatches((_nodeId, items) => this.send(items), entriesPerCall);
  }

  /**
   * Writes `entry` into `bucketKey` (a bucket of `nodeId`'s index) with the other entries of this turn,
   * then runs `next` (the attach) as the module comment says. Resolves with what `next` resolves; rejects
   * when the write or `next` fails.
   */
  writeThen<T>(nodeId: NodeId, bucketKey: string, entry: string, next: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) =>
      this.batches.add(nodeId, { bucketKey, entry, next, resolve: resolve as (v: unknown) => void, reject }),
    );
  }

  private send(items: readonly Waiting[]): void {
    const byKey = new Map<string, string[]>();
    for (const { bucketKey, entry } of items) {
      const entries = byKey.get(bucketKey);
      if (entries === undefined) byKey.set(bucketKey, [entry]);
      else entries.push(entry);
    }
    const args: string[] = [];
    for (const entries of byKey.values()) args.push(String(entries.length), ...entries);
    const written = this.write([...byKey.keys()], args);
    if (this.ordered) {
      for (const item of items) {
        Promise.all([written, item.next()]).then(([, value]) => item.resolve(value), item.reject);
      }
      return;
    }
    written.then(
      () => {
        for (const item of items) item.next().then(item.resolve, item.reject);
      },
      (err: unknown) => {
        for (const item of items) item.reject(err);
      },
    );
  }
}
