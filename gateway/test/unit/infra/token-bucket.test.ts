import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../src/infra/token-bucket.ts';

/** A hand-driven clock in epoch milliseconds. */
function fakeClock(startMs = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = startMs;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('TokenBucket', () => {
  it('grants a full burst at once, then refuses with the exact wait for the next token', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(2, 3, clock.now);
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([0, 0, 0]);
    // 2 tokens per second: the next one is 500 ms away.
    expect(bucket.take()).toBe(500);
    // A refusal costs nothing: asking again at the same instant gives the same answer.
    expect(bucket.take()).toBe(500);
  });

  it('refills at the configured rate and grants exactly when the announced wait has passed', () => {
    const clock = fakeClock();
    // 2 per second, with steps whose token counts are exact in floating point (0.5, 0.75, 1, 2.5).
    const bucket = new TokenBucket(2, 3, clock.now);
    for (let i = 0; i < 3; i++) bucket.take();
    clock.advance(250);
    expect(bucket.take()).toBe(250);
    clock.advance(125);
    expect(bucket.take()).toBe(125);
    clock.advance(125);
    expect(bucket.take()).toBe(0);
    expect(bucket.take()).toBe(500);
    // Two and a half tokens' worth of time: two requests pass, the third waits for the missing half.
    clock.advance(1250);
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([0, 0, 250]);
  });

  it('always serves a client that waits exactly the announced time, whatever the rate', () => {
    for (const rate of [1, 3, 7, 50, 333, 1000]) {
      const clock = fakeClock();
      const bucket = new TokenBucket(rate, 2, clock.now);
      let served = 0;
      for (let step = 0; step < 500; step++) {
        const wait = bucket.take();
        if (wait === 0) {
          served++;
          continue;
        }
        clock.advance(wait);
        expect(bucket.take(), `rate ${rate}, step ${step}, after waiting ${wait} ms`).toBe(0);
        served++;
        // A little uneven pacing so the remainders differ from step to step.
        clock.advance(step % 3);
      }
      expect(served).toBe(500);
    }
  });

  it('rounds a fractional wait up, so a client that waits exactly that long is served', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(3, 1, clock.now);
    expect(bucket.take()).toBe(0);
    const wait = bucket.take();
    // 1000/3 ms rounded up.
    expect(wait).toBe(334);
    clock.advance(wait - 1);
    expect(bucket.take()).toBeGreaterThan(0);
    clock.advance(1);
    expect(bucket.take()).toBe(0);
  });

  it('never saves up more than the burst, however long it sat idle', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(10, 4, clock.now);
    clock.advance(3_600_000);
    const results = Array.from({ length: 6 }, () => bucket.take());
    expect(results).toEqual([0, 0, 0, 0, 100, 100]);
  });

  it('sustains exactly the rate once the burst is spent', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(50, 100, clock.now);
    for (let i = 0; i < 100; i++) expect(bucket.take()).toBe(0);
    let granted = 0;
    // Ten seconds of a client asking every millisecond: 50 per second get through.
    for (let ms = 0; ms < 10_000; ms++) {
      clock.advance(1);
      if (bucket.take() === 0) granted++;
    }
    expect(granted).toBe(500);
  });

  it('starts full: the first burst needs no elapsed time', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(1, 5, clock.now);
    expect(Array.from({ length: 5 }, () => bucket.take())).toEqual([0, 0, 0, 0, 0]);
    expect(bucket.take()).toBe(1000);
  });

  it('does not lock clients out when the clock steps back', () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(50, 1, clock.now);
    expect(bucket.take()).toBe(0);
    clock.advance(-3_600_000);
    // One token at 50/s is 20 ms away, not an hour.
    expect(bucket.take()).toBe(20);
    clock.advance(20);
    expect(bucket.take()).toBe(0);
  });
});
