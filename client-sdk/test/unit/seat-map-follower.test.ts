import { describe, expect, it } from 'vitest';
import type { StaylineClient } from '../../src/client.ts';
import { SdkError } from '../../src/errors.ts';
import type { SeatMapResult, SeatUpdatePayload } from '../../src/protocol/index.ts';
import { followSeatMap, type FollowedSeatMap } from '../../src/seat-map-follower.ts';
import { flushPromises } from '../support/fake-socket.ts';

interface PendingRead {
  eventId: string;
  resolve: (result: SeatMapResult) => void;
  reject: (err: unknown) => void;
}

/** A client with `on('seat:update')` and `seatMap`: the test fires updates and answers reads. */
function fakeClient() {
  const handlers = new Set<(u: SeatUpdatePayload) => void>();
  const reads: PendingRead[] = [];
  const client: Pick<StaylineClient, 'on' | 'seatMap'> = {
    on: ((event: string, handler: (u: SeatUpdatePayload) => void) => {
      if (event !== 'seat:update') return () => undefined;
      handlers.add(handler);
      return () => handlers.delete(handler);
    }) as StaylineClient['on'],
    seatMap: (eventId: string) =>
      new Promise<SeatMapResult>((resolve, reject) => reads.push({ eventId, resolve, reject })),
  };
  const fire = (since: number, version: number, seats: SeatUpdatePayload['seats'], eventId = 'ev1') => {
    for (const h of handlers) h({ eventId, since, version, seats });
  };
  /** Answers the read at `index` (default: the oldest) and lets its continuation run. */
  const answer = async (version: number, seats: SeatMapResult['seats'], index = 0) => {
    const read = reads[index];
    if (read === undefined) throw new Error(`no read #${index} (${reads.length} pending)`);
    reads.splice(index, 1);
    read.resolve({ eventId: read.eventId, version, seats });
    await flushPromises();
  };
  /** Fails the oldest read with `err`. */
  const fail = async (err: unknown) => {
    const read = reads.shift();
    if (read === undefined) throw new Error('no read pending');
    read.reject(err);
    await flushPromises();
  };
  return { client, handlers, reads, fire, answer, fail };
}

function follow(fake: ReturnType<typeof fakeClient>) {
  const changes: FollowedSeatMap[] = [];
  const follower = followSeatMap(fake.client, 'ev1', (f) => changes.push(f));
  const last = (): FollowedSeatMap | undefined => changes.at(-1);
  return { follower, changes, last };
}

describe('followSeatMap', () => {
  it('applies contiguous updates for its event and ignores stale ones and other events', async () => {
    const fake = fakeClient();
    const f = follow(fake);
    f.follower.read();
    await fake.answer(5, { A1: 'free', A2: 'free' });
    expect(f.last()?.map).toEqual({ version: 5, seats: { A1: 'free', A2: 'free' } });

    fake.fire(5, 6, { A1: 'held' });
    expect(f.last()?.map).toEqual({ version: 6, seats: { A1: 'held', A2: 'free' } });
    const published = f.changes.length;
    fake.fire(4, 6, { A1: 'free' }); // stale: already in the map
    fake.fire(6, 7, { A2: 'sold' }, 'ev2'); // another event
    expect(f.changes).toHaveLength(published);
    expect(f.last()?.map).toEqual({ version: 6, seats: { A1: 'held', A2: 'free' } });
    expect(fake.reads).toHaveLength(0);
  });

  it('re-reads the map on a gap, once, and applies the updates that arrived meanwhile', async () => {
    const fake = fakeClient();
    const f = follow(fake);
    f.follower.read();
    await fake.answer(5, { A1: 'free', A2: 'free', A3: 'free' });

    fake.fire(7, 8, { A1: 'held' }); // 6 and 7 were missed
    expect(fake.reads).toHaveLength(1);
    fake.fire(8, 9, { A2: 'held' }); // still a gap from 5: waits for the read, no second read
    fake.fire(9, 10, { A3: 'sold' });
    expect(fake.reads).toHaveLength(1);
    expect(f.last()?.map?.version).toBe(5);

    await fake.answer(9, { A1: 'held', A2: 'held', A3: 'free' });
    expect(f.last()?.map).toEqual({ version: 10, seats: { A1: 'held', A2: 'held', A3: 'sold' } });
    expect(fake.reads).toHaveLength(0);
  });

  it('never lets a slower, earlier read replace a map at a higher version', async () => {
    const fake = fakeClient();
    const f = follow(fake);
    f.follower.read(); // the first connect
    f.follower.read(); // a reconnect before the first answer
    await fake.answer(12, { A1: 'sold' }, 1);
    await fake.answer(9, { A1: 'held' }, 0);
    expect(f.last()?.map).toEqual({ version: 12, seats: { A1: 'sold' } });
  });

  it('keeps the map and reports the error when a read fails, then reads again on the next gap', async () => {
    const fake = fakeClient();
    const f = follow(fake);
    f.follower.read();
    await fake.answer(5, { A1: 'free' });
    fake.fire(6, 7, {});
    await fake.fail(new SdkError('STORE_UNAVAILABLE'));
    expect(f.last()).toMatchObject({ map: { version: 5 }, error: { code: 'STORE_UNAVAILABLE' } });

    fake.fire(7, 8, { A1: 'held' });
    expect(fake.reads).toHaveLength(1);
    await fake.answer(8, { A1: 'held' });
    expect(f.last()).toEqual({ map: { version: 8, seats: { A1: 'held' } }, error: undefined });
  });

  it('marks seats locally without changing the version', async () => {
    const fake = fakeClient();
    const f = follow(fake);
    f.follower.read();
    await fake.answer(5, { A1: 'free', A2: 'free' });
    f.follower.mark(['A2'], 'held');
    expect(f.last()?.map).toEqual({ version: 5, seats: { A1: 'free', A2: 'held' } });
    fake.fire(5, 6, { A1: 'sold' });
    expect(f.last()?.map).toEqual({ version: 6, seats: { A1: 'sold', A2: 'held' } });
  });

  it('stops listening and drops answers in flight once stopped', async () => {
    const fake = fakeClient();
    const f = follow(fake);
    f.follower.read();
    f.follower.stop();
    expect(fake.handlers.size).toBe(0);
    await fake.answer(5, { A1: 'free' });
    expect(f.changes).toHaveLength(0);
  });
});
