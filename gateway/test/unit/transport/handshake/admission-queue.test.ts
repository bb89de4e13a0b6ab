import { describe, expect, it } from 'vitest';
import { AdmissionQueue, type Admission } from '../../../../src/transport/handshake/admission-queue.ts';

/** A fake clock with a timer list, so the queue runs without real time. */
function fakeTime() {
  let now = 0;
  const timers: { at: number; fn: () => void }[] = [];
  return {
    now: () => now,
    schedule: (fn: () => void, ms: number) => void timers.push({ at: now + ms, fn }),
    async advance(ms: number) {
      const until = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const next = timers[0];
        if (next === undefined || next.at > until) break;
        timers.shift();
        now = next.at;
        next.fn();
        await Promise.resolve();
      }
      now = until;
      await Promise.resolve();
    },
  };
}

const settled = <T>(p: Promise<T>) => {
  const box: { value?: T } = {};
  void p.then((v) => (box.value = v));
  return box;
};

describe('AdmissionQueue', () => {
  it('admits a burst at once, queues the rest in arrival order and admits them at the rate', async () => {
    const time = fakeTime();
    const queue = new AdmissionQueue(10, { maxWaitMs: 10_000, now: time.now, schedule: time.schedule });
    const tickets = Array.from({ length: 11 }, () => settled(queue.enter().admitted));
    await Promise.resolve();
    // Burst of a tenth of a second's worth at 10/s: one.
    expect(tickets.filter((t) => t.value?.ok)).toHaveLength(1);
    expect(queue.waiting).toBe(10);
    await time.advance(500);
    const admittedAfterHalfSecond = tickets.filter((t) => t.value?.ok).length;
    expect(admittedAfterHalfSecond).toBeGreaterThanOrEqual(5);
    expect(admittedAfterHalfSecond).toBeLessThanOrEqual(7);
    // In arrival order: a prefix of the tickets is admitted, never a later one before an earlier one.
    const firstWaiting = tickets.findIndex((t) => t.value === undefined);
    expect(tickets.slice(firstWaiting).every((t) => t.value === undefined)).toBe(true);
    await time.advance(1000);
    expect(tickets.every((t) => t.value?.ok)).toBe(true);
    expect(queue.waiting).toBe(0);
  });

  it('refuses with retryAfterMs once the expected wait passes maxWaitMs, and refuses nothing it can serve in time', async () => {
    const time = fakeTime();
    const queue = new AdmissionQueue(10, { maxWaitMs: 1000, now: time.now, schedule: time.schedule });
    const results: Admission[] = [];
    for (let i = 0; i < 20; i++) void queue.enter().admitted.then((a) => results.push(a));
    await time.advance(0);
    const refused = results.filter((r): r is { ok: false; retryAfterMs: number } => !r.ok);
    // One admitted from the burst, ten waiting (10 x 100 ms = the 1 s bound), nine refused.
    expect(refused).toHaveLength(9);
    expect(refused.every((r) => r.retryAfterMs > 1000 && r.retryAfterMs <= 1100)).toBe(true);
    await time.advance(1100);
    expect(results.filter((r) => r.ok)).toHaveLength(11);
  });

  it('admits every slot that passed when its timer fires late (a busy event loop), not only a burst', async () => {
    let now = 0;
    const timers: (() => void)[] = [];
    const queue = new AdmissionQueue(1000, {
      maxWaitMs: 10_000,
      now: () => now,
      schedule: (fn) => void timers.push(fn),
    });
    const tickets = Array.from({ length: 1000 }, () => settled(queue.enter().admitted));
    await Promise.resolve();
    const burst = tickets.filter((t) => t.value?.ok).length;
    expect(burst).toBe(100);
    // The 1 ms timer runs 300 ms late: 300 slots passed, all of them go to the waiters, in order.
    now = 300;
    timers.shift()?.();
    await Promise.resolve();
    expect(tickets.filter((t) => t.value?.ok)).toHaveLength(burst + 300);
    expect(tickets.slice(0, burst + 300).every((t) => t.value?.ok)).toBe(true);
    expect(queue.waiting).toBe(1000 - burst - 300);
  });

  it('skips a cancelled waiter: its slot goes to the next one, and it is never admitted', async () => {
    const time = fakeTime();
    const queue = new AdmissionQueue(10, { maxWaitMs: 10_000, now: time.now, schedule: time.schedule });
    void queue.enter().admitted; // the burst
    const gone = queue.enter();
    const next = settled(queue.enter().admitted);
    const goneResult = settled(gone.admitted);
    gone.cancel();
    expect(queue.waiting).toBe(1);
    await time.advance(100);
    expect(next.value?.ok).toBe(true);
    await time.advance(1000);
    expect(goneResult.value).toBeUndefined();
  });
});
