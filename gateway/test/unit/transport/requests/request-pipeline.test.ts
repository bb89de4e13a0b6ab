import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Ack } from '@stayline/client-sdk/protocol';
import { GatewayError } from '../../../../src/errors/gateway-error.ts';
import { defineRequest, type Idempotency, type RequestContext } from '../../../../src/features/feature.ts';
import { Inflight } from '../../../../src/transport/requests/inflight.ts';
import { createRequestPipeline } from '../../../../src/transport/requests/request-pipeline.ts';
import { captureLog } from '../../../support/log-capture.ts';
import { MemoryRequestLedger } from '../../../../src/session/memory-request-ledger.ts';

function setup() {
  const { log, lines } = captureLog();
  const registry = new Registry();
  const rejections = new Counter({ name: 'r', help: 'r', labelNames: ['code'], registers: [registry] });
  const replays = new Counter({ name: 'p', help: 'p', labelNames: ['event'], registers: [registry] });
  const pipeline = createRequestPipeline({
    ledger: new MemoryRequestLedger(),
    ledgerOptions: { pendingMs: 1000, pollMs: 1 },
    metrics: { rejections },
    replays,
  });
  const source = { userId: 'u1', claims: {}, log, inflight: new Inflight() };
  const send = (request: ReturnType<typeof defineRequest>, payload: unknown) =>
    new Promise<Ack<unknown>>((resolve) => pipeline(source, request, payload, resolve));
  const count = async (c: Counter) => (await c.get()).values.reduce((n, v) => n + v.value, 0);
  return { lines, send, source, rejected: () => count(rejections), replayed: () => count(replays) };
}

const seen: RequestContext[] = [];
const echo = (
  idempotency: Idempotency,
  act: (ctx: RequestContext) => Promise<unknown> = () => Promise.resolve(1),
) =>
  defineRequest({
    event: 'seat:release',
    schema: z.object({ n: z.number() }).strict(),
    idempotency,
    handle: async (ctx, payload) => {
      seen.push(ctx);
      await act(ctx);
      return { eventId: 'e', seatIds: [String(payload.n)] };
    },
  });

describe('the request pipeline', () => {
  it('validates before the ledger: an invalid payload is refused and not recorded', async () => {
    const { send } = setup();
    let acted = 0;
    const request = echo('ledger', () => Promise.resolve(++acted));
    const bad = await send(request, { requestId: 'r1', n: 'x' });
    expect(bad.ok ? '' : bad.error.code).toBe('BAD_REQUEST');
    expect(await send(request, { requestId: 'r1', n: 2 })).toEqual({
      ok: true,
      data: { eventId: 'e', seatIds: ['2'] },
    });
    expect(acted).toBe(1);
  });

  it('answers a ledger retry from the record and counts it as a replay', async () => {
    const { send, replayed } = setup();
    let acted = 0;
    const request = echo('ledger', () => Promise.resolve(++acted));
    const first = await send(request, { requestId: 'r2', n: 1 });
    expect(await send(request, { requestId: 'r2', n: 1 })).toEqual(first);
    expect(acted).toBe(1);
    expect(await replayed()).toBe(1);
  });

  it('hands a folded request its request id, and gives reads none', async () => {
    const { send } = setup();
    seen.length = 0;
    await send(echo('folded'), { requestId: 'f1', n: 1 });
    await send(echo('none'), { requestId: 'n1', n: 1 });
    await send(echo('ledger'), { requestId: 'l1', n: 1 });
    expect(seen.map((c) => c.requestId)).toEqual(['f1', undefined, undefined]);
  });

  it('answers and counts a store outage once, and leaves its logging to the outage log', async () => {
    const { send, lines, rejected } = setup();
    const down = echo('ledger', () => Promise.reject(new GatewayError('STORE_UNAVAILABLE')));
    const ack = await send(down, { requestId: 'r3', n: 1 });
    expect(ack.ok ? '' : ack.error.code).toBe('STORE_UNAVAILABLE');
    expect(await rejected()).toBe(1);
    expect(lines).toEqual([]);
  });

  it('turns an unexpected error into INTERNAL, logged with its cause, never on the wire', async () => {
    const { send, lines, source } = setup();
    const ack = await send(
      echo('none', () => Promise.reject(new Error('secret detail'))),
      { n: 1 },
    );
    expect(ack.ok ? undefined : ack.error.code).toBe('INTERNAL');
    expect(JSON.stringify(ack)).not.toContain('secret detail');
    expect(lines.filter((l) => l['msg'] === 'request failed unexpectedly')).toHaveLength(1);
    expect(source.inflight.size).toBe(0);
  });
});
