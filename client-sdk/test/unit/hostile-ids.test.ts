/**
 * Ids that name Object.prototype's own members, as event and seat ids: the SDK keys maps by them, and on a
 * plain object `obj['__proto__'] = x` changes the prototype instead of adding an entry, while
 * `obj['toString']` finds a function where there is no entry. Payloads here are built with JSON.parse,
 * as socket.io-client delivers them (own `__proto__` keys; an object literal would not make one).
 */
import { createElement, type ReactElement } from 'react';
import { renderToString } from 'react-dom/server';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type StaylineClient } from '../../src/client.ts';
import type { ConnectionState } from '../../src/connection-machine.ts';
import type { RestoredSession, SeatMapResult, SeatUpdatePayload } from '../../src/protocol/index.ts';
import { StaylineProvider, useQueue } from '../../src/react/index.ts';
import { applySeatUpdate, type VersionedSeatMap } from '../../src/seat-map.ts';
import { followSeatMap, type FollowedSeatMap } from '../../src/seat-map-follower.ts';
import {
  fromRestored,
  lossBetween,
  withAdmission,
  withoutQueue,
  withQueuePlace,
  type ClientSession,
} from '../../src/session.ts';
import { FakeSocket, ManualTimers, flushPromises } from '../support/fake-socket.ts';

const HOSTILE = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'] as const;
const sorted = (xs: readonly string[]): string[] => [...xs].sort();
/** What the socket.io decoder hands the SDK: JSON.parse of the wire text. */
const wire = <T>(value: unknown): T => JSON.parse(JSON.stringify(value)) as T;
/** A seats object with every hostile id as an own key, as it arrives from the wire. */
const seatsText = (
  status: string,
  extra: Record<string, string> = {},
): Record<string, 'free' | 'held' | 'sold'> =>
  JSON.parse(
    `{${[...HOSTILE.map((id) => `${JSON.stringify(id)}:${JSON.stringify(status)}`), ...Object.entries(extra).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)].join(',')}}`,
  ) as Record<string, 'free' | 'held' | 'sold'>;

/** `record[id]` with `id` typed as any string (a literal 'toString' would type as Object's method). */
const at = <V>(record: Readonly<Record<string, V>> | undefined, id: string): V | undefined => record?.[id];

const unpolluted = (): void => {
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('held');
};

afterEach(unpolluted);

describe('seat maps with hostile seat ids', () => {
  it('applySeatUpdate keeps every id as an entry and reads absent ids as undefined', () => {
    const map: VersionedSeatMap = { version: 1, seats: seatsText('free', { A1: 'free' }) };
    const update: SeatUpdatePayload = { eventId: 'ev', since: 1, version: 2, seats: seatsText('held') };
    const outcome = applySeatUpdate(map, update);
    expect(outcome.kind).toBe('applied');
    if (outcome.kind !== 'applied') return;
    const seats = outcome.map.seats;
    expect(sorted(Object.keys(seats))).toEqual(sorted(['A1', ...HOSTILE]));
    for (const id of HOSTILE) expect(at(seats, id), id).toBe('held');
    expect(at(seats, 'A1')).toBe('free');

    // A map without those seats has no entry for them: not Object.prototype's members.
    const plain = applySeatUpdate(
      { version: 1, seats: { A1: 'free' } },
      { ...update, seats: { A1: 'sold' } },
    );
    if (plain.kind !== 'applied') throw new Error(plain.kind);
    for (const id of HOSTILE) expect(at(plain.map.seats, id), id).toBeUndefined();
  });

  it('followSeatMap reads, applies and marks __proto__ and toString like any seat', async () => {
    const handlers = new Set<(u: SeatUpdatePayload) => void>();
    let answer: (r: SeatMapResult) => void = () => undefined;
    const client: Pick<StaylineClient, 'on' | 'seatMap'> = {
      on: ((_e: string, h: (u: SeatUpdatePayload) => void) => {
        handlers.add(h);
        return () => handlers.delete(h);
      }) as StaylineClient['on'],
      seatMap: () => new Promise<SeatMapResult>((resolve) => (answer = resolve)),
    };
    const seen: FollowedSeatMap[] = [];
    const follower = followSeatMap(client, 'ev', (f) => seen.push(f));
    follower.read();
    answer({ eventId: 'ev', version: 3, seats: seatsText('free') });
    await flushPromises();
    const seatsNow = () => seen.at(-1)?.map?.seats ?? {};
    expect(sorted(Object.keys(seatsNow()))).toEqual(sorted(HOSTILE));

    for (const h of handlers) h(wire({ eventId: 'ev', since: 3, version: 4, seats: { toString: 'sold' } }));
    expect(at(seatsNow(), 'toString')).toBe('sold');
    for (const h of handlers)
      h({ eventId: 'ev', since: 4, version: 5, seats: JSON.parse('{"__proto__":"sold"}') });
    expect(at(seatsNow(), '__proto__')).toBe('sold');

    follower.mark(['__proto__', 'constructor'], 'held');
    expect(Object.hasOwn(seatsNow(), '__proto__')).toBe(true);
    expect(at(seatsNow(), '__proto__')).toBe('held');
    expect(at(seatsNow(), 'constructor')).toBe('held');
    expect(sorted(Object.keys(seatsNow()))).toEqual(sorted(HOSTILE));
    follower.stop();
  });

  it('followSeatMap marks a __proto__ seat its map did not list yet (the event was redefined since)', async () => {
    let answer: (r: SeatMapResult) => void = () => undefined;
    const client: Pick<StaylineClient, 'on' | 'seatMap'> = {
      on: () => () => undefined,
      seatMap: () => new Promise<SeatMapResult>((resolve) => (answer = resolve)),
    };
    const seen: FollowedSeatMap[] = [];
    const follower = followSeatMap(client, 'ev', (f) => seen.push(f));
    follower.read();
    answer({ eventId: 'ev', version: 3, seats: { A1: 'free' } });
    await flushPromises();
    follower.mark(['__proto__', 'toString'], 'held');
    const seats = seen.at(-1)?.map?.seats ?? {};
    expect(sorted(Object.keys(seats))).toEqual(['A1', '__proto__', 'toString']);
    expect(at(seats, '__proto__')).toBe('held');
    expect(at(seats, 'constructor')).toBeUndefined();
    follower.stop();
  });
});

describe('the session with hostile event ids', () => {
  const restored = (queues: RestoredSession['queues']): RestoredSession =>
    wire({ recovered: true, rooms: [], expiresAt: 1, queues, holds: [] });
  const places = HOSTILE.map((eventId, i) => ({ eventId, position: i + 1, size: 10 }));

  it('keeps a queue place per event id, whatever the id, and reports each as lost when it is gone', () => {
    const before = fromRestored(restored(places));
    expect(sorted(Object.keys(before.queues))).toEqual(sorted(HOSTILE));
    for (const p of places) expect(at(before.queues, p.eventId)).toEqual(p);
    const after = fromRestored(restored([]), before);
    for (const id of HOSTILE) expect(at(after.queues, id), id).toBeUndefined();
    expect(sorted(lossBetween(before, after).queues)).toEqual(sorted(HOSTILE));
  });

  it('adds and removes places and admissions keyed __proto__ and toString', () => {
    let s = fromRestored(restored([]));
    s = withQueuePlace(s, { eventId: '__proto__', position: 2, size: 3 });
    s = withQueuePlace(s, { eventId: 'toString', position: 1, size: 3 });
    expect(sorted(Object.keys(s.queues))).toEqual(['__proto__', 'toString']);
    s = withoutQueue(s, '__proto__');
    expect(Object.keys(s.queues)).toEqual(['toString']);
    s = withAdmission(s, { eventId: 'toString', admissionToken: 't', expiresAt: 9 });
    expect(Object.keys(s.queues)).toEqual([]);
    expect(at(s.admissions, 'toString')?.admissionToken).toBe('t');
    s = withAdmission(s, { eventId: '__proto__', admissionToken: 'p', expiresAt: 9 });
    expect(sorted(Object.keys(s.admissions))).toEqual(['__proto__', 'toString']);
    expect(at(s.admissions, '__proto__')?.admissionToken).toBe('p');
  });

  it('useQueue finds no place for an event named toString the user is not queued for', () => {
    const session: ClientSession = fromRestored(restored([{ eventId: 'ev1', position: 1, size: 1 }]));
    const state: ConnectionState = {
      status: 'connected',
      lastError: undefined,
      attempt: 0,
      retryAt: undefined,
    };
    const client = {
      state,
      session,
      onStateChange: () => () => undefined,
      onSessionChange: () => () => undefined,
    } as unknown as StaylineClient;
    function Probe(): ReactElement {
      const views = HOSTILE.map((id) => useQueue(id));
      return createElement('p', null, views.map((v) => `${typeof v.place}/${typeof v.admission}`).join(','));
    }
    const html = renderToString(createElement(StaylineProvider, { client }, createElement(Probe)));
    expect(html).toBe(`<p>${HOSTILE.map(() => 'undefined/undefined').join(',')}</p>`);
  });
});

describe('the client with hostile ids', () => {
  let client: StaylineClient | undefined;
  afterEach(() => client?.close());

  it('answers seatMap with a map whose hostile seat ids are entries, and sends the admission of __proto__', async () => {
    const timers = new ManualTimers();
    let socket: FakeSocket | undefined;
    client = createClient({
      url: 'http://gateway.test',
      getToken: () => Promise.resolve('token'),
      timers,
      now: timers.now,
      random: () => 0.5,
      socketFactory: ((_url: string, opts: Record<string, unknown>) =>
        (socket = new FakeSocket(opts))) as never,
    });
    await flushPromises();
    const sock = (): FakeSocket => {
      if (socket === undefined) throw new Error('no socket');
      return socket;
    };
    sock().accept();
    sock().fire(
      'session:restored',
      wire({ recovered: false, rooms: [], expiresAt: 2e6, queues: [], holds: [] }),
    );
    sock().fire('queue:admitted', JSON.parse('{"eventId":"__proto__","admissionToken":"adm","expiresAt":3}'));

    const map = client.seatMap('__proto__');
    const read = sock().sent.at(-1);
    read?.ack({ ok: true, data: { eventId: '__proto__', version: 1, seats: seatsText('free') } });
    const result = await map;
    expect(sorted(Object.keys(result.seats))).toEqual(sorted(HOSTILE));
    expect(at(result.seats, '__proto__')).toBe('free');
    expect(at(result.seats, 'A1')).toBeUndefined();
    // A map without such seats: reading them finds nothing, not Object.prototype's members.
    const small = client.seatMap('ev2');
    sock()
      .sent.at(-1)
      ?.ack({ ok: true, data: { eventId: 'ev2', version: 1, seats: { A1: 'free' } } });
    const smallMap = await small;
    for (const id of HOSTILE) expect(at(smallMap.seats, id), id).toBeUndefined();

    const hold = client.holdSeats('__proto__', ['toString']);
    const sent = sock().sent.at(-1);
    expect(sent?.payload).toMatchObject({
      eventId: '__proto__',
      seatIds: ['toString'],
      admissionToken: 'adm',
    });
    sent?.ack({ ok: true, data: { eventId: '__proto__', seatIds: ['toString'], expiresAt: 9, fence: 1 } });
    await hold;
    expect(client.session?.holds).toEqual([
      { eventId: '__proto__', seatIds: ['toString'], expiresAt: 9, fence: 1 },
    ]);
  });
});
