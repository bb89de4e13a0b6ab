/**
 * Malformed traffic against one node: raw websocket frames and raw HTTP long-polling requests, with and
 * without a valid token, while one well-behaved client keeps working. Random cases come from a seeded
 * PRNG (FUZZ_SEED overrides the seed; every failure message names the seed and the case).
 *
 * Requests with an ack id for a protocol event whose arguments are not exactly `[payload, ack]` (e.g.
 * `421["room:join"]`) once crashed the node; the random corpus includes them, and the last test checks the
 * fix against a child process, where such a crash would be seen as an exit.
 *
 * The last block uses Object.prototype's member names (`__proto__`, `constructor`, `prototype`,
 * `toString`) as room, user, event and seat ids, on both stores, through every path an id takes: requests,
 * the service API, Redis keys and Lua tables, `seat:update`, `session:restored` and the SDK's seat map.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Socket } from 'socket.io-client';
import { createClient, followSeatMap, type FollowedSeatMap, type StaylineClient } from '@stayline/client-sdk';
import {
  CLIENT_EVENTS,
  type Ack,
  type QueuePlace,
  type RestoredSession,
  type RoomResult,
  type SeatHold,
  type SeatMapResult,
  type SeatUpdatePayload,
} from '@stayline/client-sdk/protocol';
import {
  baseEnv,
  connect,
  startGateway,
  startGatewayProcess,
  tokenFor,
  type GatewayProcess,
  type RunningGateway,
} from '../support/gateway.ts';
import { service } from '../support/claims.ts';
import { startRedis, type RedisProcess } from '../support/redis.ts';
import { nextEvent, request, waitFor } from '../support/wait.ts';

const SEED = /^\d+$/.test(process.env['FUZZ_SEED'] ?? '') ? Number(process.env['FUZZ_SEED']) : 0x5eed_2026;
const RANDOM_CASES = 300;
const MAX_MESSAGE_BYTES = 4096;
/** How long a raw connection may take to answer a probe or close before the case counts as hung. */
const SETTLE_TIMEOUT_MS = 5_000;

// ---------------------------------------------------------------------------------------------------------
// Seeded randomness
// ---------------------------------------------------------------------------------------------------------

/** mulberry32: a tiny, fast, seedable PRNG; good enough to pick fuzz inputs reproducibly. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(256)));
  return { next, int, pick, bytes, chance: (p: number): boolean => next() < p };
}
type Rng = ReturnType<typeof prng>;

const ODD_STRINGS = [
  '',
  'room',
  'lobby',
  'x'.repeat(200),
  '\u0000',
  '\ud800',
  '💥',
  '$`',
  '{sub}',
  '*',
  '../../etc/passwd',
  'lobby\n',
  '%00',
  '<script>',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
];
const ODD_KEYS = [
  'room',
  'token',
  '__proto__',
  'constructor',
  'prototype',
  '_placeholder',
  'num',
  'polluted',
  'valueOf',
  '',
];
const ODD_NUMBERS = [
  '0',
  '-0',
  '1',
  '-1',
  '3.14',
  '1e308',
  '1e309',
  '-1e309',
  '9007199254740993',
  '0.0000001',
  '1E2',
  '00',
  '.5',
];

const BROKEN_JSON = [
  '"unterminated',
  '{',
  '[',
  '}',
  ']',
  ',',
  'undefined',
  'NaN',
  '"\\x"',
  "'single'",
  '{"a":}',
  '[1,]',
  '{"a" 1}',
  '[[[[[[[[',
];

/** Random valid JSON *text*, with keys like __proto__ kept as own keys (an object literal would not). */
function jsonText(r: Rng, depth = 0): string {
  switch (r.int(depth > 2 ? 4 : 7)) {
    case 0:
      return r.pick(['null', 'true', 'false']);
    case 1:
      return r.pick(ODD_NUMBERS.filter((n) => !/^(-?1e309|00|\.5)$/.test(n)));
    case 2:
      return JSON.stringify(r.pick(ODD_STRINGS));
    case 3:
      return JSON.stringify(String.fromCharCode(...Array.from({ length: r.int(20) }, () => r.int(0xffff))));
    case 4:
    case 5:
      return `[${Array.from({ length: r.int(4) }, () => jsonText(r, depth + 1)).join(',')}]`;
    default:
      return `{${Array.from({ length: r.int(4) }, () => `${JSON.stringify(r.pick(ODD_KEYS))}:${jsonText(r, depth + 1)}`).join(',')}}`;
  }
}

/** JSON text that is invalid about one time in six (a broken token, or a number JSON does not allow). */
function maybeBrokenJson(r: Rng): string {
  if (!r.chance(1 / 6)) return jsonText(r);
  return r.chance(0.5) ? r.pick(BROKEN_JSON) : r.pick(['1e309', '-1e309', '00', '.5']);
}

/**
 * True for a text frame that carries an ack id for a protocol event with other than exactly one payload
 * argument: the shape of the crash found by this suite (now refused with BAD_REQUEST / ACK_REQUIRED).
 */
function isFormerCrasher(frame: string | Buffer): boolean {
  if (typeof frame !== 'string') return false;
  const m = /^4[25](?:\d+-)?(?:\/[^,]*,)?(\d+)(\[[\s\S]*)$/.exec(frame);
  if (m?.[2] === undefined) return false;
  try {
    const args: unknown = JSON.parse(m[2]);
    return (
      Array.isArray(args) && (CLIENT_EVENTS as readonly unknown[]).includes(args[0]) && args.length !== 2
    );
  } catch {
    return false;
  }
}

/** One random websocket frame (text or binary). */
function randomFrame(r: Rng): string | Buffer {
  const ackId = r.chance(0.5) ? String(r.int(100_000)) : '';
  const nsp = r.chance(0.85) ? '' : r.pick(['/,', '/admin,', '/\u0000,', `/${'n'.repeat(300)},`]);
  // Weighted towards parseable packets, which reach the gateway's own code; the rest test the parsers.
  switch (r.pick([0, 1, 2, 3, 4, 4, 5, 5, 5, 5, 6, 7, 8, 9])) {
    case 0:
      return r.bytes(1 + r.int(512));
    case 1:
      return r.bytes(1 + r.int(64)).toString('latin1');
    case 2: {
      // A valid request, then damaged: truncated, a character replaced, or one inserted.
      const valid = `42${ackId}["room:join",{"room":"r${r.int(10)}"}]`;
      const at = r.int(valid.length);
      const mutation = r.int(3);
      if (mutation === 0) return valid.slice(0, at);
      const c = String.fromCharCode(32 + r.int(95));
      return mutation === 1
        ? valid.slice(0, at) + c + valid.slice(at + 1)
        : valid.slice(0, at) + c + valid.slice(at);
    }
    case 3:
      // Any engine packet type, any socket.io packet type, random JSON.
      return `${r.pick(['0', '1', '2', '3', '4', '5', '6', '7', '9', 'b', 'x', ''])}${r.pick(['0', '1', '2', '3', '4', '5', '6', '7', 'a', ''])}${nsp}${ackId}${maybeBrokenJson(r)}`;
    case 4:
      // An event with a random name and random arguments.
      return `42${nsp}${ackId}[${[JSON.stringify(r.pick([...ODD_STRINGS, 'nope:nothing'])), ...Array.from({ length: r.int(3) }, () => maybeBrokenJson(r))].join(',')}]`;
    case 5:
      // A protocol event with a random payload, in the well-formed [event, payload] shape.
      return `42${nsp}${ackId}[${JSON.stringify(r.pick(CLIENT_EVENTS))},${maybeBrokenJson(r)}]`;
    case 6:
      // A binary event announcing 0-12 attachments (sent or not by the case).
      return `45${r.int(13)}-${nsp}${ackId}[${JSON.stringify(r.pick(['room:join', 'x']))},{"_placeholder":true,"num":${r.pick(['0', '1', '-1', '99', '"__proto__"', 'null'])}}]`;
    case 7:
      return `40${nsp}${maybeBrokenJson(r)}`;
    case 9:
      // A protocol event with 0-3 arguments (with an ack id, all but one are the known crash, filtered out).
      return `42${nsp}${ackId}[${[JSON.stringify(r.pick(CLIENT_EVENTS)), ...Array.from({ length: r.int(4) }, () => jsonText(r))].join(',')}]`;
    default:
      return `4${r.int(10)}${maybeBrokenJson(r)}`;
  }
}

// ---------------------------------------------------------------------------------------------------------
// A raw Engine.IO/Socket.IO websocket client
// ---------------------------------------------------------------------------------------------------------

type Frame = string | Buffer;
type Settled = 'closed' | 'answered' | 'hung';
/** What waiting on a raw socket ends with: the matching frame, the connection's close, or the timeout. */
type Waited = { frame: Frame } | 'closed' | 'timeout';

/** A Waited as text, for assertions: the frame, or 'closed' / 'timeout'. */
const textOf = (w: Waited): string =>
  typeof w === 'object' ? (typeof w.frame === 'string' ? w.frame : `<${w.frame.length} bytes>`) : w;

class RawSocket {
  readonly frames: Frame[] = [];
  closed = false;
  private readonly listeners = new Set<() => void>();
  private probes = 0;
  private sentDisconnect = false;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      this.frames.push(isBinary ? buf : buf.toString('utf8'));
      this.notify();
    });
    ws.on('close', () => {
      this.closed = true;
      this.notify();
    });
    // A reset or refused connection is an outcome the case records, not a test failure.
    ws.on('error', () => undefined);
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }

  /** Resolves with the first frame from index `from` matching `match`, 'closed', or 'timeout'. */
  until(match: (frame: Frame) => boolean, from = 0, timeoutMs = SETTLE_TIMEOUT_MS): Promise<Waited> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        const found = this.frames.slice(from).find(match);
        if (found !== undefined) resolve({ frame: found });
        else if (this.closed) resolve('closed');
        else return false;
        return true;
      };
      if (check()) return;
      const listener = (): void => {
        if (check()) done();
      };
      const timer = setTimeout(() => {
        resolve('timeout');
        done();
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
      };
      this.listeners.add(listener);
    });
  }

  send(frame: Frame): void {
    if (typeof frame === 'string' && frame.startsWith('41')) this.sentDisconnect = true;
    // ws reports a send on a closing socket through the callback; that is an outcome too.
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(frame, () => undefined);
  }

  /**
   * True when the server confirmed a CONNECT to the main namespace and we sent nothing that could have
   * left it. (After a client DISCONNECT, socket.io drops events queued in the same tick without a word,
   * so the probe must be a CONNECT then.)
   */
  get connectedToMain(): boolean {
    return !this.sentDisconnect && this.frames.some((f) => typeof f === 'string' && f.startsWith('40{"sid"'));
  }

  /**
   * Proves the server has read everything sent so far: a well-formed acked request (if connected) or a
   * fresh CONNECT (if not) must be answered, or the connection closed, within SETTLE_TIMEOUT_MS.
   */
  async settle(token: string): Promise<Settled> {
    if (this.closed) return 'closed';
    const from = this.frames.length;
    let answer: Waited;
    if (this.connectedToMain) {
      const id = 900_000 + this.probes++;
      this.send(`42${id}["room:join",{"room":"probe"}]`);
      answer = await this.until((f) => typeof f === 'string' && f.startsWith(`43${id}[`), from);
    } else {
      this.send(`40${JSON.stringify({ token })}`);
      answer = await this.until((f) => typeof f === 'string' && /^4[04]/.test(f), from);
    }
    return answer === 'timeout' ? 'hung' : answer === 'closed' ? 'closed' : 'answered';
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Opens a raw websocket to the engine endpoint; resolves once the engine's open packet arrived (or it closed). */
async function openRaw(
  port: number,
  query = 'EIO=4&transport=websocket',
  headers: Record<string, string> = {},
): Promise<RawSocket> {
  const raw = new RawSocket(new WebSocket(`ws://127.0.0.1:${port}/socket.io/?${query}`, { headers }));
  await raw.until((f) => typeof f === 'string' && f.startsWith('0{'), 0);
  return raw;
}

/** Opens a raw websocket and completes the Socket.IO CONNECT with `token`; resolves with the socket and the reply. */
async function openAuthenticated(port: number, token: string): Promise<{ raw: RawSocket; reply: string }> {
  const raw = await openRaw(port);
  const from = raw.frames.length;
  raw.send(`40${JSON.stringify({ token })}`);
  const reply = await raw.until((f) => typeof f === 'string' && /^4[04]/.test(f), from);
  return { raw, reply: textOf(reply) };
}

/** The first ack frame for `id` parsed into its ack value, or the reason there is none. */
async function ackOf(raw: RawSocket, id: number, from = 0): Promise<Ack<unknown> | 'closed' | 'timeout'> {
  const waited = await raw.until((f) => typeof f === 'string' && f.startsWith(`43${id}[`), from);
  if (typeof waited !== 'object') return waited;
  return (JSON.parse(textOf(waited).slice(`43${id}`.length)) as [Ack<unknown>])[0];
}

// ---------------------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------------------

describe(`malformed traffic against one node (seed ${SEED})`, () => {
  const env = baseEnv({
    MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES),
    // The healthy client does a round trip after every case; the floods below still exceed this.
    EVENTS_PER_SECOND: '500',
    EVENTS_BURST: '500',
  });
  let gw: RunningGateway;
  let healthy: Socket;
  let roundTrips = 0;
  const raws: RawSocket[] = [];
  const hung: string[] = [];
  let fuzzUsers = 0;
  const fuzzToken = (): string => tokenFor(env, `fuzz-${fuzzUsers++}`);

  beforeAll(async () => {
    gw = await startGateway(env);
    healthy = connect(gw.url, tokenFor(env, 'healthy'));
    await nextEvent<RestoredSession>(healthy, 'session:restored');
  });
  afterAll(async () => {
    for (const raw of raws) raw.close();
    healthy.close();
    await gw.stop();
  });

  /** The healthy client's room:join must round-trip; `label` says which case it followed. */
  const healthyRoundTrip = async (label: string): Promise<void> => {
    const room = `healthy-${roundTrips++ % 4}`;
    const ack = await request<Ack<RoomResult>>(healthy, 'room:join', { room }, 5_000).catch(
      (err: unknown) => ({ ok: false, error: String(err) }),
    );
    expect(ack, `healthy room:join after ${label} (seed ${SEED})`).toMatchObject({
      ok: true,
      data: { room },
    });
  };
  const healthz = async (): Promise<number> => (await fetch(`${gw.url}/healthz`)).status;

  /** Runs one case on a fresh raw connection: send the frames, settle, close, then the healthy round trip. */
  const runCase = async (
    label: string,
    frames: readonly Frame[],
    options: { token?: boolean; beforeOpen?: boolean } = {},
  ): Promise<Settled> => {
    let raw: RawSocket;
    if (options.beforeOpen) {
      raw = new RawSocket(new WebSocket(`ws://127.0.0.1:${gw.port}/socket.io/?EIO=4&transport=websocket`));
      await new Promise<void>((resolve) => {
        raw.ws.once('open', () => resolve());
        raw.ws.once('close', () => resolve());
      });
    } else if (options.token) {
      raw = (await openAuthenticated(gw.port, fuzzToken())).raw;
    } else {
      raw = await openRaw(gw.port);
    }
    raws.push(raw);
    for (const frame of frames) raw.send(frame);
    const settled = await raw.settle(fuzzToken());
    if (settled === 'hung') hung.push(`${label} (seed ${SEED})`);
    raw.close();
    await healthyRoundTrip(label);
    return settled;
  };

  it('survives garbage before, instead of and around the Socket.IO handshake', async () => {
    const cases: Array<[string, Frame[], { token?: boolean; beforeOpen?: boolean }?]> = [
      ['event before the engine open packet', ['42["room:join",{"room":"x"}]'], { beforeOpen: true }],
      [
        'random bytes before the engine open packet',
        [Buffer.from([0, 255, 1, 254, 2, 253])],
        { beforeOpen: true },
      ],
      ['event before CONNECT', ['421["room:join",{"room":"x"}]']],
      ['ack before CONNECT', ['431[{"ok":true}]']],
      ['disconnect before CONNECT', ['41']],
      ['CONNECT_ERROR from the client', ['44{"message":"x"}']],
      ['binary event before CONNECT', ['451-["room:join",{"_placeholder":true,"num":0}]', Buffer.from([1])]],
      ['CONNECT with an array payload', ['40[1,2,3]']],
      ['CONNECT with a string payload', ['40"token"']],
      ['CONNECT with null', ['40null']],
      ['CONNECT with a non-string token', ['40{"token":{"$gt":""}}']],
      ['CONNECT with an 8 KB garbage token', [`40${JSON.stringify({ token: 'e'.repeat(8000) })}`]],
      ['CONNECT with a token of dots', ['40{"token":"...."}']],
      ['CONNECT to an unknown namespace', ['40/admin,{}']],
      [
        'CONNECT to an unknown namespace with a token',
        [`40/admin,${JSON.stringify({ token: fuzzToken() })}`],
      ],
      ['CONNECT to a namespace with a NUL and a huge name', [`40/\u0000${'n'.repeat(3000)},{}`]],
      ['CONNECT to a namespace without a comma', ['40/admin']],
      [
        'two CONNECTs with a token in one frame burst',
        [`40${JSON.stringify({ token: fuzzToken() })}`, `40${JSON.stringify({ token: fuzzToken() })}`],
      ],
      ['engine open packet from the client', ['0{"sid":"x"}']],
      ['engine ping from the client (wrong direction)', ['2']],
      ['engine upgrade packet without an upgrade', ['5']],
      ['engine noop and unknown engine types', ['6', '7', '9', 'x', '']],
      ['engine close', ['1']],
      ['unknown socket.io packet types', ['47', '48', '4a', '4-1', '4']],
    ];
    const outcomes: Record<string, Settled> = {};
    for (const [label, frames, options] of cases)
      outcomes[label] = await runCase(label, frames, options ?? {});
    // Invalid state: socket.io closes a connection that sends an event before connecting.
    expect(outcomes['event before CONNECT']).toBe('closed');
    expect(outcomes['engine ping from the client (wrong direction)']).toBe('closed');
    expect(hung).toEqual([]);
    expect(await healthz()).toBe(200);
  });

  it('answers an unknown namespace with a CONNECT_ERROR and keeps the connection usable', async () => {
    const raw = await openRaw(gw.port);
    raws.push(raw);
    raw.send('40/admin,{}');
    const reply = textOf(await raw.until((f) => typeof f === 'string' && f.startsWith('44/admin,')));
    expect(reply).toMatch(/^44\/admin,\{"message":"Invalid namespace"\}/);
    expect(await raw.settle(fuzzToken())).toBe('answered');
    expect(raw.connectedToMain).toBe(true);
    raw.close();
    await healthyRoundTrip('unknown namespace');
  });

  it('answers non-object and prototype-polluting payloads with BAD_REQUEST and pollutes nothing', async () => {
    const { raw, reply } = await openAuthenticated(gw.port, fuzzToken());
    raws.push(raw);
    expect(reply).toMatch(/^40\{"sid"/);
    const payloads = [
      'null',
      '42',
      '"lobby"',
      '[]',
      '["lobby"]',
      'true',
      '{}',
      '{"room":null}',
      '{"room":["lobby"]}',
      '{"room":{"toString":"lobby"}}',
      '{"__proto__":{"polluted":true}}',
      '{"room":"lobby","__proto__":{"polluted":true}}',
      '{"constructor":{"prototype":{"polluted":true}}}',
      '{"room":"lobby","constructor":{"prototype":{"polluted":true}}}',
      '{"room":"$`"}',
      '{"room":"*"}',
    ];
    let id = 1;
    for (const payload of payloads) {
      for (const event of ['room:join', 'room:leave']) {
        const from = raw.frames.length;
        raw.send(`42${id}["${event}",${payload}]`);
        const ack = await ackOf(raw, id++, from);
        expect(ack, `${event} ${payload}`).toMatchObject({
          ok: false,
          error: { code: 'BAD_REQUEST', retryable: false },
        });
      }
    }
    // auth:refresh reads `token` off whatever it is given; none of these is a valid token.
    for (const payload of [
      'null',
      '42',
      '"token"',
      '{"__proto__":{"token":"x"}}',
      '{"token":{"__proto__":{"polluted":true}}}',
    ]) {
      const from = raw.frames.length;
      raw.send(`42${id}["auth:refresh",${payload}]`);
      const ack = await ackOf(raw, id++, from);
      expect(ack, `auth:refresh ${payload}`).toMatchObject({
        ok: false,
        error: { code: expect.stringMatching(/^AUTH_(MISSING|INVALID)$/) },
      });
    }
    // Handshake auth objects that try the same.
    for (const auth of [
      '{"__proto__":{"polluted":true,"token":"x"}}',
      '{"constructor":{"prototype":{"polluted":true}}}',
    ]) {
      const other = await openRaw(gw.port);
      raws.push(other);
      other.send(`40${auth}`);
      expect(textOf(await other.until((f) => typeof f === 'string' && /^4[04]/.test(f)))).toMatch(
        /^44\{"message":"AUTH_MISSING"/,
      );
      other.close();
    }
    expect(await raw.settle(fuzzToken())).toBe('answered');
    raw.close();
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('polluted');
    await healthyRoundTrip('pollution payloads');
  });

  it('cuts frames over twice MAX_MESSAGE_BYTES and connections whose binary attachments never come', async () => {
    const huge = `421["room:join",{"room":"x","pad":"${'p'.repeat(MAX_MESSAGE_BYTES * 2 + 10)}"}]`;
    expect(await runCase('huge text frame', [huge], { token: true })).toBe('closed');
    expect(
      await runCase('huge binary frame', [Buffer.alloc(MAX_MESSAGE_BYTES * 2 + 10, 7)], { token: true }),
    ).toBe('closed');
    expect(await runCase('huge frame before CONNECT', [huge])).toBe('closed');
    // The announced attachment never comes; the next text frame is a protocol violation.
    expect(
      await runCase(
        'binary event without its attachment',
        ['451-["room:join",{"_placeholder":true,"num":0}]'],
        { token: true },
      ),
    ).toBe('closed');
    expect(
      await runCase('binary ack without its attachment', ['461-1[{"_placeholder":true,"num":0}]'], {
        token: true,
      }),
    ).toBe('closed');
    expect(
      await runCase('more attachments announced than allowed', ['4599-["room:join",{}]'], { token: true }),
    ).toBe('closed');
    expect(
      await runCase('binary data with no packet announced', [Buffer.from('hello')], { token: true }),
    ).toBe('closed');
    expect(
      await runCase(
        'placeholder pointing past the attachments',
        ['451-["room:join",{"_placeholder":true,"num":5}]', Buffer.from([1])],
        { token: true },
      ),
    ).toBe('closed');
    // A message just under the frame cap is read, then refused on its ack.
    const { raw } = await openAuthenticated(gw.port, fuzzToken());
    raws.push(raw);
    raw.send(`421["room:join",{"room":"x","pad":"${'p'.repeat(MAX_MESSAGE_BYTES + 100)}"}]`);
    expect(await ackOf(raw, 1)).toMatchObject({ ok: false, error: { code: 'MESSAGE_TOO_LARGE' } });
    raw.close();
    // A delivered attachment is decoded to a Buffer, which is no room name.
    const { raw: binary } = await openAuthenticated(gw.port, fuzzToken());
    raws.push(binary);
    binary.send('451-7["room:join",{"_placeholder":true,"num":0}]');
    binary.send(Buffer.from('lobby'));
    expect(await ackOf(binary, 7)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    binary.close();
    expect(hung).toEqual([]);
    await healthyRoundTrip('binary cases');
  });

  it('survives floods of tiny packets while the healthy client keeps its round trips', async () => {
    // 3000 acked requests at once: each is answered at most once, ok or RATE_LIMITED, until the socket has
    // spent its allowance of refusals (FLOOD_DISCONNECT_AFTER_REFUSALS) and is cut with RATE_FLOODED.
    const { raw, reply } = await openAuthenticated(gw.port, fuzzToken());
    raws.push(raw);
    expect(reply).toMatch(/^40\{"sid"/);
    const from = raw.frames.length;
    const count = 3000;
    for (let i = 1; i <= count; i++) raw.send(`42${i}["room:join",{"room":"t${i % 10}"}]`);
    const [, acks] = await Promise.all([
      healthyRoundTrip('during the request flood'),
      waitFor(
        () => {
          const got = raw.frames.slice(from).filter((f) => typeof f === 'string' && /^43\d+\[/.test(f));
          return got.length >= count || raw.closed ? got : undefined;
        },
        20_000,
        `${count} acks`,
      ),
    ]);
    const byId = new Map<number, Ack<unknown>>();
    for (const frame of acks as string[]) {
      const m = /^43(\d+)(\[[\s\S]*)$/.exec(frame);
      expect(byId.has(Number(m?.[1]))).toBe(false);
      byId.set(Number(m?.[1]), (JSON.parse(m?.[2] ?? '[]') as [Ack<unknown>])[0]);
    }
    expect(byId.size).toBeLessThan(count);
    const refused = [...byId.values()].filter((a) => !a.ok);
    expect(refused.length).toBeGreaterThanOrEqual(300);
    const codes = new Set([...byId.values()].map((a) => (a.ok ? 'ok' : a.error.code)));
    expect([...codes].sort()).toEqual(['RATE_LIMITED', 'ok']);
    expect(
      raw.frames.filter((f) => typeof f === 'string' && f.includes('"code":"RATE_FLOODED"')),
    ).toHaveLength(1);
    expect(await raw.until(() => false, raw.frames.length, 5_000)).toBe('closed');
    raw.close();

    // 3000 requests without an ack, 3000 engine pongs and noops, 3000 CONNECTs without a token.
    expect(
      await runCase(
        '3000 requests without an ack',
        Array.from({ length: 3000 }, () => '42["room:join",{"room":"t"}]'),
        { token: true },
      ),
    ).not.toBe('hung');
    expect(
      await runCase(
        '3000 engine pongs and noops',
        Array.from({ length: 3000 }, (_, i) => (i % 2 ? '3' : '6')),
        { token: true },
      ),
    ).not.toBe('hung');
    expect(
      await runCase(
        '3000 CONNECTs without a token',
        Array.from({ length: 3000 }, () => '40'),
      ),
    ).not.toBe('hung');
    expect(
      await runCase(
        '3000 one-byte binary frames',
        Array.from({ length: 3000 }, () => Buffer.from([0])),
        { token: true },
      ),
    ).toBe('closed');
    expect(hung).toEqual([]);
    expect(await healthz()).toBe(200);
  });

  it('refuses a websocket upgrade from a foreign origin and malformed upgrade queries without harm', async () => {
    const foreign = await openRaw(gw.port, 'EIO=4&transport=websocket', { Origin: 'https://evil.example' });
    raws.push(foreign);
    expect(foreign.closed).toBe(true);
    expect(foreign.frames).toEqual([]);
    for (const query of [
      'EIO=3&transport=websocket',
      'EIO=99&transport=websocket',
      'transport=websocket',
      'EIO=4&transport=websocket&sid=nope',
      'EIO=4&transport=websocket&sid=constructor',
      'EIO=4&transport=websocket&sid=__proto__',
      'EIO=4&transport=flashsocket',
    ]) {
      const raw = await openRaw(gw.port, query);
      raws.push(raw);
      expect(
        raw.frames.filter((f) => typeof f === 'string' && f.startsWith('0{')),
        query,
      ).toEqual([]);
      raw.close();
    }
    await healthyRoundTrip('bad upgrades');
  });

  it('survives malformed HTTP long-polling requests without a single 5xx', async () => {
    const base = `${gw.url}/socket.io/`;
    const statuses: Array<[string, number | string]> = [];
    const send = async (label: string, path: string, init: RequestInit = {}): Promise<string> => {
      try {
        const res = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(5_000) });
        statuses.push([label, res.status]);
        return await res.text();
      } catch (err) {
        statuses.push([label, String(err)]);
        return '';
      }
    };
    const openPolling = async (): Promise<string> => {
      const body = await send('handshake', '?EIO=4&transport=polling');
      return /"sid":"([^"]+)"/.exec(body)?.[1] ?? '';
    };
    const post = (
      label: string,
      sid: string,
      body: NonNullable<RequestInit['body']>,
      headers: Record<string, string> = {},
    ): Promise<string> =>
      send(label, `?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'text/plain;charset=UTF-8', ...headers },
      });

    const r = prng(SEED ^ 0x7011);
    // `replies`: the body certainly makes the server queue packets (a CONNECT reply), so a poll returns at
    // once; after the others the session may be open with nothing queued, and a poll would wait for a ping.
    const bodies: Array<{
      label: string;
      body: NonNullable<RequestInit['body']>;
      headers?: Record<string, string>;
      replies?: boolean;
    }> = [
      { label: 'random bytes', body: r.bytes(300), headers: { 'content-type': 'application/octet-stream' } },
      { label: 'truncated event', body: '42[' },
      { label: 'truncated request', body: '42["room:join",' },
      { label: 'record separators only', body: '\x1e\x1e\x1e' },
      { label: 'bad base64 binary', body: 'b!!!not-base64' },
      { label: 'event before CONNECT', body: '42["room:join",{"room":"x"}]' },
      { label: 'pollution CONNECT', body: '40{"__proto__":{"polluted":true}}', replies: true },
      {
        label: 'CONNECT then garbage',
        body: `40${JSON.stringify({ token: fuzzToken() })}\x1e42[\x1e\x00\x01`,
      },
      // socket.io closes a connection whose event arrives before its CONNECT has completed.
      {
        label: 'CONNECT and a request in one payload',
        body: `40${JSON.stringify({ token: fuzzToken() })}\x1e421["room:join",{"room":"x"}]`,
        replies: true,
      },
      { label: 'unknown namespace', body: '40/admin,{}', replies: true },
      { label: 'body over the buffer limit', body: 'x'.repeat(MAX_MESSAGE_BYTES * 2 + 100) },
      { label: 'engine close', body: '1' },
    ];
    const polled: Record<string, string> = {};
    for (const { label, body, headers, replies } of bodies) {
      const sid = await openPolling();
      expect(sid, 'polling handshake').not.toBe('');
      await post(label, sid, body, headers);
      if (replies) polled[label] = await send(`${label}: poll`, `?EIO=4&transport=polling&sid=${sid}`);
      // End the session (a 400 when the server has already closed it).
      await post(`${label}: close`, sid, '1');
      await healthyRoundTrip(`polling: ${label}`);
    }
    expect(polled['pollution CONNECT']).toMatch(/^44\{"message":"AUTH_MISSING"/);
    expect(polled['unknown namespace']).toMatch(/^44\/admin,\{"message":"Invalid namespace"\}/);
    const closing = polled['CONNECT and a request in one payload'] ?? '';
    expect(closing === '1' || closing.endsWith('\x1e1'), closing).toBe(true);

    // An authenticated polling client: a polluting payload is answered BAD_REQUEST on its ack.
    const pollingSid = await openPolling();
    await post('polling CONNECT', pollingSid, `40${JSON.stringify({ token: fuzzToken() })}`);
    expect(await send('polling CONNECT: poll', `?EIO=4&transport=polling&sid=${pollingSid}`)).toMatch(
      /^40\{"sid"/,
    );
    await post(
      'polling polluting request',
      pollingSid,
      '421["room:join",{"__proto__":{"polluted":true}}]\x1e422["room:join",{"room":"polled"}]',
    );
    let received = '';
    for (let i = 0; i < 5 && !received.includes('432['); i++)
      received += await send('polling poll', `?EIO=4&transport=polling&sid=${pollingSid}`);
    expect(received).toMatch(/431\[\{"ok":false,"error":\{"code":"BAD_REQUEST"/);
    expect(received).toMatch(/432\[\{"ok":true/);
    await post('polling close', pollingSid, '1');
    for (const [label, path, init] of [
      ['no query', '', {}],
      ['EIO=3', '?EIO=3&transport=polling', {}],
      ['EIO=abc', '?EIO=abc&transport=polling', {}],
      ['unknown transport', '?EIO=4&transport=bogus', {}],
      ['unknown sid', '?EIO=4&transport=polling&sid=unknown', {}],
      ['sid constructor', '?EIO=4&transport=polling&sid=constructor', {}],
      ['sid __proto__', '?EIO=4&transport=polling&sid=__proto__', {}],
      ['sid hasOwnProperty', '?EIO=4&transport=polling&sid=hasOwnProperty', {}],
      ['POST handshake', '?EIO=4&transport=polling', { method: 'POST', body: '40' }],
      ['PUT', '?EIO=4&transport=polling', { method: 'PUT', body: '40' }],
      ['DELETE', '?EIO=4&transport=polling', { method: 'DELETE' }],
      [
        'query pollution',
        '?EIO=4&transport=polling&__proto__[polluted]=true&constructor[prototype][polluted]=true',
        {},
      ],
      ['duplicate parameters', '?EIO=4&EIO=3&transport=polling&transport=websocket', {}],
      ['j (JSONP) parameter', '?EIO=4&transport=polling&j=alert(1)', {}],
    ] as Array<[string, string, RequestInit]>) {
      const body = await send(label, path, init);
      // A query-only handshake that succeeded still opens a session: end it.
      const sid = /"sid":"([^"]+)"/.exec(body)?.[1];
      if (sid !== undefined) await post(`${label}: close`, sid, '1');
    }
    // Two concurrent polls on one session: engine.io closes it ("overlap from client").
    const sid = await openPolling();
    await Promise.all([
      send('overlapping poll 1', `?EIO=4&transport=polling&sid=${sid}`),
      send('overlapping poll 2', `?EIO=4&transport=polling&sid=${sid}`),
    ]);

    const serverErrors = statuses.filter(([, status]) => typeof status === 'number' && status >= 500);
    expect(serverErrors).toEqual([]);
    const networkErrors = statuses.filter(([, status]) => typeof status === 'string');
    expect(networkErrors).toEqual([]);
    // The limit is enforced on polling bodies too.
    expect(statuses.find(([label]) => label === 'body over the buffer limit')?.[1]).toBe(413);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(await healthz()).toBe(200);
    await healthyRoundTrip('polling cases');
  });

  it(`survives ${RANDOM_CASES} seeded random cases, answering or closing every connection`, async () => {
    const r = prng(SEED);
    let formerCrashers = 0;
    const outcomes = { closed: 0, answered: 0, hung: 0 };
    for (let i = 0; i < RANDOM_CASES; i++) {
      const frames: Frame[] = [];
      for (let n = 1 + r.int(2); n > 0; n--) {
        const frame = randomFrame(r);
        if (isFormerCrasher(frame)) formerCrashers++;
        frames.push(frame);
        // Sometimes follow a binary announcement with some attachments.
        if (typeof frame === 'string' && frame.startsWith('45') && r.chance(0.5)) {
          for (let k = r.int(3); k > 0; k--) frames.push(r.bytes(r.int(64)));
        }
      }
      const settled = await runCase(
        `random case ${i}: ${JSON.stringify(frames.map((f) => (typeof f === 'string' ? f.slice(0, 120) : `<${f.length} bytes>`)))}`,
        frames,
        { token: r.chance(0.8) },
      );
      outcomes[settled]++;
    }
    expect(hung).toEqual([]);
    // Both outcomes occur: the corpus is neither all-fatal nor all-harmless.
    expect(outcomes.closed, JSON.stringify(outcomes)).toBeGreaterThan(RANDOM_CASES / 10);
    expect(outcomes.answered, JSON.stringify(outcomes)).toBeGreaterThan(RANDOM_CASES / 10);
    // The generator does produce the shape of the crash it once found, so it keeps guarding against it.
    expect(formerCrashers).toBeGreaterThan(0);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(await healthz()).toBe(200);
  });

  it('afterwards still serves the healthy client and counts no leftover fuzz socket', async () => {
    for (const raw of raws) raw.close();
    await waitFor(
      async () => {
        const text = await fetch(`${gw.url}/metrics`).then((res) => res.text());
        return /^stayline_connections\{[^}]*\} 1$/m.test(text);
      },
      10_000,
      'stayline_connections back to 1 (the healthy client only)',
    );
    expect(healthy.connected).toBe(true);
    for (let i = 0; i < 5; i++) await healthyRoundTrip('the end');
    expect(await healthz()).toBe(200);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

// Found by this suite: the handlers take their ack as the second argument, and the inbound guard once
// checked only that the *last* argument was a function, so `emitWithAck('room:join')` (no payload) reached a
// handler with a non-function ack; the TypeError was an unhandled rejection that ended the Node 20 process.
// Run against a child process so such a crash is observed as an exit, not swallowed by the runner.
describe('a request whose arguments are not [payload, ack]', () => {
  const env = baseEnv({ LOG_LEVEL: 'info' });
  let node: GatewayProcess;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    node = await startGatewayProcess(env);
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    await node.kill('SIGKILL');
  });

  it('is refused without taking the node down', async () => {
    const bystander = connect(node.url, tokenFor(env, 'bystander'));
    const sloppy = connect(node.url, tokenFor(env, 'sloppy'));
    sockets.push(bystander, sloppy);
    await Promise.all([nextEvent(bystander, 'session:restored'), nextEvent(sloppy, 'session:restored')]);
    const exited = node.exited.then((code) => ({ exited: code }));
    // What the stock client sends for `socket.emitWithAck('room:join')`.
    const answered = sloppy
      .timeout(3_000)
      .emitWithAck('room:join')
      .then(
        (ack: unknown) => ({ ack }),
        (err: unknown) => ({ noAck: String(err) }),
      );
    const first = await Promise.race([exited, answered]);
    expect(first, node.output().slice(-2000)).toMatchObject({ ack: { ok: false } });
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
    const ack = await request<Ack<RoomResult>>(bystander, 'room:join', { room: 'still-here' });
    expect(ack.ok).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Ids named after Object.prototype's members
// ---------------------------------------------------------------------------------------------------------

/**
 * Valid ids by every pattern (room, user, event and seat ids all allow them), so each must work like any
 * other id. A seat named `__proto__` once never appeared in `seat:update`: the store built the update's
 * `seats` on a plain object, where `seats['__proto__'] = 'held'` changes nothing (and the memory store
 * skipped `toString` too, finding Object.prototype's function already "there").
 */
const HOSTILE_IDS = ['__proto__', 'constructor', 'prototype', 'toString'] as const;
const HOSTILE_SERVICE_TOKEN = 'hostile-ids-service-token-0123456789';
const ownKeys = (value: object): string[] => Object.keys(value).sort();

for (const kind of ['memory', 'redis'] as const) {
  describe(`ids named after Object.prototype's members (${kind} store)`, () => {
    let redis: RedisProcess | undefined;
    let gw: RunningGateway;
    let env: Record<string, string | undefined>;
    const sockets: Socket[] = [];
    const clients: StaylineClient[] = [];
    beforeAll(async () => {
      if (kind === 'redis') redis = await startRedis();
      env = baseEnv({
        SERVICE_TOKEN: HOSTILE_SERVICE_TOKEN,
        SEAT_UPDATE_INTERVAL_MS: '50',
        ...(redis ? { REDIS_URL: redis.url } : {}),
      });
      gw = await startGateway(env);
    });
    afterEach(() => {
      for (const c of clients.splice(0)) c.close();
      for (const s of sockets.splice(0)) s.close();
    });
    afterAll(async () => {
      await gw?.stop();
      await redis?.stop();
    });
    const open = async (sub: string): Promise<{ socket: Socket; session: RestoredSession }> => {
      const socket = connect(gw.url, tokenFor(env, sub));
      sockets.push(socket);
      return { socket, session: await nextEvent<RestoredSession>(socket, 'session:restored') };
    };
    const publish = (body: Record<string, unknown>): Promise<Response> =>
      fetch(`${gw.url}/v1/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${HOSTILE_SERVICE_TOKEN}` },
        body: JSON.stringify(body),
      });

    it('takes them as room names: join, room:joined, publish, restore, leave', async () => {
      const { socket } = await open('hostile-rooms');
      for (const room of HOSTILE_IDS) {
        const joined = nextEvent<RoomResult>(socket, 'room:joined');
        const ack = await request<Ack<RoomResult>>(socket, 'room:join', { room });
        expect(ack, room).toMatchObject({ ok: true, data: { room } });
        expect((await joined).room).toBe(room);
      }
      const news = nextEvent<{ to: string }>(socket, 'news');
      expect((await publish({ room: '__proto__', event: 'news', data: { to: '__proto__' } })).status).toBe(
        202,
      );
      expect(await news).toEqual({ to: '__proto__' });
      socket.close();
      const again = await open('hostile-rooms');
      expect(again.session.rooms).toEqual([...HOSTILE_IDS].sort());
      for (const room of HOSTILE_IDS) {
        const ack = await request<Ack<RoomResult>>(again.socket, 'room:leave', { room });
        expect(ack, room).toMatchObject({ ok: true, data: { room } });
      }
      const left = await request<Ack<RoomResult>>(again.socket, 'room:join', { room: 'after' });
      expect(left).toEqual({
        ok: true,
        data: {
          room: 'after',
          rooms: ['after'],
          position: { epoch: expect.any(String) as string, offset: 0 },
        },
      });
    });

    it('takes them as user ids: sessions, restores and publishes by userId', async () => {
      for (const sub of HOSTILE_IDS) {
        const first = await open(sub);
        expect(first.session.recovered, sub).toBe(false);
        expect(
          await request<Ack<RoomResult>>(first.socket, 'room:join', { room: `home-${sub}` }),
        ).toMatchObject({
          ok: true,
        });
        const dm = nextEvent<{ to: string }>(first.socket, 'dm');
        expect((await publish({ userId: sub, event: 'dm', data: { to: sub } })).status).toBe(202);
        expect(await dm).toEqual({ to: sub });
        first.socket.close();
        const again = await open(sub);
        expect(again.session, sub).toMatchObject({ recovered: true, rooms: [`home-${sub}`] });
      }
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    });

    it('takes them as event and seat ids: hold, seat:update, the SDK seat map, release, sale and restore', async () => {
      const api = service(gw.url, HOSTILE_SERVICE_TOKEN);
      for (const eventId of HOSTILE_IDS) {
        const defined = await api.defineEvent(eventId, { seats: [...HOSTILE_IDS, 'A1'] });
        expect(defined.status, `${eventId}: ${JSON.stringify(defined.body)}`).toBe(201);
      }
      const eventId = '__proto__';

      // A raw follower and an SDK follower of the event's seat map.
      const raw = (await open('hostile-raw-follower')).socket;
      const map = await request<Ack<SeatMapResult>>(raw, 'seat:map', { eventId });
      if (!map.ok) throw new Error(map.error.code);
      expect(ownKeys(map.data.seats)).toEqual([...HOSTILE_IDS, 'A1'].sort());
      const updates: SeatUpdatePayload[] = [];
      raw.on('seat:update', (u: SeatUpdatePayload) => updates.push(u));
      const sdk = createClient({ url: gw.url, getToken: () => tokenFor(env, 'hostile-sdk-follower') });
      clients.push(sdk);
      let followed: FollowedSeatMap = { map: undefined, error: undefined };
      const follower = followSeatMap(sdk, eventId, (f) => (followed = f));
      await waitFor(() => sdk.state.status === 'connected', 10_000, 'the SDK client to connect');
      follower.read();
      await waitFor(() => followed.map !== undefined, 10_000, 'the SDK to read the map');
      expect(ownKeys(followed.map?.seats ?? {})).toEqual([...HOSTILE_IDS, 'A1'].sort());

      // Every hostile seat held at once: each must reach both followers as an own entry.
      const holder = await open('hostile-holder');
      const hold = await request<Ack<SeatHold>>(holder.socket, 'seat:hold', {
        eventId,
        seatIds: [...HOSTILE_IDS],
      });
      if (!hold.ok) throw new Error(JSON.stringify(hold.error));
      expect([...hold.data.seatIds].sort()).toEqual([...HOSTILE_IDS].sort());
      const heldEverywhere = (seats: Record<string, string> | undefined): boolean =>
        seats !== undefined && HOSTILE_IDS.every((id) => Object.hasOwn(seats, id) && seats[id] === 'held');
      await waitFor(
        () => updates.some((u) => heldEverywhere(u.seats)),
        10_000,
        'a seat:update naming every hostile seat as held',
      );
      await waitFor(
        () => heldEverywhere(followed.map?.seats),
        10_000,
        'the SDK map to show every hostile seat held',
      );
      expect(followed.map?.seats['A1']).toBe('free');

      // Released, then sold: the map follows.
      const released = await request<Ack<unknown>>(holder.socket, 'seat:release', {
        eventId,
        seatIds: ['__proto__'],
      });
      expect(released).toMatchObject({ ok: true, data: { seatIds: ['__proto__'] } });
      await waitFor(
        () => followed.map?.seats['__proto__'] === 'free',
        10_000,
        'the SDK map to show __proto__ free',
      );
      const sold = await api.confirm(eventId, {
        userId: 'hostile-holder',
        seatIds: ['toString'],
        fence: hold.data.fence,
      });
      expect(sold).toMatchObject({ status: 200, body: { ok: true, data: { sold: ['toString'] } } });
      await waitFor(
        () => followed.map?.seats['toString'] === 'sold',
        10_000,
        'the SDK map to show toString sold',
      );
      follower.stop();

      // Queue places in every hostile event, and the holds, come back with the session.
      for (const id of HOSTILE_IDS) {
        const place = await request<Ack<QueuePlace>>(holder.socket, 'queue:join', { eventId: id });
        expect(place, id).toMatchObject({ ok: true, data: { eventId: id, position: 1 } });
      }
      holder.socket.close();
      const back = await open('hostile-holder');
      expect(back.session.queues.map((q) => q.eventId).sort()).toEqual([...HOSTILE_IDS].sort());
      const restoredHold = back.session.holds.find((h) => h.eventId === eventId);
      expect([...(restoredHold?.seatIds ?? [])].sort()).toEqual(['constructor', 'prototype']);
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
      expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('held');
    });
  });
}
