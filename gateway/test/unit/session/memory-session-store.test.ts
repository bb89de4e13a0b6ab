import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemorySessionStore } from '../../../src/session/memory-session-store.ts';

/** The connecting token's iat (seconds) where revocation is not what a test is about: none is made. */
const IAT = 1_700_000_000;

describe('MemorySessionStore housekeeping', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sweeps expired sessions out of memory periodically, not only on access', async () => {
    vi.useFakeTimers();
    let now = 1_000_000;
    const store = new MemorySessionStore({
      sessionTtlSeconds: 10,
      deadAfterSeconds: 15,
      now: () => now,
      sweepIntervalMs: 1000,
    });
    await store.attachSocket('u1', 's1', 'A', 5, IAT);
    await store.attachSocket('u2', 's2', 'A', 5, IAT);
    now += 5000;
    await store.touch(['u2']);
    now += 5001; // u1 is 10.001 s idle, u2 5.001 s
    vi.advanceTimersByTime(1000);
    expect(store.size).toBe(1);
    expect(await store.getSession('u2')).not.toBeNull();
    await store.close();
  });

  it('expires exactly one TTL after the last activity, like Redis (alive at the limit, gone 1 ms later)', async () => {
    let now = 0;
    const store = new MemorySessionStore({ sessionTtlSeconds: 1, deadAfterSeconds: 15, now: () => now });
    await store.attachSocket('u1', 's1', 'A', 5, IAT);
    now = 1000;
    expect(await store.getSession('u1')).toMatchObject({ expiresAt: 1000 });
    now = 1001;
    expect(await store.getSession('u1')).toBeNull();
    await store.close();
  });

  it('clears its sweep timer on close and never keeps the process alive', async () => {
    vi.useFakeTimers();
    const store = new MemorySessionStore({ sessionTtlSeconds: 10, deadAfterSeconds: 15 });
    expect(vi.getTimerCount()).toBe(1);
    await store.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with an Error, not a string, when an operation throws', async () => {
    const store = new MemorySessionStore({
      sessionTtlSeconds: 10,
      deadAfterSeconds: 15,
      now: () => {
        throw new Error('clock broke');
      },
    });
    await expect(store.getSession('u1')).rejects.toThrow('clock broke');
    await store.close();
  });
});
