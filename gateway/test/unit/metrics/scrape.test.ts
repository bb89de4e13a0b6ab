import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MAX_SCRAPE_NAMES, scrapeFilter, scrapeText } from '../../../src/metrics/scrape.ts';

function registry(): { registry: Registry; counter: Counter<'code'> } {
  const r = new Registry();
  r.setDefaultLabels({ node: 'n1' });
  collectDefaultMetrics({ register: r, prefix: 'stayline_' });
  const counter = new Counter({
    name: 'stayline_test_total',
    help: 'test',
    labelNames: ['code'],
    registers: [r],
  });
  return { registry: r, counter };
}

const families = (text: string): string[] => [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!);
const value = (text: string, series: string): number =>
  Number(new RegExp(`^${series}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

/** Spends `ms` of this process's CPU time (not wall time: a busy machine must not shorten it). */
function burnCpu(ms: number): void {
  const start = process.cpuUsage();
  const spent = (): number => {
    const now = process.cpuUsage(start);
    return (now.user + now.system) / 1000;
  };
  while (spent() < ms) for (let i = 0; i < 10_000; i++) Math.sqrt(i);
}

describe('scrapeText', () => {
  it('gives a named family exactly as the full scrape does, and nothing else', async () => {
    const { registry: r, counter } = registry();
    counter.inc({ code: 'A' }, 3);
    counter.inc({ code: 'B' });
    const full = await r.metrics();
    const section = full.split('\n\n').find((s) => s.includes('# TYPE stayline_test_total'));
    expect(await scrapeText(r, ['stayline_test_total', 'stayline_no_such_metric'])).toBe(
      `${section?.trimEnd()}\n`,
    );
    expect(await scrapeText(r, ['stayline_no_such_metric'])).toBe('');
  });

  it("keeps registry order and reads Node's grouped series fresh when only a later member is named", async () => {
    const { registry: r } = registry();
    const names = [
      'stayline_test_total',
      'stayline_process_cpu_seconds_total',
      'stayline_nodejs_eventloop_lag_p99_seconds',
    ];
    const first = await scrapeText(r, names);
    expect(families(first)).toEqual([
      'stayline_process_cpu_seconds_total',
      'stayline_nodejs_eventloop_lag_p99_seconds',
      'stayline_test_total',
    ]);
    burnCpu(60);
    const second = await scrapeText(r, names);
    // prom-client sets the CPU series in the collect of process_cpu_user_seconds_total, which was not named.
    expect(value(second, 'stayline_process_cpu_seconds_total')).toBeGreaterThanOrEqual(
      value(first, 'stayline_process_cpu_seconds_total') + 0.05,
    );
    expect(value(second, 'stayline_nodejs_eventloop_lag_p99_seconds')).toBeGreaterThan(0);
  });

  it('is the full scrape without a filter', async () => {
    const { registry: r } = registry();
    expect(families(await scrapeText(r))).toEqual(families(await r.metrics()));
  });
});

describe('scrapeFilter', () => {
  const parse = (query: string) => scrapeFilter(new URLSearchParams(query));
  it('reads name[] and name, and nothing means everything', () => {
    expect(parse('name[]=a&name=b&name[]=c')).toEqual({ names: ['a', 'c', 'b'] });
    expect(parse('other=1')).toEqual({});
  });
  it('refuses too many names and empty or overlong ones', () => {
    const many = Array.from({ length: MAX_SCRAPE_NAMES + 1 }, (_, i) => `name[]=m${i}`).join('&');
    expect(parse(many)).toHaveProperty('error');
    expect(parse('name[]=')).toHaveProperty('error');
    expect(parse(`name=${'x'.repeat(201)}`)).toHaveProperty('error');
    expect(
      parse(Array.from({ length: MAX_SCRAPE_NAMES }, (_, i) => `name[]=m${i}`).join('&')),
    ).toHaveProperty('names');
  });
});
