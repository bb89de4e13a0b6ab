import { describe, expect, it } from 'vitest';
import {
  describeChange,
  fromRestored,
  heldSeats,
  lossBetween,
  withAdmission,
  withHold,
  withoutSeats,
  withQueuePlace,
} from '../../src/session.ts';

const base = fromRestored({
  recovered: false,
  rooms: ['a', 'b'],
  expiresAt: 1,
  queues: [],
  holds: [],
  gaps: [],
  gapReasons: {},
  positions: {},
});

describe('session model', () => {
  it('never lists a seat twice: a new hold takes its seats out of older ones', () => {
    let s = withHold(base, { eventId: 'ev', seatIds: ['A1', 'A2'], expiresAt: 1, fence: 1 });
    s = withHold(s, { eventId: 'ev', seatIds: ['A2', 'A3'], expiresAt: 2, fence: 2 });
    expect(heldSeats(s, 'ev').sort()).toEqual(['A1', 'A2', 'A3']);
    s = withoutSeats(s, 'ev', ['A1']);
    expect(s.holds).toEqual([{ eventId: 'ev', seatIds: ['A2', 'A3'], expiresAt: 2, fence: 2 }]);
  });

  it('counts rooms, queue places and seats missing after a restore as lost, but not an admission', () => {
    let before = withQueuePlace(base, { eventId: 'q1', position: 1, size: 2 });
    before = withQueuePlace(before, { eventId: 'q2', position: 5, size: 9 });
    before = withHold(before, { eventId: 'ev', seatIds: ['A1'], expiresAt: 1, fence: 1 });
    const after = withAdmission(
      fromRestored(
        {
          recovered: true,
          rooms: ['a'],
          expiresAt: 2,
          queues: [],
          holds: [],
          gaps: [],
          gapReasons: {},
          positions: {},
        },
        before,
      ),
      { eventId: 'q1', admissionToken: 't', expiresAt: 9 },
    );
    expect(lossBetween(before, after)).toEqual({
      rooms: ['b'],
      queues: ['q2'],
      seats: [{ eventId: 'ev', seatIds: ['A1'] }],
    });
  });

  it('treats queue position 0 (already admitted) as out of the queue', () => {
    const queued = withQueuePlace(base, { eventId: 'q1', position: 2, size: 5 });
    expect(withQueuePlace(queued, { eventId: 'q1', position: 0, size: 4 }).queues).toEqual({});
  });

  it('reports no loss for changes the user asked for, and none on the first restore', () => {
    const left = { ...base, rooms: [] };
    expect(describeChange('call', base, left).lostAnything).toBe(false);
    expect(describeChange('session:restored', undefined, base).lostAnything).toBe(false);
    expect(describeChange('room:left', base, left).lost.rooms).toEqual([]);
  });
});
