/**
 * Stadium-size events through a real gateway, with each store (issue 15): a 100,000-seat event defined and
 * read over the wire, `seat:map` by section, compact and `since` (the first read of a follower within
 * 64 KB), and `DELETE /v1/events/:eventId` (EVENT_BUSY unless forced; followers' next read EVENT_UNKNOWN).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import { toSeatMap } from '@stayline/client-sdk';
import type { Ack, SeatHold, SeatMapCompactResult, SeatMapResult } from '@stayline/client-sdk/protocol';
import { useGateway } from '../support/fixture.ts';
import { baseEnv } from '../support/gateway.ts';
import { service } from '../support/claims.ts';
import { startRedis, type RedisProcess } from '../support/redis.ts';
import { request } from '../support/wait.ts';
import { stadiumSeats } from './claim-store.stadium-cases.ts';

const SERVICE_TOKEN = 'stadium-service-token-0123456789abcdef';
type MapAck = Ack<SeatMapResult | SeatMapCompactResult>;
/** The wire size of an ack's payload, as JSON (what socket.io sends, give or take the frame). */
const wireBytes = (ack: unknown): number => Buffer.byteLength(JSON.stringify(ack));

for (const kind of ['memory', 'redis'] as const) {
  describe(`stadium-size events (${kind} store)`, () => {
    let redis: RedisProcess | undefined;
    // Registered first so that it runs after the gateway's own afterAll (vitest runs after-hooks as a stack).
    afterAll(() => redis?.stop());
    // The default MAX_OUTBOUND_BUFFER_BYTES (1 MiB): the whole map of 100,000 seats (about 2 MB) is refused.
    const gw = useGateway(async () => {
      if (kind === 'redis') redis = await startRedis();
      return baseEnv({ SERVICE_TOKEN, ...(redis ? { REDIS_URL: redis.url } : {}) });
    });
    const open = async (sub: string) => (await gw.open(sub)).socket;
    const map = (socket: Socket, payload: object) =>
      request<MapAck>(socket, 'seat:map', payload, 30_000).then((ack) => {
        if (!ack.ok) throw new Error(`seat:map refused: ${ack.error.code}`);
        return ack;
      });

    it('defines and reads a 100,000-seat event; a section in the compact encoding is under 64 KB', async () => {
      const api = service(gw.url, SERVICE_TOKEN);
      const seats = stadiumSeats(100, 1000);
      const put = await api.defineEvent('arena', { seats, sectionSeparator: '-' });
      expect(put).toMatchObject({ status: 201, body: { ok: true, data: { seats: 100_000 } } });
      const fan = await open('fan');
      // The whole map would be over half the outbound limit (and cut the socket): a clear refusal instead,
      // in full and in compact, and the connection carries on.
      for (const format of ['full', 'compact'] as const) {
        const whole = await request<MapAck>(fan, 'seat:map', { eventId: 'arena', format }, 30_000);
        expect(whole).toMatchObject({ ok: false, error: { code: 'SEAT_MAP_TOO_LARGE' } });
      }
      const first = await map(fan, { eventId: 'arena', section: 'S042', format: 'compact' });
      expect(wireBytes(first)).toBeLessThan(64 * 1024);
      const compact = first.data as SeatMapCompactResult;
      expect(compact).toMatchObject({ format: 'compact', section: 'S042' });
      // Every section read in turn is the whole stadium: 100 reads of at most 64 KB each.
      let seen = 0;
      for (let i = 0; i < 100; i += 1) {
        const part = await map(fan, {
          eventId: 'arena',
          section: `S${String(i).padStart(3, '0')}`,
          format: 'compact',
        });
        seen += (part.data as SeatMapCompactResult).seatIds.length;
      }
      expect(seen).toBe(100_000);
      expect(compact.seatIds).toHaveLength(1000);
      expect(compact.statuses).toBe('f'.repeat(1000));
      const hold = await request<Ack<SeatHold>>(fan, 'seat:hold', {
        eventId: 'arena',
        seatIds: ['S042-R00-01', 'S007-R03-03'],
      });
      expect(hold.ok).toBe(true);
      // The SDK's decoding: the compact section, expanded, shows the hold.
      const after = toSeatMap(
        (await map(fan, { eventId: 'arena', section: 'S042', format: 'compact' })).data,
      );
      expect(after.seats['S042-R00-01']).toBe('held');
      expect(Object.keys(after.seats)).toHaveLength(1000);
      // Later reads: only what changed after the version the follower has, by section too.
      const since = (await map(fan, { eventId: 'arena', section: 'S042', since: compact.version })).data;
      expect(since).toEqual({
        eventId: 'arena',
        version: after.version,
        section: 'S042',
        since: compact.version,
        seats: { 'S042-R00-01': 'held' },
      });
      const all = (await map(fan, { eventId: 'arena', since: compact.version })).data as SeatMapResult;
      expect(all.seats).toEqual({ 'S042-R00-01': 'held', 'S007-R03-03': 'held' });
      // A version the log cannot answer from (ahead of the event) gets the whole section instead.
      const ahead = (await map(fan, { eventId: 'arena', section: 'S007', since: 10 ** 9 })).data;
      expect(ahead).not.toHaveProperty('since');
      expect(Object.keys((ahead as SeatMapResult).seats)).toHaveLength(1000);
      const refused = await request<MapAck>(fan, 'seat:map', { eventId: 'arena', format: 'tiny' });
      expect(refused).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
      const unsectioned = await api.defineEvent('flat', { seats: ['A1'] });
      expect(unsectioned.status).toBe(201);
      // The old request still answers the old shape.
      expect(Object.keys(await map(fan, { eventId: 'flat' }).then((a) => a.data))).toEqual([
        'eventId',
        'version',
        'seats',
      ]);
      const noSections = await request<MapAck>(fan, 'seat:map', { eventId: 'flat', section: 'A' });
      expect(noSections).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
      const outside = await api.defineEvent('bad', { seats: ['A-1', 'B2'], sectionSeparator: '-' });
      expect(outside).toMatchObject({ status: 400, body: { ok: false, error: { code: 'BAD_REQUEST' } } });
    }, 120_000);

    it('deletes an event: 409 EVENT_BUSY while held, forced 200, then reads answer EVENT_UNKNOWN', async () => {
      const api = service(gw.url, SERVICE_TOKEN);
      await api.defineEvent('gone', { seats: ['G1', 'G2'] });
      const holder = await open('gone-holder');
      expect(
        (await request<Ack<SeatHold>>(holder, 'seat:hold', { eventId: 'gone', seatIds: ['G1'] })).ok,
      ).toBe(true);
      expect(await api.deleteEvent('gone')).toMatchObject({
        status: 409,
        body: { ok: false, error: { code: 'EVENT_BUSY' } },
      });
      expect(await api.deleteEvent('gone', '?force=maybe')).toMatchObject({ status: 400 });
      expect(await api.deleteEvent('gone', '?force=true')).toEqual({
        status: 200,
        body: { ok: true, data: { eventId: 'gone', deleted: true, heldUsers: 1, queued: 0, admitted: 0 } },
      });
      const read = await request<MapAck>(holder, 'seat:map', { eventId: 'gone' });
      expect(read).toMatchObject({ ok: false, error: { code: 'EVENT_UNKNOWN' } });
      expect(await api.deleteEvent('gone')).toMatchObject({
        status: 404,
        body: { ok: false, error: { code: 'EVENT_UNKNOWN' } },
      });
      const unauthorized = await fetch(`${gw.url}/v1/events/gone`, { method: 'DELETE' });
      expect(unauthorized.status).toBe(401);
    });
  });
}
