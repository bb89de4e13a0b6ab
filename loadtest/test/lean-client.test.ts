/**
 * The lean client and socket.io-client, against the same real gateway, doing the same things, see the
 * same thing: the same session:restored (fresh, then recovered with the rooms), the same acks for a good
 * and a bad room:join and for a request the server may not serve, and the same error for a bad token.
 * The SDK (which wraps socket.io-client) is held to the same answers through its own API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import {
  baseEnv,
  connect,
  startGateway,
  tokenFor,
  type RunningGateway,
} from '../../gateway/test/support/gateway.ts';
import { waitFor } from '../../gateway/test/support/wait.ts';
import {
  createClient,
  SdkError,
  type SessionChange,
  type StaylineClient,
} from '../../client-sdk/src/index.ts';
import { LeanClient } from '../src/lean-client.ts';

let gw: RunningGateway;
const env = baseEnv();

beforeAll(async () => {
  gw = await startGateway(env);
});
afterAll(async () => {
  await gw.stop();
});

/** Removes what differs by user and clock so two users' answers compare. */
const normalise = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value), (key, v: unknown) =>
    key === 'expiresAt' && typeof v === 'number' ? 'T' : v,
  );

type Trace = unknown[];

/**
 * Resolves once the gateway holds no socket: a dropped connection is gone on the server too before the
 * same user reconnects, whatever the machine's load (a fixed pause was a guess at how long that takes).
 */
const serverSawEveryClose = (): Promise<unknown> =>
  waitFor(
    async () => {
      const text = await fetch(`${gw.url}/metrics`).then((r) => r.text());
      return /^stayline_connections(\{[^}]*\})? 0$/m.test(text);
    },
    5_000,
    'the gateway to see the drop',
  );

async function withLean(user: string): Promise<Trace> {
  const trace: Trace = [];
  const first = new LeanClient({ url: gw.url, token: tokenFor(env, user) });
  trace.push((await first.connect()).session);
  trace.push(await first.request('room:join', { room: 'lobby' }));
  trace.push(await first.request('room:join', { room: 'bad room!' }));
  trace.push(await first.request('queue:join', { eventId: 'e1' }));
  first.drop();
  await serverSawEveryClose();
  const second = new LeanClient({ url: gw.url, token: tokenFor(env, user) });
  trace.push((await second.connect()).session);
  second.close();
  const refused = await new LeanClient({ url: gw.url, token: 'not-a-jwt' }).connect();
  trace.push(refused.error);
  return trace;
}

const restored = (socket: Socket): Promise<unknown> =>
  new Promise((resolve) => socket.once('session:restored', resolve));
const ack = (socket: Socket, event: string, payload: unknown): Promise<unknown> =>
  socket.timeout(5000).emitWithAck(event, payload);

async function withSocketIo(user: string): Promise<Trace> {
  const trace: Trace = [];
  const first = connect(gw.url, tokenFor(env, user));
  trace.push(await restored(first));
  trace.push(await ack(first, 'room:join', { room: 'lobby' }));
  trace.push(await ack(first, 'room:join', { room: 'bad room!' }));
  trace.push(await ack(first, 'queue:join', { eventId: 'e1' }));
  // An abrupt drop, as MEASURED.md says: close the engine, not a polite disconnect.
  first.io.engine.close();
  await serverSawEveryClose();
  const second = connect(gw.url, tokenFor(env, user));
  trace.push(await restored(second));
  second.disconnect();
  const bad = connect(gw.url, 'not-a-jwt');
  trace.push(
    await new Promise((resolve) =>
      bad.once('connect_error', (err: Error & { data?: unknown }) => resolve(err.data)),
    ),
  );
  bad.disconnect();
  return trace;
}

describe('lean client vs socket.io-client', () => {
  it('see the same session:restored, acks and connect errors for the same actions', async () => {
    const lean = await withLean('lean-user');
    const sio = await withSocketIo('sio-user');
    expect(normalise(lean)).toEqual(normalise(sio));
    // And what they saw is what the protocol promises.
    expect(lean[0]).toMatchObject({ recovered: false, rooms: [] });
    expect(lean[1]).toMatchObject({ ok: true, data: { room: 'lobby', rooms: ['lobby'] } });
    expect(lean[2]).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(lean[4]).toMatchObject({ recovered: true, rooms: ['lobby'] });
    expect(lean[5]).toMatchObject({ code: 'AUTH_INVALID' });
  });

  it('and the SDK sees the same restored session, results and error codes', async () => {
    const lean = await withLean('lean-user-2');
    const sessionOf = (client: StaylineClient): Promise<SessionChange> =>
      new Promise((resolve) => {
        const off = client.onSessionChange((change) => {
          if (change.cause !== 'session:restored') return;
          off();
          resolve(change);
        });
      });
    const codeOf = (p: Promise<unknown>): Promise<string> =>
      p.then(
        () => 'ok',
        (err: unknown) => (err instanceof SdkError ? err.code : String(err)),
      );
    const token = () => tokenFor(env, 'sdk-user');
    const first = createClient({ url: gw.url, getToken: token, autoConnect: false });
    const firstSession = sessionOf(first);
    first.connect();
    const a = await firstSession;
    const joined = await first.joinRoom('lobby');
    const badCode = await codeOf(first.joinRoom('bad room!'));
    const queueCode = await codeOf(first.joinQueue('e1'));
    first.close();
    const second = createClient({ url: gw.url, getToken: token, autoConnect: false });
    const secondSession = sessionOf(second);
    second.connect();
    const b = await secondSession;
    second.close();
    const wire = (c: SessionChange) => ({
      recovered: c.session.recovered,
      rooms: c.restored?.rooms,
      queues: c.restored?.queues,
      holds: c.restored?.holds,
    });
    const leanWire = (x: unknown) => {
      const s = x as { recovered: boolean; rooms: string[]; queues: unknown[]; holds: unknown[] };
      return { recovered: s.recovered, rooms: s.rooms, queues: s.queues, holds: s.holds };
    };
    expect(wire(a)).toEqual(leanWire(lean[0]));
    expect(joined).toEqual((lean[1] as { data: unknown }).data);
    expect(badCode).toBe((lean[2] as { error: { code: string } }).error.code);
    expect(queueCode).toBe((lean[3] as { ok: boolean; error?: { code: string } }).error?.code ?? 'ok');
    expect(wire(b)).toEqual(leanWire(lean[4]));
  });
});
