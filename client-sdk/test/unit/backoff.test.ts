import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, reconnectDelayMs, retryDelayMs } from '../../src/backoff.ts';

const o = { baseMs: 500, capMs: 10_000 };

describe('reconnectDelayMs (full jitter)', () => {
  it('is uniform in [0, min(cap, base * 2^attempt)): random 0 gives 0, random just under 1 gives the window', () => {
    const almostOne = () => 0.999_999;
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => reconnectDelayMs(a, o, () => 0))).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => reconnectDelayMs(a, o, almostOne))).toEqual([
      499, 999, 1999, 3999, 7999, 9999, 9999,
    ]);
    expect(reconnectDelayMs(3, o, () => 0.5)).toBe(2000);
  });

  it('never exceeds the cap, even for huge or negative attempt numbers', () => {
    expect(reconnectDelayMs(1_000_000, o, () => 0.999_999)).toBeLessThan(o.capMs);
    expect(reconnectDelayMs(-5, o, () => 0.999_999)).toBe(499);
  });

  it('spreads a herd: 10,000 clients at attempt 0 do not arrive in pulses', () => {
    // A seeded LCG stands in for Math.random so the test is deterministic.
    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const delay = reconnectDelayMs(0, DEFAULT_BACKOFF, random);
      buckets[Math.floor(delay / 50)]! += 1;
    }
    // Each 50 ms band holds about a tenth of the herd: no empty band, none over 12 %.
    expect(Math.min(...buckets)).toBeGreaterThan(800);
    expect(Math.max(...buckets)).toBeLessThan(1200);
  });
});

describe('retryDelayMs (server hint plus jitter)', () => {
  it('never retries before the hint and adds full jitter on top', () => {
    expect(retryDelayMs(0, 1000, o, () => 0)).toBe(1000);
    expect(retryDelayMs(0, 1000, o, () => 0.5)).toBe(1250);
    expect(retryDelayMs(2, 300, o, () => 0.999_999)).toBe(300 + 1999);
  });

  it('is plain backoff without a hint, and ignores a negative hint', () => {
    expect(retryDelayMs(1, undefined, o, () => 0.5)).toBe(500);
    expect(retryDelayMs(1, -100, o, () => 0.5)).toBe(500);
  });
});
