/**
 * Work run once at the end of the current turn of the event loop (one `setImmediate` for all of it), in two
 * phases: every `gather` callback first (batchers that turn the requests of the turn into commands:
 * turn-batches.ts), then every `write` callback (the Redis connections' uncork: redis.ts coalesceWrites).
 *
 * Why one queue: a callback of a `setImmediate` that schedules another `setImmediate` waits for the next
 * turn. If a batcher flushed in a `setImmediate` of its own, the commands it issued would cork the
 * connection after this turn's uncork had run, and leave a whole turn later; in a herd a turn takes
 * hundreds of milliseconds, and a restore that waits two of them (the attach, then its claims read) more
 * than its stock counterpart. Callbacks added while the queue runs run in the same pass, in their phase.
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
    // A `write` callback may issue commands that gather (a reply callback never runs here: replies are
    // I/O), so the loop only repeats when one added work to either queue.
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
