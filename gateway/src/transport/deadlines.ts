/**
 * One timer for many deadlines: a binary min-heap of entries ordered by their time, and a single
 * `setTimeout` armed for the earliest. Every connected socket has a token expiry to act on; with a timer
 * (and its closures) per socket and per deadline, timers were a measurable part of what an idle connection
 * retains (docs/benchmarks.md §11). An entry is an object the caller already keeps (it carries its heap
 * position), so scheduling allocates nothing per deadline; removal is O(log n), so sockets that leave long
 * before their token expires leave nothing behind.
 */

/** setTimeout overflows past 2^31-1 ms (about 24.8 days); a longer wait is re-armed when the timer fires. */
const MAX_TIMER_MS = 2_147_483_647;

/** What the heap keeps of an entry: its time, its position (-1 when not scheduled), and what to do. */
export interface Deadline {
  /** Wall-clock time (the scheduler's `now`) at which `fire` is called. */
  deadlineAt: number;
  /** The entry's place in the heap; -1 when not scheduled. Owned by the scheduler. */
  deadlineSlot: number;
  /** Called once the time has come (after the entry left the heap; it may schedule itself again). */
  fire(): void;
}

export class Deadlines {
  private readonly heap: Deadline[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The time the armed timer is for (Infinity when none is armed). */
  private armedFor = Infinity;

  /** @param now the wall clock deadlines are in, epoch ms. Default Date.now. */
  constructor(private readonly now: () => number = Date.now) {}

  /** How many deadlines are pending. */
  get size(): number {
    return this.heap.length;
  }

  /** Schedules `entry` at `at` (moving it if it was already scheduled). */
  schedule(entry: Deadline, at: number): void {
    if (entry.deadlineSlot >= 0) this.cancel(entry);
    entry.deadlineAt = at;
    entry.deadlineSlot = this.heap.length;
    this.heap.push(entry);
    this.up(entry.deadlineSlot);
    if (at < this.armedFor) this.arm();
  }

  /**
   * Unschedules `entry` (a no-op when it is not scheduled). With nothing left the timer is cleared;
   * otherwise it is left to fire early, find nothing due and re-arm (cheaper than re-arming per cancel).
   */
  cancel(entry: Deadline): void {
    const slot = entry.deadlineSlot;
    if (slot < 0) return;
    entry.deadlineSlot = -1;
    const last = this.heap.pop();
    if (this.heap.length === 0) this.stop();
    if (last === undefined || last === entry) return;
    this.heap[slot] = last;
    last.deadlineSlot = slot;
    this.down(slot);
    this.up(last.deadlineSlot);
  }

  /** Stops the timer; pending deadlines stay (and fire once something is scheduled again). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  private arm(): void {
    clearTimeout(this.timer);
    const first = this.heap[0];
    if (first === undefined) {
      this.timer = undefined;
      this.armedFor = Infinity;
      return;
    }
    this.armedFor = first.deadlineAt;
    const wait = Math.min(Math.max(0, first.deadlineAt - this.now()), MAX_TIMER_MS);
    this.timer = setTimeout(() => this.run(), wait);
    // The sockets keep the process alive, not their deadlines.
    this.timer.unref();
  }

  private run(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = this.now();
    for (let first = this.heap[0]; first !== undefined && first.deadlineAt <= now; first = this.heap[0]) {
      this.cancel(first);
      first.fire();
    }
    if (this.timer === undefined) this.arm();
  }

  private up(slot: number): void {
    const heap = this.heap;
    const entry = heap[slot];
    if (entry === undefined) return;
    while (slot > 0) {
      const parentSlot = (slot - 1) >> 1;
      const parent = heap[parentSlot];
      if (parent === undefined || parent.deadlineAt <= entry.deadlineAt) break;
      heap[slot] = parent;
      parent.deadlineSlot = slot;
      slot = parentSlot;
    }
    heap[slot] = entry;
    entry.deadlineSlot = slot;
  }

  private down(slot: number): void {
    const heap = this.heap;
    const entry = heap[slot];
    if (entry === undefined) return;
    for (;;) {
      const leftSlot = 2 * slot + 1;
      const left = heap[leftSlot];
      if (left === undefined) break;
      const right = heap[leftSlot + 1];
      const rightFirst = right !== undefined && right.deadlineAt < left.deadlineAt;
      const childSlot = rightFirst ? leftSlot + 1 : leftSlot;
      const child = rightFirst ? right : left;
      if (child.deadlineAt >= entry.deadlineAt) break;
      heap[slot] = child;
      child.deadlineSlot = slot;
      slot = childSlot;
    }
    heap[slot] = entry;
    entry.deadlineSlot = slot;
  }
}
