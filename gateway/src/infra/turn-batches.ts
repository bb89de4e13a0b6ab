/**
 * Items gathered per key over one turn of the event loop, handed over at its end in chunks of at most
 * `maxPerChunk` per key, in the order they came: what a herd of requests sends Redis as one command per key
 * per turn instead of one each (session/redis/user-state-reads.ts, attach-batches.ts). Handed over before the
 * Redis connections write what the turn issued (end-of-turn.ts), so the commands made from a chunk leave in
 * that same write: gathering costs a request no latency.
 */
import { atEndOfTurn } from './end-of-turn.ts';

export class TurnBatches<K, T> {
  private waiting = new Map<K, T[]>();
  private scheduled = false;

  constructor(
    private readonly send: (key: K, chunk: T[]) => void,
    private readonly maxPerChunk: number,
  ) {}

  add(key: K, item: T): void {
    const items = this.waiting.get(key);
    if (items === undefined) this.waiting.set(key, [item]);
    else items.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      atEndOfTurn('gather', () => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.waiting;
    this.waiting = new Map();
    for (const [key, items] of batch) {
      for (let i = 0; i < items.length; i += this.maxPerChunk)
        this.send(key, items.slice(i, i + this.maxPerChunk));
    }
  }
}
