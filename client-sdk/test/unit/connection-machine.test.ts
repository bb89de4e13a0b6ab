import { describe, expect, it } from 'vitest';
import {
  INITIAL_STATE,
  step,
  type ConnectionEvent,
  type ConnectionPolicy,
  type ConnectionState,
} from '../../src/connection-machine.ts';

const NOW = 1_000_000;
const policy = (over: Partial<ConnectionPolicy> = {}): ConnectionPolicy => ({
  backoff: { baseMs: 500, capMs: 10_000 },
  maxAttempts: Infinity,
  random: () => 0.5,
  now: () => NOW,
  ...over,
});

/** Runs events in order and returns every (status, effect) pair. */
function run(events: ConnectionEvent[], p = policy(), from: ConnectionState = INITIAL_STATE) {
  let state = from;
  return events.map((event) => {
    const result = step(state, event, p);
    state = result.state;
    return { state, effect: result.effect };
  });
}
const last = <T>(xs: T[]): T => {
  const x = xs[xs.length - 1];
  if (x === undefined) throw new Error('empty');
  return x;
};

describe('connection state machine', () => {
  it('is "idle" before start: nothing is tried, and a timer or refusal changes nothing', () => {
    expect(INITIAL_STATE.status).toBe('idle');
    for (const event of [
      { type: 'timer' },
      { type: 'opened' },
      { type: 'refused', code: 'CLIENT_NETWORK', retryable: true },
    ] as ConnectionEvent[]) {
      expect(step(INITIAL_STATE, event, policy()).state).toBe(INITIAL_STATE);
    }
  });

  it('reconnect: from connected, a new attempt at once as "reconnecting"; while waiting, the wait is cut; when stopped, a start', () => {
    const live = run([{ type: 'start' }, { type: 'opened' }, { type: 'reconnect' }]);
    expect(last(live)).toEqual({
      state: { status: 'reconnecting', lastError: undefined, attempt: 0, retryAt: undefined },
      effect: { type: 'connect' },
    });
    const waiting = run([
      { type: 'start' },
      { type: 'refused', code: 'CLIENT_NETWORK', retryable: true },
      { type: 'refused', code: 'CLIENT_NETWORK', retryable: true },
    ]);
    expect(last(waiting).state.retryAt).toBeDefined();
    const cut = step(last(waiting).state, { type: 'reconnect' }, policy());
    expect(cut).toEqual({
      state: { status: 'connecting', lastError: 'CLIENT_NETWORK', attempt: 0, retryAt: undefined },
      effect: { type: 'connect' },
    });
    // The timer of the cut wait, firing later, starts nothing more.
    expect(step(cut.state, { type: 'timer' }, policy()).effect).toEqual({ type: 'none' });
    for (const stopped of [
      [{ type: 'start' }, { type: 'close' }],
      [{ type: 'start' }, { type: 'refused', code: 'AUTH_INVALID', retryable: false }],
      [{ type: 'start' }, { type: 'refused', code: 'ORIGIN_FORBIDDEN', retryable: false }],
    ] as ConnectionEvent[][]) {
      expect(last(run([...stopped, { type: 'reconnect' }])).state.status).toBe('connecting');
    }
    expect(step(INITIAL_STATE, { type: 'reconnect' }, policy()).effect).toEqual({ type: 'connect' });
  });

  it('connects: start -> connecting (open the socket) -> connected', () => {
    const [started, opened] = run([{ type: 'start' }, { type: 'opened' }]);
    expect(started).toEqual({
      state: { status: 'connecting', lastError: undefined, attempt: 0, retryAt: undefined },
      effect: { type: 'connect' },
    });
    expect(opened?.state.status).toBe('connected');
    expect(opened?.effect).toEqual({ type: 'none' });
  });

  it('retries a refused first attempt with growing jittered waits, staying "connecting"', () => {
    const steps = run([
      { type: 'start' },
      { type: 'refused', code: 'CLIENT_NETWORK', retryable: true },
      { type: 'timer' },
      { type: 'refused', code: 'CLIENT_NETWORK', retryable: true },
      { type: 'timer' },
      { type: 'opened' },
    ]);
    expect(steps.map((s) => s.state.status)).toEqual([
      'connecting',
      'connecting',
      'connecting',
      'connecting',
      'connecting',
      'connected',
    ]);
    // random 0.5: attempt 1 -> window 1000 -> 500 ms; attempt 2 -> window 2000 -> 1000 ms.
    expect(steps[1]?.effect).toEqual({ type: 'wait', delayMs: 500 });
    expect(steps[1]?.state.retryAt).toBe(NOW + 500);
    expect(steps[2]?.effect).toEqual({ type: 'connect' });
    expect(steps[3]?.effect).toEqual({ type: 'wait', delayMs: 1000 });
    expect(last(steps).state).toEqual({
      status: 'connected',
      lastError: 'CLIENT_NETWORK',
      attempt: 0,
      retryAt: undefined,
    });
  });

  it('goes "reconnecting" after a drop and waits a jittered first window before the next attempt', () => {
    const steps = run([
      { type: 'start' },
      { type: 'opened' },
      { type: 'dropped', code: 'CLIENT_NETWORK', retry: true },
      { type: 'timer' },
      { type: 'opened' },
    ]);
    expect(steps[2]).toEqual({
      state: { status: 'reconnecting', lastError: 'CLIENT_NETWORK', attempt: 0, retryAt: NOW + 250 },
      effect: { type: 'wait', delayMs: 250 },
    });
    expect(steps[3]?.effect).toEqual({ type: 'connect' });
    expect(last(steps).state.status).toBe('connected');
  });

  it('honours server:draining: waits reconnectAfterMs plus jitter', () => {
    const steps = run([
      { type: 'start' },
      { type: 'opened' },
      { type: 'dropped', code: 'SERVER_DRAINING', retry: true, hintMs: 700 },
    ]);
    expect(last(steps).effect).toEqual({ type: 'wait', delayMs: 700 + 250 });
    expect(last(steps).state.lastError).toBe('SERVER_DRAINING');
  });

  it('honours RATE_LIMITED retryAfterMs on a refused handshake, plus jitter', () => {
    const steps = run([
      { type: 'start' },
      { type: 'refused', code: 'RATE_LIMITED', retryable: true, hintMs: 3000 },
    ]);
    expect(last(steps).effect).toEqual({ type: 'wait', delayMs: 3000 + 500 });
  });

  it('retries AUTH_EXPIRED at once (a fresh token is fetched), and backs off if it happens again', () => {
    const steps = run([
      { type: 'start' },
      { type: 'opened' },
      { type: 'dropped', code: 'AUTH_EXPIRED', retry: true },
      { type: 'timer' },
      { type: 'refused', code: 'AUTH_EXPIRED', retryable: true },
    ]);
    expect(steps[2]?.effect).toEqual({ type: 'wait', delayMs: 0 });
    expect(steps[4]?.effect).toEqual({ type: 'wait', delayMs: 500 });

    const refusedFirst = run([{ type: 'start' }, { type: 'refused', code: 'AUTH_EXPIRED', retryable: true }]);
    expect(last(refusedFirst).effect).toEqual({ type: 'wait', delayMs: 0 });
  });

  it.each(['AUTH_INVALID', 'AUTH_MISSING', 'AUTH_SUBJECT_MISMATCH', 'AUTH_REVOKED'] as const)(
    'stops as "unauthorized" on %s and never retries',
    (code) => {
      const steps = run([
        { type: 'start' },
        { type: 'opened' },
        { type: 'dropped', code: 'CLIENT_NETWORK', retry: true },
        { type: 'timer' },
        { type: 'refused', code, retryable: false },
        { type: 'timer' },
      ]);
      expect(steps[4]).toEqual({
        state: { status: 'unauthorized', lastError: code, attempt: 1, retryAt: undefined },
        effect: { type: 'disconnect' },
      });
      expect(steps[5]?.effect).toEqual({ type: 'none' });
    },
  );

  it('stops as "forbidden" when the page origin is refused (ORIGIN_FORBIDDEN), even if told retryable', () => {
    for (const retryable of [false, true]) {
      const steps = run([{ type: 'start' }, { type: 'refused', code: 'ORIGIN_FORBIDDEN', retryable }]);
      expect(last(steps).state).toEqual({
        status: 'forbidden',
        lastError: 'ORIGIN_FORBIDDEN',
        attempt: 1,
        retryAt: undefined,
      });
      expect(last(steps).effect).toEqual({ type: 'disconnect' });
    }
    // A later timer does not start an attempt; only the app's start() does.
    const later = run([
      { type: 'start' },
      { type: 'refused', code: 'ORIGIN_FORBIDDEN', retryable: false },
      { type: 'timer' },
    ]);
    expect(last(later).effect).toEqual({ type: 'none' });
  });

  it('stops as "disconnected" on another refusal no retry can fix', () => {
    const steps = run([{ type: 'start' }, { type: 'refused', code: 'EVENT_UNKNOWN', retryable: false }]);
    expect(last(steps).state.status).toBe('disconnected');
    expect(last(steps).effect).toEqual({ type: 'disconnect' });
  });

  it('retries when the transport closes before the handshake is answered, instead of waiting forever', () => {
    const steps = run([
      { type: 'start' },
      { type: 'dropped', code: 'CLIENT_NETWORK', retry: true },
      { type: 'timer' },
      { type: 'opened' },
    ]);
    expect(steps[1]?.state).toMatchObject({ status: 'connecting', lastError: 'CLIENT_NETWORK', attempt: 1 });
    expect(steps[1]?.effect.type).toBe('wait');
    expect(steps[2]?.effect).toEqual({ type: 'connect' });
    expect(last(steps).state.status).toBe('connected');
    // The same while reconnecting; a drop during the wait (no attempt in flight) changes nothing.
    const again = run([
      { type: 'start' },
      { type: 'opened' },
      { type: 'dropped', code: 'CLIENT_NETWORK', retry: true },
      { type: 'dropped', code: 'CLIENT_NETWORK', retry: true },
      { type: 'timer' },
      { type: 'dropped', code: 'CLIENT_NETWORK', retry: true },
    ]);
    expect(again[3]?.effect).toEqual({ type: 'none' });
    expect(last(again).state).toMatchObject({ status: 'reconnecting', attempt: 1 });
    expect(last(again).effect.type).toBe('wait');
  });

  it('stays down after a final server disconnect (retry: false)', () => {
    const steps = run([
      { type: 'start' },
      { type: 'opened' },
      { type: 'dropped', code: 'CLIENT_NETWORK', retry: false },
    ]);
    expect(last(steps).state.status).toBe('disconnected');
  });

  it('signs out ("unauthorized") when the server ends the session with AUTH_REVOKED, and only stops on SESSION_KICKED', () => {
    const revoked = run([
      { type: 'start' },
      { type: 'opened' },
      { type: 'dropped', code: 'AUTH_REVOKED', retry: false },
      { type: 'timer' },
    ]);
    expect(revoked[2]).toEqual({
      state: { status: 'unauthorized', lastError: 'AUTH_REVOKED', attempt: 0, retryAt: undefined },
      effect: { type: 'disconnect' },
    });
    expect(revoked[3]?.effect).toEqual({ type: 'none' });
    const kicked = run([
      { type: 'start' },
      { type: 'opened' },
      { type: 'dropped', code: 'SESSION_KICKED', retry: false },
    ]);
    expect(last(kicked)).toEqual({
      state: { status: 'disconnected', lastError: 'SESSION_KICKED', attempt: 0, retryAt: undefined },
      effect: { type: 'disconnect' },
    });
    // Both can start again when the app asks (after signing the user in again, for a revocation).
    expect(run([{ type: 'start' }], policy(), revoked[2]?.state)[0]?.effect).toEqual({ type: 'connect' });
    expect(run([{ type: 'start' }], policy(), last(kicked).state)[0]?.effect).toEqual({ type: 'connect' });
  });

  it('gives up after maxAttempts failures in a row', () => {
    const refused: ConnectionEvent = { type: 'refused', code: 'CLIENT_NETWORK', retryable: true };
    const steps = run(
      [{ type: 'start' }, refused, { type: 'timer' }, refused, { type: 'timer' }, refused],
      policy({ maxAttempts: 3 }),
    );
    expect(steps.map((s) => s.state.status)).toEqual([
      'connecting',
      'connecting',
      'connecting',
      'connecting',
      'connecting',
      'disconnected',
    ]);
    expect(last(steps).state.attempt).toBe(3);
  });

  it('caps the wait: the 40th attempt in a row waits at most capMs', () => {
    let state: ConnectionState = step(INITIAL_STATE, { type: 'start' }, policy()).state;
    let delay = -1;
    for (let i = 0; i < 40; i++) {
      const r = step(
        state,
        { type: 'refused', code: 'CLIENT_NETWORK', retryable: true },
        policy({ random: () => 0.999 }),
      );
      if (r.effect.type === 'wait') delay = r.effect.delayMs;
      state = step(r.state, { type: 'timer' }, policy()).state;
    }
    expect(delay).toBe(9990);
  });

  it('close wins: stops retries, and a late "opened" is told to disconnect', () => {
    const steps = run([
      { type: 'start' },
      { type: 'close' },
      { type: 'opened' },
      { type: 'timer' },
      { type: 'close' },
    ]);
    expect(steps[1]).toEqual({
      state: { status: 'disconnected', lastError: 'CLIENT_CLOSED', attempt: 0, retryAt: undefined },
      effect: { type: 'disconnect' },
    });
    expect(steps[2]?.effect).toEqual({ type: 'disconnect' });
    expect(steps[3]?.effect).toEqual({ type: 'none' });
    expect(steps[4]?.effect).toEqual({ type: 'none' });
  });

  it('ignores events that do not apply: a second start, a refusal while connected, a timer nobody waits for', () => {
    const connected = last(run([{ type: 'start' }, { type: 'opened' }])).state;
    for (const event of [
      { type: 'start' },
      { type: 'refused', code: 'CLIENT_NETWORK', retryable: true },
      { type: 'timer' },
    ] as ConnectionEvent[]) {
      const r = step(connected, event, policy());
      expect(r.state).toBe(connected);
      expect(r.effect).toEqual({ type: 'none' });
    }
    // A second refusal for the same attempt (connect_error after a timeout) does not double the wait.
    const waiting = last(
      run([{ type: 'start' }, { type: 'refused', code: 'CLIENT_NETWORK', retryable: true }]),
    ).state;
    expect(step(waiting, { type: 'refused', code: 'CLIENT_NETWORK', retryable: true }, policy()).state).toBe(
      waiting,
    );
  });

  it('can start again after unauthorized (the app signed the user in again)', () => {
    const steps = run([
      { type: 'start' },
      { type: 'refused', code: 'AUTH_INVALID', retryable: false },
      { type: 'start' },
    ]);
    expect(last(steps)).toEqual({
      state: { status: 'connecting', lastError: 'AUTH_INVALID', attempt: 0, retryAt: undefined },
      effect: { type: 'connect' },
    });
  });
});
