import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BufferedCounter } from '../../../src/metrics/buffered-counter.ts';

/** The same counter twice, plain and buffered, each on a registry of its own. */
function pair(labelNames: string[] = ['code', 'event']) {
  const plainRegistry = new Registry();
  const bufferedRegistry = new Registry();
  const config = { name: 'stayline_test_total', help: 'test', labelNames };
  const plain = new Counter({ ...config, registers: [plainRegistry] });
  const buffered = new BufferedCounter({ ...config, registers: [bufferedRegistry] });
  const both = (fn: (c: Counter<string>) => void): void => {
    fn(plain);
    fn(buffered);
  };
  const same = async (): Promise<string> => {
    const text = await plainRegistry.metrics();
    expect(await bufferedRegistry.metrics()).toBe(text);
    expect(await buffered.get()).toEqual(await plain.get());
    return text;
  };
  return { plain, buffered, both, same };
}

describe('BufferedCounter', () => {
  it('reads exactly as a plain prom-client Counter after the same increments', async () => {
    const { both, same } = pair();
    both((c) => c.inc({ code: 'SEAT_UNAVAILABLE', event: 'seat:hold' }));
    await same();
    for (let i = 0; i < 1000; i++)
      both((c) => {
        c.inc({ code: i % 3 === 0 ? 'RATE_LIMITED' : 'SEAT_UNAVAILABLE', event: 'seat:hold' });
        c.inc({ event: 'seat:release', code: 'OK' }, 2.5);
      });
    const text = await same();
    expect(text).toContain('stayline_test_total{code="SEAT_UNAVAILABLE",event="seat:hold"} 667');
    expect(text).toContain('stayline_test_total{code="RATE_LIMITED",event="seat:hold"} 334');
    expect(text).toContain('stayline_test_total{event="seat:release",code="OK"} 2500');
    // Read twice: the sums are handed over once, not again.
    both((c) => c.inc({ code: 'RATE_LIMITED', event: 'seat:hold' }));
    await same();
    expect(await same()).toContain('{code="RATE_LIMITED",event="seat:hold"} 335');
  });

  it('sums later increments itself and hands them to prom-client only when read', async () => {
    const { buffered } = pair(['code']);
    // prom-client's own store (white box): a plain Counter writes it on every increment.
    const store = () =>
      Object.values((buffered as unknown as { hashMap: Record<string, { value: number }> }).hashMap);
    buffered.inc({ code: 'A' });
    for (let i = 0; i < 99; i++) buffered.inc({ code: 'A' });
    expect(store().map((e) => e.value)).toEqual([1]);
    await buffered.get();
    expect(store().map((e) => e.value)).toEqual([100]);
  });

  it('creates a series at its first increment and counts numbers and strings alike', async () => {
    const { both, same, buffered } = pair(['code']);
    both((c) => c.inc({ code: 5 }));
    both((c) => c.inc({ code: '5' }));
    both((c) => c.inc({ code: 5 }, 0));
    expect(await same()).toContain('stayline_test_total{code="5"} 2');
    expect((await buffered.get()).values).toHaveLength(1);
  });

  it('refuses what prom-client refuses, at once', () => {
    const { buffered } = pair(['code']);
    expect(() => buffered.inc({ nope: 'x' })).toThrow();
    buffered.inc({ code: 'A' });
    expect(() => buffered.inc({ code: 'A' }, -1)).toThrow('It is not possible to decrease a counter');
    expect(() => buffered.inc({ code: 'A' }, Infinity)).toThrow(TypeError);
  });

  it('reset and remove drop what was counted, as on a plain Counter', async () => {
    const { both, same } = pair(['code']);
    both((c) => c.inc({ code: 'A' }, 3));
    both((c) => c.inc({ code: 'A' }));
    both((c) => c.inc({ code: 'B' }));
    both((c) => c.remove({ code: 'A' }));
    expect(await same()).not.toContain('code="A"');
    both((c) => c.inc({ code: 'A' }));
    expect(await same()).toContain('{code="A"} 1');
    both((c) => c.reset());
    both((c) => c.inc({ code: 'B' }));
    expect(await same()).toContain('{code="B"} 1');
  });

  it('leaves an unlabelled counter to prom-client', async () => {
    const { both, same } = pair([]);
    both((c) => c.inc());
    both((c) => c.inc(4));
    expect(await same()).toContain('stayline_test_total 5');
  });
});
