import { describe, expect, it } from 'vitest';
import type { SeatUpdatePayload } from '../../src/protocol/index.ts';
import { applySeatUpdate, type VersionedSeatMap } from '../../src/seat-map.ts';

const map: VersionedSeatMap = { version: 5, seats: { A1: 'free', A2: 'held', A3: 'free' } };
const update = (since: number, version: number, seats: SeatUpdatePayload['seats']): SeatUpdatePayload => ({
  eventId: 'ev1',
  since,
  version,
  seats,
});

describe('applySeatUpdate', () => {
  it('ignores an update the map already has (version <= the map version)', () => {
    expect(applySeatUpdate(map, update(4, 5, { A1: 'sold' }))).toEqual({ kind: 'stale' });
    expect(applySeatUpdate(map, update(2, 3, { A1: 'sold' }))).toEqual({ kind: 'stale' });
  });

  it('applies a contiguous update (since = the map version) and takes its version', () => {
    expect(applySeatUpdate(map, update(5, 7, { A1: 'held', A2: 'free' }))).toEqual({
      kind: 'applied',
      map: { version: 7, seats: { A1: 'held', A2: 'free', A3: 'free' } },
    });
  });

  it('applies an overlapping update (since < the map version < version)', () => {
    expect(applySeatUpdate(map, update(3, 6, { A2: 'held', A3: 'sold' }))).toEqual({
      kind: 'applied',
      map: { version: 6, seats: { A1: 'free', A2: 'held', A3: 'sold' } },
    });
  });

  it('takes an empty contiguous update as a version bump', () => {
    expect(applySeatUpdate(map, update(5, 6, {}))).toEqual({
      kind: 'applied',
      map: { version: 6, seats: map.seats },
    });
  });

  it('reports a gap when changes after the map version were missed (since > the map version)', () => {
    expect(applySeatUpdate(map, update(6, 8, { A1: 'held' }))).toEqual({ kind: 'gap' });
    expect(applySeatUpdate(map, update(9, 12, {}))).toEqual({ kind: 'gap' });
  });

  it('never mutates the map or the update, and returns a new map', () => {
    const before = structuredClone(map);
    const u = update(5, 6, { A1: 'sold' });
    const uBefore = structuredClone(u);
    const outcome = applySeatUpdate(map, u);
    expect(outcome.kind).toBe('applied');
    if (outcome.kind !== 'applied') return;
    expect(outcome.map).not.toBe(map);
    expect(outcome.map.seats).not.toBe(map.seats);
    expect(outcome.map.seats).not.toBe(u.seats);
    expect(map).toEqual(before);
    expect(u).toEqual(uBefore);
  });

  it('works on a frozen map', () => {
    const frozen: VersionedSeatMap = Object.freeze({ version: 1, seats: Object.freeze({ A1: 'free' }) });
    expect(applySeatUpdate(frozen, update(1, 2, { A1: 'held' }))).toEqual({
      kind: 'applied',
      map: { version: 2, seats: { A1: 'held' } },
    });
  });
});
