import { describe, expect, it } from 'vitest';
import { wireError } from '@stayline/client-sdk/protocol';
import { GatewayError } from '../../../src/errors/gateway-error.ts';
import { toWireError } from '../../../src/errors/gateway-error.ts';
import { MemoryRequestLedger } from '../../../src/session/memory-request-ledger.ts';
import { createRequestRunner, splitRequestId } from '../../../src/transport/idempotency.ts';

const store = () => new MemoryRequestLedger();

describe('request ids', () => {
  it('acts once for a request id and answers retries with the first result', async () => {
    const run = createRequestRunner(store(), { pendingMs: 1000, pollMs: 1 });
    let acted = 0;
    const handler = (payload: unknown) => Promise.resolve({ n: ++acted, payload });
    const first = await run('u', 'seat:hold', { requestId: 'r1', a: 1 }, handler, toWireError);
    const again = await run('u', 'seat:hold', { requestId: 'r1', a: 1 }, handler, toWireError);
    expect(first).toEqual({ ok: true, data: { n: 1, payload: { a: 1 } } });
    expect(again).toEqual(first);
    expect(await run('u', 'seat:hold', { a: 1 }, handler, toWireError)).toMatchObject({ data: { n: 2 } });
  });

  it('acts once when two identical requests race, and both get its answer', async () => {
    const run = createRequestRunner(store(), { pendingMs: 1000, pollMs: 1 });
    let acted = 0;
    const slow = () => new Promise((resolve) => setTimeout(() => resolve(++acted), 20));
    const [a, b] = await Promise.all([
      run('u', 'queue:join', { requestId: 'same' }, slow, toWireError),
      run('u', 'queue:join', { requestId: 'same' }, slow, toWireError),
    ]);
    expect(acted).toBe(1);
    expect(a).toEqual(b);
  });

  it('records deliberate refusals, but lets a retry act after STORE_UNAVAILABLE', async () => {
    const run = createRequestRunner(store(), { pendingMs: 1000, pollMs: 1 });
    const refuse = () => Promise.reject(new GatewayError('SEAT_UNAVAILABLE', 'x', { seatIds: ['A'] }));
    const first = await run('u', 'seat:hold', { requestId: 'r' }, refuse, toWireError);
    expect(first).toEqual({ ok: false, error: wireError('SEAT_UNAVAILABLE', 'x', { seatIds: ['A'] }) });
    expect(await run('u', 'seat:hold', { requestId: 'r' }, () => Promise.resolve(1), toWireError)).toEqual(
      first,
    );
    const down = () => Promise.reject(new GatewayError('STORE_UNAVAILABLE'));
    await run('u', 'seat:hold', { requestId: 's' }, down, toWireError);
    expect(await run('u', 'seat:hold', { requestId: 's' }, () => Promise.resolve(2), toWireError)).toEqual({
      ok: true,
      data: 2,
    });
  });

  it('refuses a bad request id or one reused for another request with BAD_REQUEST', async () => {
    const run = createRequestRunner(store(), { pendingMs: 1000, pollMs: 1 });
    expect(() => splitRequestId({ requestId: 'x'.repeat(65) })).toThrow(GatewayError);
    expect(splitRequestId({ requestId: 'ok', b: 2 })).toEqual({ requestId: 'ok', payload: { b: 2 } });
    expect(splitRequestId('text')).toEqual({ requestId: undefined, payload: 'text' });
    await run('u', 'queue:join', { requestId: 'k' }, () => Promise.resolve(1), toWireError);
    const misuse = await run('u', 'queue:leave', { requestId: 'k' }, () => Promise.resolve(2), toWireError);
    expect(misuse.ok ? '' : misuse.error.code).toBe('BAD_REQUEST');
  });
});
