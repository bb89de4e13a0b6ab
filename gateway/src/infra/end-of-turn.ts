/**
 * Work run once at the end of the current turn of the event loop (one `setImmediate` for all of it), in two
 * phases: every `gather` callback first (batchers that turn the requests of the turn into commands:
 * turn-batches.ts), then every `write` callback (the Redis connections' uncork: redis.ts coalesceWrites).
 *
 * Why one queue: a `setImmediate` scheduled from inside another `setImmediate` callback waits for the next
 * turn. A batcher flushing in a `setImmediate` of its own issued its commands after this turn's uncork had
 * run, so they left a whole turn later; in a herd a turn takes hundreds of milliseconds, and each restore
 * waited two of them more (the attach, then its claims read). Callbacks added while the queue runs (an
 * uncork registered by a batch's first command) run in the same pass, in their phase.
 */
type Phase = 'gather' | 'write';

const queues: Record<Phase, (() => void)[]> = { gather: [], write: [] };
let scheduled = false;

/** Runs `fn` at the end of this turn, in `phase` (all `gather` callbacks before any `write` callback). */
export function atEndOfTurn(phase: Phase, fn: () => void): void {
  queues[phase].push(fn);
  if (!scheduled) {
    scheduled = true;
    setImmediate(runQueues);
  }
}

function runQueues(): void {
  try {
    // Until both queues are empty: a gather callback may add a write callback (and, in principle, the
    // other way round).
    while (queues.gather.length > 0 || queues.write.length > 0) {
      const phase: Phase = queues.gather.length > 0 ? 'gather' : 'write';
      const fn = queues[phase].shift()!;
      fn();
    }
  } finally {
    scheduled = false;
    // A callback that threw leaves the rest for the next turn, not forgotten.
    if (queues.gather.length > 0 || queues.write.length > 0) {
      scheduled = true;
      setImmediate(runQueues);
    }
  }
}
