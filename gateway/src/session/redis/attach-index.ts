/**
 * The node-index entries of the attaches of one turn of the event loop, written with one node-index-add.lua
 * call instead of one HSET per attach. A herd of reconnects attaches tens to hundreds of sockets per turn,
 * and each command costs the node its build, write and parse (ioredis) and Redis a command of its own.
 *
 * Order: an attach must never be recorded in the user's hash before its node-index entry is on its way
 * (redis-session-store.ts, module comment), so the batch runs each attach itself, after the write: right
 * behind it on the same connection (standalone and Sentinel: Redis runs a connection's commands in order),
 * or once the write is acknowledged (Cluster: the two keys live on different shards). The price is one
 * `setImmediate` of latency per attach, inside the turn whose writes infra/redis.ts corks anyway.
 */
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
  private waiting = new Map<NodeId, Waiting[]>();
  private scheduled = false;

  /**
   * `ordered`: true when commands sent one after the other on the client are run by Redis in that order
   * (one connection: standalone, Sentinel), false on Cluster.
   */
  constructor(
    private readonly write: WriteIndexEntries,
    private readonly ordered: boolean,
    private readonly entriesPerCall: number = ENTRIES_PER_INDEX_WRITE,
  ) {}

  /**
   * Writes `entry` into `bucketKey` (a bucket of `nodeId`'s index) with the other entries of this turn,
   * then runs `next` (the attach) as the module comment says. Resolves with what `next` resolves; rejects
   * when the write or `next` fails.
   */
  writeThen<T>(nodeId: NodeId, bucketKey: string, entry: string, next: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const item: Waiting = { bucketKey, entry, next, resolve: resolve as (v: unknown) => void, reject };
      const list = this.waiting.get(nodeId);
      if (list === undefined) this.waiting.set(nodeId, [item]);
      else list.push(item);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.waiting;
    this.waiting = new Map();
    for (const items of batch.values()) {
      for (let i = 0; i < items.length; i += this.entriesPerCall)
        this.send(items.slice(i, i + this.entriesPerCall));
    }
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
