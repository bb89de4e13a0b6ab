import { describe, expect, it } from 'vitest';
import type { StaylineClient } from '../../src/client.ts';
import { SdkError } from '../../src/errors.ts';
import type { SeatMapResult, SeatUpdatePayload } from '../../src/protocol/index.ts';
import { followSeatMap, type FollowedSeatMap } from '../../src/seat-map-follower.ts';
import type { SeatMapOptions } from '../../src/seat-map.ts';
import { flushPromises } from '../support/fake-socket.ts';

interface PendingRead {
  eventId: string;
  options: SeatMapOptions | undefined;
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
    seatMap: (eventId: string, options?: SeatMapOptions) =>
      new Promise<SeatMapResult>((resolve, reject) => reads.push({ eventId, options, resolve, reject })),
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

  it('re-reads only the changes after its version, and keeps a section to its own seats', async () => {
    const fake = fakeClient();
    const changes: FollowedSeatMap[] = [];
    const follower = followSeatMap(fake.client, 'ev1', (f) => changes.push(f), {
      section: 'A',
      compact: true,
    });
    follower.read();
    expect(fake.reads[0]?.options).toEqual({ section: 'A', compact: true });
    await fake.answer(5, { 'A-1': 'free', 'A-2': 'free' });
    // An update about another section's seat changes nothing of this one.
    fake.fire(5, 6, { 'A-1': 'held', 'B-1': 'held' });
    expect(changes.at(-1)?.map).toEqual({ version: 6, seats: { 'A-1': 'held', 'A-2': 'free' } });
    // A gap: the re-read asks for what changed after the version it has, and applies the answer like an update.
    fake.fire(9, 10, { 'A-2': 'sold' });
    expect(fake.reads[0]?.options).toEqual({ section: 'A', compact: true, since: 6 });
    const read = fake.reads.shift()!;
    read.resolve({ eventId: 'ev1', version: 10, since: 6, seats: { 'A-2': 'sold' } });
    await flushPromises();
    expect(changes.at(-1)?.map).toEqual({ version: 10, seats: { 'A-1': 'held', 'A-2': 'sold' } });
    follower.stop();
  });
});
