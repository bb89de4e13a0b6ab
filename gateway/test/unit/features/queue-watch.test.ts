/**
 * Throttled queue:position pushes over a real (embedded) claim store on a fake clock: a moved position is
 * told at the next round, a change of the size alone only once `sizeOnlyEveryMs` passed.
 */
import { describe, expect, it } from 'vitest';
import type { QueuePlace } from '@stayline/client-sdk/protocol';
import { QueueWatch } from '../../../src/features/queue/queue-watch.ts';
import { MemoryClaimStore } from '../../../src/session/memory-claim-store.ts';

describe('QueueWatch', () => {
  it('tells moved positions at once and a size-only change at most every sizeOnlyEveryMs', async () => {
    let clock = 1_000_000;
    const store = new MemoryClaimStore({
      limits: { holdSeconds: 300, admissionTtlSeconds: 60, sessionCheckSeconds: 30 },
      sessionAlive: () => Promise.resolve(true),
      now: () => clock,
    });
    await store.defineEvent('q', {
      seats: [],
      requiresAdmission: false,
      admissionRatePerSecond: 0,
      maxSeatsPerUser: 1,
      holdSeconds: 60,
    });
    const watch = new QueueWatch(10_000, () => clock);
    const told: QueuePlace[] = [];
    const push = (_u: string, p: QueuePlace) => told.push(p);
    for (const u of ['a', 'b']) {
      const r = await store.joinQueue(u, 'q');
      if (r.kind === 'queued') watch.watch('q', u, { eventId: 'q', position: r.position, size: r.size });
    }
    // 'a' was told 1 of 1 when it joined; 'b' joined behind it: a size-only change for 'a'.
    expect(await watch.tick(store, push)).toBe(0);
    clock += 5_000;
    await store.joinQueue('c', 'q');
    expect(await watch.tick(store, push)).toBe(0);
    clock += 5_000;
    expect(await watch.tick(store, push)).toBe(2); // ten seconds since each was told: sizes now
    expect(told).toEqual([
      { eventId: 'q', position: 1, size: 3 },
      { eventId: 'q', position: 2, size: 3 },
    ]);
    await store.leaveQueue('a', 'q'); // 'b' moves up: told at the next round, however recent the last push
    expect(await watch.tick(store, push)).toBe(1);
    expect(told.at(-1)).toEqual({ eventId: 'q', position: 1, size: 2 });
    expect(watch.size).toBe(1); // 'a' left the queue: no longer watched
  });
});
