/**
 * The pure parts of the tester: reconnect policies, the restore check, SLO gates, the trace format and
 * its anonymisation.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { anonymiseUser } from '../../gateway/src/transport/connection-trace.ts';
import { reconnectDelayMs as sdkDelayMs } from '@stayline/client-sdk';
import { defaultPolicy, reconnectDelayMs, socketIoDelayMs } from '../src/backoff.ts';
import { declaresRetryableConnectErrors, nextStep, timeoutCoversOpenOnly } from '../src/client-policy.ts';
import { nestedJson } from '../src/attacks/bodies.ts';
import { checkSlo, parseSlo } from '../src/report/slo.ts';
import { describeTally, p99Ratios } from '../src/scenarios/abuse.ts';
import { compareRestored } from '../src/state-check.ts';
import { readTraces, scriptsByUser } from '../src/trace.ts';

describe('reconnect policies', () => {
  it('socket.io-client default puts first retries in 500-1500 ms and caps after the jitter', () => {
    const io = defaultPolicy('socketio');
    const first = Array.from({ length: 100 }, (_, i) => socketIoDelayMs(0, io, () => i / 100));
    expect(Math.min(...first)).toBeGreaterThanOrEqual(500);
    expect(Math.max(...first)).toBeLessThanOrEqual(1500);
    // ten bands: floor(rand*10) decides the sign, so the deviation clusters by tenth
    expect(socketIoDelayMs(0, io, () => 0.15)).toBe(1075);
    expect(socketIoDelayMs(0, io, () => 0.25)).toBe(875);
    // 4th attempt: 8000 ± jitter, then the 5 s cap: mostly exactly 5000
    expect(socketIoDelayMs(3, io, () => 0.3)).toBe(5000);
  });

  it('full jitter is uniform below min(cap, base·2^n) and the SDK honours a server hint as a floor', () => {
    const sdk = defaultPolicy('sdk');
    expect(sdkDelayMs(0, sdk, () => 0.999)).toBe(499);
    expect(sdkDelayMs(10, sdk, () => 0.5)).toBe(5000);
    // The SDK's own retryDelayMs: the hint, then full jitter on top (never earlier than the hint).
    expect(reconnectDelayMs(sdk, 0, 2000, () => 0.1)).toBe(2050);
    expect(reconnectDelayMs(sdk, 0, 2000, () => 0)).toBe(2000);
    expect(reconnectDelayMs(defaultPolicy('socketio'), 0, 2000, () => 0.15)).toBe(1075);
    expect(reconnectDelayMs(defaultPolicy('none'), 5, 2000)).toBe(0);
  });
});

describe('what each policy does after an attempt or a connection ends', () => {
  const io = defaultPolicy('socketio');
  const sdk = defaultPolicy('sdk');
  const none = defaultPolicy('none');
  const rateLimited = { kind: 'refused', code: 'RATE_LIMITED', retryable: true, retryAfterMs: 3000 } as const;
  const authInvalid = {
    kind: 'refused',
    code: 'AUTH_INVALID',
    retryable: false,
    retryAfterMs: undefined,
  } as const;
  const half = () => 0.5;

  it('socketio: a connect_error or a server disconnect ends the client, whatever the code says', () => {
    expect(nextStep(io, 0, rateLimited, half)).toEqual({
      retry: false,
      code: 'RATE_LIMITED',
      cause: 'connect_error',
    });
    expect(nextStep(io, 3, authInvalid, half)).toMatchObject({ retry: false, code: 'AUTH_INVALID' });
    expect(
      nextStep(io, 0, { kind: 'server-disconnect', hintMs: 100, toldRetryable: true }, half),
    ).toMatchObject({ retry: false, cause: 'io server disconnect' });
  });

  it('socketio: a failed engine open backs off further each time; a closed transport starts over at attempt 0', () => {
    // rand 0.5: floor(5) is odd, so + 0.5·0.5·ms: 1250, 2500, then the 5 s cap.
    expect(nextStep(io, 0, { kind: 'open-failed' }, half)).toEqual({
      retry: true,
      delayMs: 1250,
      attempt: 1,
    });
    expect(nextStep(io, 1, { kind: 'open-failed' }, half)).toEqual({
      retry: true,
      delayMs: 2500,
      attempt: 2,
    });
    expect(nextStep(io, 2, { kind: 'open-failed' }, half)).toEqual({
      retry: true,
      delayMs: 5000,
      attempt: 3,
    });
    // Manager.onclose resets the backoff, however many attempts came before; it ignores drain hints.
    expect(nextStep(io, 7, { kind: 'closed', hintMs: 4000 }, half)).toEqual({
      retry: true,
      delayMs: 1250,
      attempt: 1,
    });
  });

  it('sdk: retries a retryable refusal no earlier than its retryAfterMs, stops at a non-retryable one', () => {
    expect(nextStep(sdk, 0, rateLimited, half)).toEqual({ retry: true, delayMs: 3250, attempt: 1 });
    // attempt 4: the hint, then full jitter in [0, 8000) on top: 3000 + 4000.
    expect(nextStep(sdk, 4, rateLimited, half)).toEqual({ retry: true, delayMs: 7000, attempt: 5 });
    expect(nextStep(sdk, 0, authInvalid, half)).toEqual({
      retry: false,
      code: 'AUTH_INVALID',
      cause: 'connect_error',
    });
    // A connect_error without a wire error is read as a network failure, as the SDK does.
    expect(
      nextStep(
        sdk,
        0,
        { kind: 'refused', code: 'CONNECT_ERROR', retryable: undefined, retryAfterMs: undefined },
        half,
      ),
    ).toEqual({ retry: true, delayMs: 250, attempt: 1 });
    expect(nextStep(sdk, 0, { kind: 'closed', hintMs: 900 }, half)).toEqual({
      retry: true,
      delayMs: 1150,
      attempt: 1,
    });
    // A server disconnect is final unless the server gave a reason to come back.
    expect(
      nextStep(sdk, 0, { kind: 'server-disconnect', hintMs: undefined, toldRetryable: false }, half),
    ).toMatchObject({ retry: false, code: 'IO_SERVER_DISCONNECT' });
    expect(
      nextStep(sdk, 0, { kind: 'server-disconnect', hintMs: undefined, toldRetryable: true }, half),
    ).toMatchObject({ retry: true });
  });

  it('none: the sdk’s decisions with no delay at all', () => {
    expect(nextStep(none, 5, rateLimited, half)).toEqual({ retry: true, delayMs: 0, attempt: 6 });
    expect(nextStep(none, 0, { kind: 'open-failed' }, half)).toEqual({ retry: true, delayMs: 0, attempt: 1 });
    expect(nextStep(none, 0, authInvalid, half)).toMatchObject({ retry: false, code: 'AUTH_INVALID' });
  });

  it('only socketio leaves retryableConnectErrors out, and only its timeout stops at the engine open', () => {
    expect(declaresRetryableConnectErrors('socketio')).toBe(false);
    expect(declaresRetryableConnectErrors('sdk')).toBe(true);
    expect(declaresRetryableConnectErrors('none')).toBe(true);
    expect(timeoutCoversOpenOnly('socketio')).toBe(true);
    expect(timeoutCoversOpenOnly('sdk')).toBe(false);
  });
});

describe('restore check', () => {
  const snapshot = {
    rooms: ['a', 'b'],
    queues: [{ eventId: 'e', position: 5, size: 9 }],
    holds: [{ eventId: 'e', seatIds: ['A1', 'A2'], expiresAt: 1, fence: 7 }],
  };
  const same = {
    recovered: true,
    rooms: ['b', 'a'],
    expiresAt: 9,
    queues: [{ eventId: 'e', position: 5, size: 8 }],
    holds: [{ eventId: 'e', seatIds: ['A2', 'A1'], expiresAt: 2, fence: 7 }],
  };

  it('accepts the same state, and a better queue position', () => {
    expect(compareRestored(snapshot, same)).toEqual([]);
    expect(compareRestored(snapshot, { ...same, queues: [{ eventId: 'e', position: 2, size: 8 }] })).toEqual(
      [],
    );
  });

  it('names lost rooms, a worse or lost queue place, changed holds, and a fresh session', () => {
    expect(compareRestored(snapshot, { ...same, rooms: ['a'] })).toEqual(['rooms']);
    expect(compareRestored(snapshot, { ...same, queues: [{ eventId: 'e', position: 6, size: 9 }] })).toEqual([
      'queue',
    ]);
    expect(compareRestored(snapshot, { ...same, queues: [] })).toEqual(['queue']);
    expect(compareRestored(snapshot, { ...same, holds: [{ ...same.holds[0], fence: 8 }] })).toEqual([
      'holds',
    ]);
    expect(compareRestored(snapshot, { ...same, recovered: false })).toEqual(['not-recovered']);
    expect(compareRestored(snapshot, 'nope')).toEqual(['malformed']);
  });
});

describe('SLO gates', () => {
  it('parses thresholds, checks both directions, and fails a metric the run did not measure', () => {
    const t = parseSlo('p99-restore-ms=2000,never-restored=0,delivery-ratio=0.99,knee-per-second=500');
    const checks = checkSlo(t, { 'p99-restore-ms': 2500, 'never-restored': 0, 'delivery-ratio': 0.995 });
    expect(checks.map((c) => [c.metric, c.pass])).toEqual([
      ['p99-restore-ms', false],
      ['never-restored', true],
      ['delivery-ratio', true],
      ['knee-per-second', false],
    ]);
    expect(() => parseSlo('p42=1')).toThrow(/unknown SLO metric/);
  });
});

describe('abuse verdict', () => {
  it('divides each phase’s p99 by the baseline’s and judges only the attack phases', () => {
    const { ratios, worst } = p99Ratios([
      { kind: 'baseline', samples: 100, p99: 20 },
      { kind: 'attack', samples: 100, p99: 50 },
      { kind: 'recovery', samples: 50, p99: 200 },
      { kind: 'attack', samples: 100, p99: 30 },
    ]);
    expect(ratios).toEqual([1, 2.5, 10, 1.5]);
    expect(worst).toBe(2.5);
    const checks = checkSlo(new Map([['p99-ratio', 2]]), { 'p99-ratio': worst ?? NaN });
    expect(checks[0]).toMatchObject({ pass: false, actual: 2.5, op: '<=' });
    expect(checkSlo(new Map([['p99-ratio', 3]]), { 'p99-ratio': 2.5 })[0]?.pass).toBe(true);
  });

  it('an attack phase where nothing came back is infinitely worse; without a baseline there is no verdict', () => {
    expect(
      p99Ratios([
        { kind: 'baseline', samples: 10, p99: 5 },
        { kind: 'attack', samples: 0, p99: 0 },
      ]).worst,
    ).toBe(Infinity);
    const none = p99Ratios([
      { kind: 'baseline', samples: 0, p99: 0 },
      { kind: 'attack', samples: 10, p99: 5 },
    ]);
    expect(none).toEqual({ ratios: [undefined, undefined], worst: undefined });
    // An SLO on a ratio that could not be measured fails rather than passing silently.
    expect(checkSlo(new Map([['p99-ratio', 2]]), {})[0]?.pass).toBe(false);
  });

  it('describes an attack’s counts grouped by kind, and nests JSON as deep as the bytes allow', () => {
    expect(
      describeTally({ sent: 12, 'answer:ok': 3, 'answer:RATE_LIMITED': 9, 'refused:AUTH_INVALID': 1 }),
    ).toBe('sent 12; answer: ok 3, RATE_LIMITED 9; refused: AUTH_INVALID 1');
    const body = nestedJson(1000).toString();
    expect(body).toHaveLength(1000);
    expect(body.startsWith('[[[') && body.endsWith(']]]')).toBe(true);
    expect(JSON.parse(body)).toBeInstanceOf(Array);
  });
});

describe('connection trace', () => {
  it('anonymises with a keyed hash: stable per key, different across keys, never the id itself', () => {
    const a = anonymiseUser('k1-0123456789abcdef', 'alice');
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(anonymiseUser('k1-0123456789abcdef', 'alice')).toBe(a);
    expect(anonymiseUser('k2-0123456789abcdef', 'alice')).not.toBe(a);
  });

  it('merges files on absolute time and turns disconnects into drops (closes when the client left)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trace-'));
    try {
      const f1 = join(dir, 'n1.jsonl');
      const f2 = join(dir, 'n2.jsonl');
      writeFileSync(
        f1,
        [
          '{"trace":"stayline-connections","version":1,"node":"n1","startedAt":1000}',
          '{"t":0,"user":"u1","event":"connect"}',
          '{"t":500,"user":"u1","event":"disconnect","reason":"transport close"}',
        ].join('\n'),
      );
      writeFileSync(
        f2,
        [
          '{"trace":"stayline-connections","version":1,"node":"n2","startedAt":1200}',
          '{"t":400,"user":"u1","event":"connect"}',
          '{"t":900,"user":"u1","event":"disconnect","reason":"client namespace disconnect"}',
        ].join('\n'),
      );
      const events = readTraces([f1, f2]);
      expect(events.map((e) => [e.at, e.event])).toEqual([
        [0, 'connect'],
        [500, 'disconnect'],
        [600, 'connect'],
        [1100, 'disconnect'],
      ]);
      expect(scriptsByUser(events, 2).get('u1')).toEqual([
        { at: 0, op: 'connect' },
        { at: 250, op: 'drop' },
        { at: 300, op: 'connect' },
        { at: 550, op: 'close' },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves out the disconnect of a connection the user had already replaced (connect, connect, drop)', () => {
    const events = [
      { at: 0, user: 'u1', event: 'connect' as const },
      { at: 100, user: 'u1', event: 'connect' as const },
      { at: 101, user: 'u1', event: 'disconnect' as const, reason: 'transport close' },
      { at: 300, user: 'u1', event: 'disconnect' as const, reason: 'client namespace disconnect' },
    ];
    expect(scriptsByUser(events, 1).get('u1')).toEqual([
      { at: 0, op: 'connect' },
      { at: 100, op: 'connect' },
      { at: 300, op: 'close' },
    ]);
  });
});
