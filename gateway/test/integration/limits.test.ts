import { describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { Ack, ProtocolErrorPayload, RoomResult } from '@stayline/client-sdk/protocol';
import { useGateway } from '../support/fixture.ts';
import { baseEnv } from '../support/gateway.ts';
import { nextEvent, request, waitFor } from '../support/wait.ts';

const SERVICE_TOKEN = 'limits-test-service-token-0123456789';

describe('per-socket limits', () => {
  const env = baseEnv({
    MAX_MESSAGE_BYTES: '1024',
    EVENTS_PER_SECOND: '5',
    EVENTS_BURST: '5',
    MAX_OUTBOUND_BUFFER_BYTES: String(256 * 1024),
    SERVICE_TOKEN,
  });
  const gw = useGateway(() => env);
  const open = async (sub: string): Promise<Socket> => (await gw.open(sub)).socket;
  const metric = (pattern: RegExp): Promise<number> => gw.metric(pattern);

  it('answers an oversized message with MESSAGE_TOO_LARGE and keeps serving the socket', async () => {
    const socket = await open('big-sender');
    const ack = await request<Ack<RoomResult>>(socket, 'room:join', { room: 'x', padding: 'p'.repeat(1500) });
    expect(ack).toMatchObject({ ok: false, error: { code: 'MESSAGE_TOO_LARGE', retryable: false } });
    await waitFor(
      async () => (await request<Ack<RoomResult>>(socket, 'room:join', { room: 'small' })).ok,
      3_000,
      'a normal join',
    );
  });

  it('judges each message by its own size when a small one follows a big one in the same tick', async () => {
    const socket = await open('burst-sender');
    const [big, small] = await Promise.all([
      request<Ack<RoomResult>>(socket, 'room:join', { room: 'big', padding: 'p'.repeat(1500) }),
      request<Ack<RoomResult>>(socket, 'room:join', { room: 'small-after-big' }),
    ]);
    expect(big).toMatchObject({ ok: false, error: { code: 'MESSAGE_TOO_LARGE' } });
    expect(small).toMatchObject({ ok: true, data: { room: 'small-after-big' } });
  });

  it('cuts a frame far over the limit at the engine without touching other sockets', async () => {
    const abuser = await open('frame-abuser');
    const bystander = await open('frame-bystander');
    const closed = nextEvent(abuser, 'disconnect');
    abuser.emit('room:join', { room: 'x', padding: 'p'.repeat(10_000) }, () => undefined);
    await closed;
    expect(bystander.connected).toBe(true);
    await waitFor(
      async () => (await request<Ack<RoomResult>>(bystander, 'room:join', { room: 'still-fine' })).ok,
      3_000,
      'bystander join',
    );
  });

  it('refuses events over the per-socket rate with RATE_LIMITED and a retry hint, sparing other sockets', async () => {
    const flooder = await open('flooder');
    const neighbour = await open('neighbour');
    const acks = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        request<Ack<RoomResult>>(flooder, 'room:join', { room: `flood-${i}` }),
      ),
    );
    const limited = acks.filter((a) => !a.ok);
    // The burst of 5, plus at most one token refilled while the 20 requests were being read.
    expect(acks.filter((a) => a.ok).length).toBeGreaterThanOrEqual(5);
    expect(limited.length).toBeGreaterThanOrEqual(14);
    for (const a of limited) {
      if (a.ok) continue;
      expect(a.error.code).toBe('RATE_LIMITED');
      expect(a.error.retryAfterMs).toBeGreaterThan(0);
    }
    expect((await request<Ack<RoomResult>>(neighbour, 'room:join', { room: 'calm' })).ok).toBe(true);
  });

  it('answers an unknown event and a request without an ack with protocol:error', async () => {
    const socket = await open('sloppy-client');
    // An unknown event with an ack is answered on the ack; without one, by protocol:error.
    const viaAck = await request<Ack<unknown>>(socket, 'nope:nothing', {});
    expect(viaAck).toMatchObject({ ok: false, error: { code: 'UNKNOWN_EVENT' } });
    const viaPush = nextEvent<ProtocolErrorPayload>(socket, 'protocol:error');
    socket.emit('nope:nothing', {});
    expect(await viaPush).toMatchObject({ code: 'UNKNOWN_EVENT', event: 'unknown' });
    const noAck = nextEvent<ProtocolErrorPayload>(socket, 'protocol:error');
    socket.emit('room:join', { room: 'no-ack' });
    expect(await noAck).toMatchObject({ code: 'ACK_REQUIRED', event: 'room:join' });
  });

  it('cuts off a client that stops reading once its outbound buffer passes the bound', async () => {
    const slow = await open('slow-reader');
    const healthy = await open('healthy-reader');
    const before = await metric(/stayline_disconnects_total\{[^}]*reason="SLOW_CONSUMER"[^}]*\} (\d+)/);
    // Stop reading at the TCP level: the kernel buffers fill, then the server's queue grows.
    const engine = slow.io.engine as unknown as { transport: { ws?: { _socket?: { pause(): void } } } };
    engine.transport.ws?._socket?.pause();
    let healthyGot = 0;
    healthy.on('news', () => healthyGot++);
    const chunk = 'x'.repeat(60_000);
    const publish = (userId: string): Promise<Response> =>
      fetch(`${gw.url}/v1/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVICE_TOKEN}` },
        body: JSON.stringify({ userId, event: 'news', data: chunk }),
      });
    await waitFor(
      async () => {
        for (let i = 0; i < 20; i++) expect((await publish('slow-reader')).status).toBe(202);
        return (
          (await metric(/stayline_disconnects_total\{[^}]*reason="SLOW_CONSUMER"[^}]*\} (\d+)/)) > before
        );
      },
      20_000,
      'the slow reader to be cut off',
    );
    expect((await publish('healthy-reader')).status).toBe(202);
    await waitFor(() => healthyGot > 0, 3_000, 'the healthy reader to get its message');
  });
});

describe('payload validation', () => {
  const env = baseEnv();
  const gw = useGateway(() => env);
  const open = async (sub: string): Promise<Socket> => (await gw.open(sub)).socket;

  it('answers an invalid payload with BAD_REQUEST and changes nothing', async () => {
    const socket = await open('bad-payload');
    for (const payload of [
      { room: '' },
      { room: 'has space' },
      { room: 42 },
      null,
      'room',
      { room: 'ok', extra: 1 },
    ]) {
      const ack = await request<Ack<RoomResult>>(socket, 'room:join', payload);
      expect(ack).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', retryable: false } });
    }
    const ok = await request<Ack<RoomResult>>(socket, 'room:join', { room: 'valid' });
    expect(ok).toEqual({
      ok: true,
      data: { room: 'valid', rooms: ['valid'], position: { epoch: expect.any(String) as string, offset: 0 } },
    });
  });
});
