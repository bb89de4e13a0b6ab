import { afterEach, describe, expect, it, vi } from 'vitest';
import { DetachBatch } from '../../../src/transport/detach-batch.ts';

describe('DetachBatch', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends the detaches of a window together, once the window ends', async () => {
    vi.useFakeTimers();
    const sent: string[] = [];
    const batch = new DetachBatch((userId, socketId) => {
      sent.push(`${userId}/${socketId}`);
      return Promise.resolve();
    }, 5);
    batch.add('u1', 's1');
    batch.add('u2', 's2');
    await vi.advanceTimersByTimeAsync(4);
    expect(sent).toEqual([]);
    expect(batch.size).toBe(2);
    batch.add('u1', 's3');
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toEqual(['u1/s1', 'u2/s2', 'u1/s3']);
    expect(batch.size).toBe(0);
    // A later detach starts a new window of its own.
    batch.add('u3', 's4');
    await vi.advanceTimersByTimeAsync(4);
    expect(sent).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toEqual(['u1/s1', 'u2/s2', 'u1/s3', 'u3/s4']);
  });

  it('flush sends what waits at once and resolves after every answer; the timer then sends nothing twice', async () => {
    vi.useFakeTimers();
    const answered: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const batch = new DetachBatch(async (_userId, socketId) => {
      await gate;
      answered.push(socketId);
    }, 50);
    batch.add('u1', 's1');
    batch.add('u1', 's2');
    let flushed = false;
    const flushing = batch.flush().then(() => (flushed = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(flushed).toBe(false);
    release();
    await flushing;
    expect(answered).toEqual(['s1', 's2']);
    await vi.advanceTimersByTimeAsync(100);
    expect(answered).toEqual(['s1', 's2']);
    await expect(new DetachBatch(() => Promise.resolve(), 5).flush()).resolves.toBeUndefined();
  });
});
