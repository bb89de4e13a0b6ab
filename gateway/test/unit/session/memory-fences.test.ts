/**
 * The memory store issues fences by the Redis store's scheme (max(last + 1, now_ms × 1024)): they grow with
 * the clock, several in one millisecond stay distinct, and a clock set back never makes one repeat.
 */
import { describe, expect, it } from 'vitest';
import { MemoryClaimStore } from '../../../src/session/memory-claim-store.ts';

describe('MemoryClaimStore fences', () => {
  it('grow with the clock, stay distinct within a millisecond, and never repeat when the clock goes back', async () => {
    let now = 1_800_000_000_000;
    const store = new MemoryClaimStore({
      limits: { holdSeconds: 300, admissionTtlSeconds: 60, sessionCheckSeconds: 30 },
      sessionAlive: () => Promise.resolve(true),
      now: () => now,
    });
    await store.defineEvent('e', {
      seats: ['A'],
      requiresAdmission: false,
      admissionRatePerSecond: 0,
      maxSeatsPerUser: 1,
      holdSeconds: 300,
    });
    const fences: number[] = [];
    const holdAndRelease = async (): Promise<void> => {
      const held = await store.hold('u', 'e', ['A'], false);
      if (!held.ok) throw new Error(held.code);
      fences.push(held.hold.fence);
      await store.release('u', 'e', ['A']);
    };
    await holdAndRelease();
    await holdAndRelease(); // same millisecond
    now += 5;
    await holdAndRelease();
    now -= 1000; // clock set back
    await holdAndRelease();
    expect(fences).toEqual(
      [now + 1000 - 5, now + 1000 - 5, now + 1000, now + 1000].map((t, i) => t * 1024 + (i % 2)),
    );
    expect(fences.every((f) => Number.isSafeInteger(f))).toBe(true);
  });
});
