import { describe, expect, it } from 'vitest';
import { wireError, type Ack } from '@stayline/client-sdk/protocol';
import { GatewayError, toWireError } from '../../../../src/errors/gateway-error.ts';
import { runThroughLedger, splitRequestId } from '../../../../src/transport/requests/idempotency.ts';
import { MemoryRequestLedger } from '../../../../src/session/memory-request-ledger.ts';

const options = { pendingMs: 1000, pollMs: 1 };
const settle = async <T>(act: () => Promise<T>): Promise<Ack<T>> => {
  try {
    return { ok: true, data: await act() };
  } catch (err) {
    return { ok: false, error: toWireError(err) };
  }
};

describe('request ids through the ledger', () => {
  const ledger = new MemoryRequestLedger();
  const run = <T>(requestId: string, event: string, act: () => Promise<T>) =>
    runThroughLedger(ledger, options, {
      userId: 'u',
      requestId,
      event,
      act: () => settle(act),
      toWire: toWireError,
    });

  it('acts once for a request id and answers retries with the first result', async () => {
    let acted = 0;
    const act = () => Promise.resolve({ n: ++acted });
    const first = await run('r1', 'seat:release', act);
    const again = await run('r1', 'seat:release', act);
    expect(first).toEqual({ ack: { ok: true, data: { n: 1 } }, replayed: false });
    expect(again).toEqual({ ack: first.ack, replayed: true });
    expect(acted).toBe(1);
  });

  it('acts once when two identical requests race, and both get its answer', async () => {
    let acted = 0;
    const slow = () => new Promise((resolve) => setTimeout(() => resolve(++acted), 20));
    const [a, b] = await Promise.all([run('same', 'queue:join', slow), run('same', 'queue:join', slow)]);
    expect(acted).toBe(1);
    expect(a.ack).toEqual(b.ack);
  });

  it('records deliberate refusals, but lets a retry act after STORE_UNAVAILABLE', async () => {
    const refuse = () => Promise.reject(new GatewayError('SEAT_UNAVAILABLE', 'x', { seatIds: ['A'] }));
    const first = await run('r', 'seat:release', refuse);
    expect(first.ack).toEqual({ ok: false, error: wireError('SEAT_UNAVAILABLE', 'x', { seatIds: ['A'] }) });
    expect((await run('r', 'seat:release', () => Promise.resolve(1))).ack).toEqual(first.ack);
    await run('s', 'seat:release', () => Promise.reject(new GatewayError('STORE_UNAVAILABLE')));
    expect((await run('s', 'seat:release', () => Promise.resolve(2))).ack).toEqual({ ok: true, data: 2 });
  });

  it('refuses a bad request id or one reused for another request with BAD_REQUEST', async () => {
    expect(() => splitRequestId({ requestId: 'x'.repeat(65) })).toThrow(GatewayError);
    expect(splitRequestId({ requestId: 'ok', b: 2 })).toEqual({ requestId: 'ok', payload: { b: 2 } });
    expect(splitRequestId('text')).toEqual({ requestId: undefined, payload: 'text' });
    await run('k', 'queue:join', () => Promise.resolve(1));
    const misuse = await run('k', 'queue:leave', () => Promise.resolve(2));
    expect(misuse.ack.ok ? '' : misuse.ack.error.code).toBe('BAD_REQUEST');
  });
});
