/**
 * `loadtest summarize`: kill-storm reports read back as a series, the median ratio's distribution-free
 * interval and the sign test, against hand-computed values; and the command itself on report files.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readStormRun, summarizeSeries, type StormRun } from '../src/report/storm-series.ts';

/** A storm report as `storm --json` writes it, reduced to what the series reads. */
function report(gatewayP99: number, stockP99: number, over: Record<string, unknown> = {}): unknown {
  return {
    scenario: 'storm',
    startedAt: '2026-12-05T18:00:00.000Z',
    target: { localCluster: { nodes: 3, limits: { HANDSHAKES_PER_SECOND: '2000' } } },
    counts: { dropped: 3334, restored: 3334, mismatches: 0, stranded: 0 },
    latency: {
      'drop → session:restored': { count: 3334, p50: 1500, p99: gatewayP99 },
      'stock Socket.IO drop → ready (no auth)': { count: 3334, p50: 1200, p99: stockP99 },
    },
    ...over,
  };
}

const runs = (ratios: readonly number[]): StormRun[] =>
  ratios.map((r, i) => readStormRun(report(1000 * r, 1000), `run-${i}`));

/** P(K >= k), K ~ Binomial(n, 1/2), by counting subsets. */
function tail(n: number, k: number): number {
  let count = 0;
  for (let mask = 0; mask < 2 ** n; mask++) {
    let bits = 0;
    for (let m = mask; m > 0; m >>= 1) bits += m & 1;
    if (bits >= k) count++;
  }
  return count / 2 ** n;
}

describe('storm series', () => {
  it('reads the ratio, the counts and the limits of a storm report', () => {
    const run = readStormRun(report(2100, 1750), 'a.json');
    expect(run).toMatchObject({
      source: 'a.json',
      gatewayP99Ms: 2100,
      stockP99Ms: 1750,
      dropped: 3334,
      restored: 3334,
      limits: { HANDSHAKES_PER_SECOND: '2000' },
    });
    expect(run.ratio).toBeCloseTo(1.2, 10);
  });

  it('refuses, naming the file, a report that is not a storm with a stock baseline', () => {
    expect(() => readStormRun({ scenario: 'connect' }, 'c.json')).toThrow(/^c\.json: not a storm report/);
    const noStock = report(2000, 1);
    delete (noStock as { latency: Record<string, unknown> }).latency[
      'stock Socket.IO drop → ready (no auth)'
    ];
    expect(() => readStormRun(noStock, 'd.json')).toThrow(
      /^d\.json: no p99 for "stock Socket\.IO drop → ready"/,
    );
  });

  it('takes the widest order-statistic interval that still covers the median 95 % of the time', () => {
    // n = 6: only [min, max] qualifies, missing the median with 2/64.
    const six = summarizeSeries(runs([1.1, 1.0, 1.15, 1.05, 1.12, 1.08]), 1.2);
    expect(six.medianInterval).toEqual({ low: 1.0, high: 1.15, coverage: 1 - 2 / 64 });
    expect(six.median).toBeCloseTo(1.09, 10);
    expect(six.met).toBe(true);
    // n = 11: the 2nd to the 10th (2·P(K <= 1) = 24/2048; the 3rd to the 9th would miss 2·67/2048 > 5 %).
    const ratios = [0.79, 1.14, 1.24, 1.1, 1.07, 1.19, 1.25, 1.14, 1.2, 1.16, 1.2];
    const eleven = summarizeSeries(runs(ratios), 1.2);
    const sorted = [...ratios].sort((a, b) => a - b);
    expect(eleven.medianInterval).toEqual({ low: sorted[1], high: sorted[9], coverage: 1 - 24 / 2048 });
    expect(eleven.median).toBe(1.16);
    expect(eleven.met).toBe(false); // the interval reaches 1.24
    expect(eleven.atOrUnder).toBe(9);
  });

  it('gives the sign test the exact binomial tail, and no interval under six runs', () => {
    const nine = summarizeSeries(runs([1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.1, 1.3, 1.3]), 1.2);
    expect(nine.atOrUnder).toBe(7);
    expect(nine.signTestP).toBeCloseTo(tail(9, 7), 12);
    expect(nine.signTestP).toBeCloseTo(46 / 512, 12);
    const five = summarizeSeries(runs([1, 1, 1, 1, 1]), 1.2);
    expect(five.medianInterval).toBeUndefined();
    expect(five.met).toBe(false);
    expect(five.signTestP).toBeCloseTo(1 / 32, 12);
  });

  it('flags a run that did not restore everyone cleanly, and runs with different limits', () => {
    const clean = readStormRun(report(1000, 1000), 'a');
    const stranded = readStormRun(
      report(1000, 1000, {
        counts: { dropped: 3334, restored: 3330, mismatches: 0, stranded: 4 },
        target: { localCluster: { nodes: 3, limits: { HANDSHAKES_PER_SECOND: '1000000' } } },
      }),
      'b',
    );
    const s = summarizeSeries([clean, stranded], 1.2);
    expect(s.allRestored).toBe(false);
    expect(s.mixedLimits).toBe(true);
    expect(summarizeSeries([clean, clean], 1.2)).toMatchObject({ allRestored: true, mixedLimits: false });
  });
});

describe('loadtest summarize', () => {
  const dir = mkdtempSync(join(tmpdir(), 'series-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const summarize = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'loadtest/src/cli.ts', 'summarize', ...args], {
      encoding: 'utf8',
      timeout: 30_000,
    });
  const files = [1.1, 1.0, 1.15, 1.05, 1.12, 1.08].map((r, i) => {
    const file = join(dir, `storm-${i}.json`);
    writeFileSync(file, JSON.stringify(report(1000 * r, 1000)));
    return file;
  });

  it('prints each run and the series, and exits 1 with --exit-code when the target is not shown', () => {
    const met = summarize(...files, '--exit-code');
    expect(met.status).toBe(0);
    expect(met.stdout).toContain('storm series: 6 run(s)');
    expect(met.stdout).toContain(
      'ratio: median 1.09, range 1.00-1.15; 95 % interval of the median 1.00-1.15',
    );
    expect(met.stdout).toContain('at or under 1.2: 6 of 6 (sign test p = 0.016)');
    expect(met.stdout).toMatch(/target met/);
    const strict = summarize(...files, '--target', '1.1', '--exit-code');
    expect(strict.status).toBe(1);
    expect(strict.stdout).toMatch(/target not shown/);
  });

  it('stops with one line and exit 2 on a file that is not a storm report', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ scenario: 'idle' }));
    const r = summarize(files[0]!, bad);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(`loadtest summarize: ${bad}: not a storm report`);
  });
});
