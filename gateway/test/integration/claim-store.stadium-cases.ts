/**
 * Contract cases for stadium-size events (issue 15), run by claim-store.contract.test.ts against both
 * stores: a 100,000-seat event defined, redefined and read; seat maps and changes by section; deleting an
 * event (refused while busy unless forced, every key gone). Registers its cases in the caller's describe.
 */
import { expect, it } from 'vitest';
import { isGatewayError } from '../../src/errors/gateway-error.ts';
import type { ClaimStore, EventDefinition } from '../../src/session/claim-store.ts';

/** What the cases need of the contract suite's harness. */
export interface StadiumHarness {
  open(nodes?: number): Promise<ClaimStore[]>;
  passTime(ms: number): Promise<void>;
  /** Every key left with the event's hash tag (Redis: a SCAN; memory: none to leave). */
  keysOf(eventId: string): Promise<string[]>;
}

const def = (seats: string[], overrides: Partial<EventDefinition> = {}): EventDefinition => ({
  seats,
  requiresAdmission: false,
  admissionRatePerSecond: 0,
  maxSeatsPerUser: 4,
  holdSeconds: 300,
  ...overrides,
});

/** `S000-R00-00` … : `sections` sections of `perSection` seats (rows of 50), sorted. */
export function stadiumSeats(sections: number, perSection: number, prefix = 'S'): string[] {
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  const seats: string[] = [];
  for (let s = 0; s < sections; s++)
    for (let i = 0; i < perSection; i++)
      seats.push(`${prefix}${pad(s, 3)}-R${pad(Math.floor(i / 50), 2)}-${pad(i % 50, 2)}`);
  return seats;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (isGatewayError(err)) return err.code;
    throw err;
  }
  return 'resolved';
}

export function stadiumCases(harness: StadiumHarness): void {
  it('defines, redefines and reads an event of 100,000 seats', async () => {
    const [s] = await harness.open();
    const seats = stadiumSeats(100, 1000);
    expect(await s!.defineEvent('big', def(seats, { sectionSeparator: '-' }))).toEqual({
      created: true,
      seats: 100_000,
    });
    expect(await s!.hold('u1', 'big', ['S000-R00-00', 'S099-R19-49'], false)).toMatchObject({ ok: true });
    const map = await s!.seatMap('big');
    expect(Object.keys(map.seats)).toHaveLength(100_000);
    expect(map.seats['S099-R19-49']).toBe('held');
    // Redefined: the last section replaced by another (its held seat kept), the separator dropped.
    const changed = [...seats.slice(0, 99_000), ...stadiumSeats(1, 1000, 'T'), 'S099-R19-49'];
    expect(await s!.defineEvent('big', def(changed))).toEqual({ created: false, seats: 100_001 });
    const after = await s!.seatMap('big');
    expect(after.version).toBeGreaterThan(map.version);
    expect(Object.keys(after.seats)).toHaveLength(100_001);
    expect(after.seats['S099-R00-00']).toBeUndefined();
    expect(after.seats['T000-R19-49']).toBe('free');
    expect(after.seats['S099-R19-49']).toBe('held');
    expect((await s!.getEvent('big'))?.seats).toHaveLength(100_001);
    // And back to sections, the same seats: a change of separator is a new layout for followers.
    await s!.defineEvent('big', def(changed, { sectionSeparator: '-' }));
    expect((await s!.seatChanges('big', after.version)).complete).toBe(false);
    expect(Object.keys((await s!.seatMap('big', 'T000')).seats)).toHaveLength(1000);
  }, 120_000);

  it('reads the seats and the changes of one section; refuses a section of an event without sections', async () => {
    const [s] = await harness.open();
    await s!.defineEvent('sec', def(['A-1', 'A-2', 'AB-1', 'B-1', 'B-2'], { sectionSeparator: '-' }));
    expect((await s!.getEvent('sec'))?.sectionSeparator).toBe('-');
    const start = await s!.seatMap('sec', 'A');
    expect(start.seats).toEqual({ 'A-1': 'free', 'A-2': 'free' });
    expect((await s!.seatMap('sec', 'Z')).seats).toEqual({});
    await s!.hold('u1', 'sec', ['A-2', 'B-1', 'AB-1'], false);
    expect(await s!.seatMap('sec', 'A')).toEqual({
      version: (await s!.seatMap('sec')).version,
      seats: { 'A-1': 'free', 'A-2': 'held' },
    });
    expect((await s!.seatChanges('sec', start.version, 'A')).seats).toEqual({ 'A-2': 'held' });
    expect((await s!.seatChanges('sec', start.version, 'B')).seats).toEqual({ 'B-1': 'held' });
    expect((await s!.seatChanges('sec', start.version)).seats).toEqual({
      'A-2': 'held',
      'AB-1': 'held',
      'B-1': 'held',
    });
    await s!.defineEvent('flat', def(['A-1']));
    expect((await s!.getEvent('flat'))?.sectionSeparator).toBeUndefined();
    expect(await codeOf(s!.seatMap('flat', 'A'))).toBe('BAD_REQUEST');
    expect(await codeOf(s!.seatChanges('flat', 0, 'A'))).toBe('BAD_REQUEST');
  });

  it('deletes an event with every key of it; refused while busy unless forced; EVENT_UNKNOWN when missing', async () => {
    const [s] = await harness.open();
    await s!.defineEvent('del', def(['A1', 'A2', 'A3']));
    const held = await s!.hold('u1', 'del', ['A1'], false, { requestId: 'r1', resultTtlMs: 60_000 });
    if (!held.ok) throw new Error('hold failed');
    await s!.confirm('u1', 'del', ['A1'], held.hold.fence);
    await s!.hold('u2', 'del', ['A2'], false);
    await s!.joinQueue('u3', 'del');
    expect(await codeOf(s!.deleteEvent('del', { force: false }))).toBe('EVENT_BUSY');
    expect((await s!.seatMap('del')).seats).toEqual({ A1: 'sold', A2: 'held', A3: 'free' });
    expect(await s!.deleteEvent('del', { force: true })).toEqual({ heldUsers: 1, queued: 1, admitted: 0 });
    expect(await s!.getEvent('del')).toBeNull();
    expect(await s!.listEvents()).not.toContain('del');
    expect(await codeOf(s!.seatMap('del'))).toBe('EVENT_UNKNOWN');
    expect(await harness.keysOf('del')).toEqual([]);
    expect(await codeOf(s!.deleteEvent('del', { force: false }))).toBe('EVENT_UNKNOWN');
    // Sold seats and expired holds do not keep an event; defined again, it starts afresh. Its fences keep
    // growing by the clock part alone (the last fence went with the event): a millisecond later is enough.
    await harness.passTime(5);
    await s!.defineEvent('del', def(['A1', 'A2'], { holdSeconds: 1 }));
    expect((await s!.seatMap('del')).seats).toEqual({ A1: 'free', A2: 'free' });
    const again = await s!.hold('u1', 'del', ['A1'], false);
    if (!again.ok) throw new Error('hold failed');
    await s!.confirm('u1', 'del', ['A1'], again.hold.fence);
    expect(again.hold.fence).toBeGreaterThan(held.hold.fence);
    await s!.hold('u2', 'del', ['A2'], false);
    await harness.passTime(1100);
    expect(await s!.deleteEvent('del', { force: false })).toEqual({ heldUsers: 0, queued: 0, admitted: 0 });
    expect(await harness.keysOf('del')).toEqual([]);
  });
}
