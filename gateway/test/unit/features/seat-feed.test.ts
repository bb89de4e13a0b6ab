/**
 * The seat feed over a real (embedded) claim store: one coalesced update per event per round, in version
 * order, covering every change after a follower's map read; events that fail do not hold up the others.
 */
import { describe, expect, it } from 'vitest';
import type { SeatUpdatePayload } from '@stayline/client-sdk/protocol';
import { GatewayError } from '../../../src/errors/gateway-error.ts';
import type { ClaimStore, EventDefinition } from '../../../src/session/claim-store.ts';
import { MemoryClaimStore } from '../../../src/session/memory-claim-store.ts';
import { SeatFeed } from '../../../src/features/seats/seat-feed.ts';

const def = (seats: string[]): EventDefinition => ({
  seats,
  requiresAdmission: false,
  admissionRatePerSecond: 0,
  maxSeatsPerUser: 10,
  holdSeconds: 300,
});

function setup(store: Pick<ClaimStore, 'seatChanges'> = memoryStore()) {
  const sent: SeatUpdatePayload[] = [];
  const feed = new SeatFeed({ store, isEvent: () => true, emit: (_e, p) => sent.push(p) });
  return { feed, sent };
}

function memoryStore(): MemoryClaimStore {
  return new MemoryClaimStore({
    limits: { holdSeconds: 300, admissionTtlSeconds: 60, sessionCheckSeconds: 30 },
    sessionAlive: () => Promise.resolve(true),
  });
}

const settle = () => new Promise((r) => setImmediate(r));

describe('SeatFeed', () => {
  it('sends nothing until something changes, then one update per round with each seat`s latest status', async () => {
    const store = memoryStore();
    await store.defineEvent('ev', def(['A', 'B', 'C']));
    const { feed, sent } = setup(store);
    feed.follow('ev');
    await settle();
    expect(await feed.tick()).toBe(0);
    const before = (await store.seatMap('ev')).version;
    await store.hold('u1', 'ev', ['A', 'B'], false);
    await store.release('u1', 'ev', ['A']);
    await store.hold('u2', 'ev', ['C'], false);
    expect(await feed.tick()).toBe(1);
    const after = (await store.seatMap('ev')).version;
    expect(sent).toEqual([
      { eventId: 'ev', since: before, version: after, seats: { A: 'free', B: 'held', C: 'held' } },
    ]);
    expect(await feed.tick()).toBe(0);
    await store.release('u2', 'ev', ['C']);
    await feed.tick();
    expect(sent[1]).toEqual({ eventId: 'ev', since: after, version: after + 1, seats: { C: 'free' } });
  });

  it('covers every change after a follower`s map read, even one older than what was already sent', async () => {
    const store = memoryStore();
    await store.defineEvent('ev', def(['A', 'B']));
    const { feed, sent } = setup(store);
    feed.follow('ev');
    await settle();
    const old = await store.seatMap('ev');
    await store.hold('u1', 'ev', ['A'], false);
    await feed.tick(); // sent A held to the followers so far
    feed.mapRead('ev', old.version); // a new follower read the map before that change
    await store.hold('u2', 'ev', ['B'], false);
    await feed.tick();
    expect(sent.at(-1)).toMatchObject({ since: old.version, seats: { A: 'held', B: 'held' } });
    feed.mapRead('ev', (await store.seatMap('ev')).version + 5); // newer than the cursor: no step forward
    await store.release('u2', 'ev', ['B']);
    await feed.tick();
    expect(sent.at(-1)).toMatchObject({ seats: { B: 'free' } });
    expect(sent.at(-1)!.since).toBe(sent.at(-2)!.version);
  });

  it('tells followers to re-read when the log cannot cover the gap (seat set redefined)', async () => {
    const store = memoryStore();
    await store.defineEvent('ev', def(['A']));
    const { feed, sent } = setup(store);
    feed.follow('ev');
    await settle();
    await store.defineEvent('ev', def(['A', 'B']));
    await feed.tick();
    const { version } = await store.seatMap('ev');
    expect(sent).toEqual([{ eventId: 'ev', since: version, version, seats: {} }]);
  });

  it('stops reading an event nobody here follows; an unknown event does not hold up the others', async () => {
    const store = memoryStore();
    await store.defineEvent('ev', def(['A']));
    const { feed, sent } = setup(store);
    feed.follow('ev');
    feed.follow('never-defined');
    await settle();
    await store.hold('u1', 'ev', ['A'], false);
    expect(await feed.tick()).toBe(1);
    feed.unfollow('ev');
    feed.mapRead('ev', 0); // a late map read does not follow again
    await store.release('u1', 'ev', ['A']);
    expect(await feed.tick()).toBe(0);
    expect(sent).toHaveLength(1);
  });

  it('keeps the cursor when the store fails, and rethrows the failure after the round', async () => {
    const store = memoryStore();
    await store.defineEvent('ev', def(['A']));
    let down = false;
    const flaky: Pick<ClaimStore, 'seatChanges'> = {
      seatChanges: (e, after) =>
        down ? Promise.reject(new GatewayError('STORE_UNAVAILABLE')) : store.seatChanges(e, after),
    };
    const { feed, sent } = setup(flaky);
    feed.follow('ev');
    await settle();
    const start = (await store.seatMap('ev')).version;
    await store.hold('u1', 'ev', ['A'], false);
    down = true;
    await expect(feed.tick()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    down = false;
    await feed.tick();
    expect(sent).toEqual([{ eventId: 'ev', since: start, version: start + 1, seats: { A: 'held' } }]);
  });
});
