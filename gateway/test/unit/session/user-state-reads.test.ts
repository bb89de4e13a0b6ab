import { describe, expect, it } from 'vitest';
import { UserStateReads } from '../../../src/session/redis/user-state-reads.ts';

/** A user-states.lua reply: user `q<n>` is queued at position n, anyone else has nothing there. */
const replyFor = (userIds: readonly string[]): unknown[] => [
  1,
  99,
  ...userIds.map((u) => [u.startsWith('q') ? Number(u.slice(1)) : 0, 0, 0, [], 0]),
];

describe('UserStateReads', () => {
  it('sends the reads of one turn as one call per event, at most usersPerCall users each', async () => {
    const calls: [string, string[]][] = [];
    const reads = new UserStateReads((eventId, userIds) => {
      calls.push([eventId, [...userIds]]);
      return Promise.resolve(replyFor(userIds));
    }, 200);
    const inA = Array.from({ length: 450 }, (_, i) => reads.get('A', `q${i + 1}`));
    const inB = [reads.get('B', 'q7'), reads.get('B', 'nobody')];
    expect(calls).toEqual([]); // nothing leaves before the turn ends
    const [a, b] = await Promise.all([Promise.all(inA), Promise.all(inB)]);
    expect(calls.map(([eventId, ids]) => [eventId, ids.length])).toEqual([
      ['A', 200],
      ['A', 200],
      ['A', 50],
      ['B', 2],
    ]);
    // Each caller gets its own user's state, whichever call carried it.
    a.forEach((state, i) =>
      expect(state).toEqual({
        stale: false,
        queue: { position: i + 1, size: 99 },
        hold: undefined,
        admissionExpiresAt: undefined,
      }),
    );
    expect(b).toEqual([
      { stale: false, queue: { position: 7, size: 99 }, hold: undefined, admissionExpiresAt: undefined },
      { stale: true },
    ]);
    // A read in a later turn is a call of its own.
    await reads.get('A', 'q3');
    expect(calls).toHaveLength(5);
  });

  it('fails only the reads of the call that failed; an unknown event makes its users stale', async () => {
    const reads = new UserStateReads((eventId, userIds) => {
      if (eventId === 'down') return Promise.reject(new Error('Connection is closed.'));
      if (eventId === 'gone') return Promise.resolve([-1]);
      return Promise.resolve(replyFor(userIds));
    });
    const results = await Promise.allSettled([
      reads.get('down', 'q1'),
      reads.get('gone', 'q1'),
      reads.get('up', 'q2'),
    ]);
    expect(results[0]).toMatchObject({ status: 'rejected', reason: { message: 'Connection is closed.' } });
    expect(results[1]).toEqual({ status: 'fulfilled', value: { stale: true } });
    expect(results[2]).toMatchObject({ status: 'fulfilled', value: { queue: { position: 2 } } });
  });

  it('rejects a reply of the wrong shape (a bug) instead of answering anyone from it', async () => {
    const reads = new UserStateReads(() => Promise.resolve([1, 5, [1, 0, 0, [], 0]]));
    const results = await Promise.allSettled([reads.get('e', 'q1'), reads.get('e', 'q2')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
