/**
 * A series of kill storms read back from their JSON reports (`loadtest summarize`): run by run, the ratio of
 * the gateway's drop → session:restored p99 to stock Socket.IO's drop → ready p99 in the same run, and what
 * the series says about a target on it. One storm's ratio moves by a tenth or two between identical runs on
 * a shared machine (docs/benchmarks.md §6a), so one run cannot show a target met or missed by less than
 * that. The series gives its median, a distribution-free 95 % confidence interval of the median (from order
 * statistics: it assumes nothing of the ratios' distribution, only that runs are independent), and how many
 * runs met the target with the sign test's p-value.
 */

/** One storm, as the series reads it from its report. */
export interface StormRun {
  /** Where the report came from (its file). */
  source: string;
  startedAt: string;
  /** drop → session:restored p99 of the gateway, and drop → ready p99 of stock Socket.IO (ms). */
  gatewayP99Ms: number;
  stockP99Ms: number;
  ratio: number;
  dropped: number;
  restored: number;
  mismatches: number;
  stranded: number;
  /** The admission limits of the nodes the tester started, when it started them (report.target). */
  limits: Readonly<Record<string, string>> | undefined;
}

/** What the series says about a target on the ratio. */
export interface SeriesSummary {
  runs: number;
  target: number;
  median: number;
  min: number;
  max: number;
  /** The 95 % interval of the median and its exact coverage; undefined with fewer than 6 runs. */
  medianInterval: { low: number; high: number; coverage: number } | undefined;
  /** Runs whose ratio is at or under the target. */
  atOrUnder: number;
  /**
   * The sign test: the chance of at least `atOrUnder` runs at or under the target if the median ratio were
   * the target itself. Small: the median is under the target.
   */
  signTestP: number;
  /** True when the whole 95 % interval of the median is at or under the target. */
  met: boolean;
  /** Every run restored every dropped client, with no mismatch and nobody stranded. */
  allRestored: boolean;
  /** The runs' admission limits differ (compare like with like). */
  mixedLimits: boolean;
}

const GATEWAY_LATENCY = 'drop → session:restored';
const STOCK_LATENCY_PREFIX = 'stock Socket.IO drop → ready';

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads one storm report; throws an Error naming `source` when it is not a kill storm with a stock baseline. */
export function readStormRun(report: unknown, source: string): StormRun {
  const fail = (why: string): never => {
    throw new Error(`${source}: ${why}`);
  };
  if (!isRecord(report) || report.scenario !== 'storm') return fail('not a storm report');
  const latency = isRecord(report.latency) ? report.latency : fail('no latency section');
  const p99 = (key: string | undefined): number => {
    const entry = key === undefined ? undefined : latency[key];
    const value = isRecord(entry) ? entry.p99 : undefined;
    return typeof value === 'number' && value > 0
      ? value
      : fail(`no p99 for "${key ?? STOCK_LATENCY_PREFIX}"`);
  };
  const gatewayP99Ms = p99(GATEWAY_LATENCY);
  const stockP99Ms = p99(Object.keys(latency).find((k) => k.startsWith(STOCK_LATENCY_PREFIX)));
  const counts = isRecord(report.counts) ? report.counts : fail('no counts section');
  const count = (key: string): number =>
    typeof counts[key] === 'number' ? counts[key] : fail(`no count "${key}"`);
  const target = isRecord(report.target) ? report.target : {};
  const cluster = isRecord(target.localCluster) ? target.localCluster : {};
  return {
    source,
    startedAt: typeof report.startedAt === 'string' ? report.startedAt : '',
    gatewayP99Ms,
    stockP99Ms,
    ratio: gatewayP99Ms / stockP99Ms,
    dropped: count('dropped'),
    restored: count('restored'),
    mismatches: count('mismatches'),
    stranded: count('stranded'),
    limits: isRecord(cluster.limits) ? (cluster.limits as Record<string, string>) : undefined,
  };
}

/** P(K = i) for K ~ Binomial(n, 1/2), i = 0..n (n up to 1,000: 2^-n stays a normal double). */
function halfBinomial(n: number): number[] {
  const pmf = [Math.pow(0.5, n)];
  for (let i = 1; i <= n; i++) pmf.push((pmf[i - 1]! * (n - i + 1)) / i);
  return pmf;
}

/** Summarises a series of runs against `target`. Throws on an empty series or one over 1,000 runs. */
export function summarizeSeries(runs: readonly StormRun[], target: number): SeriesSummary {
  const n = runs.length;
  if (n === 0) throw new Error('no storm reports to summarise');
  if (n > 1000) throw new Error('at most 1,000 storm reports');
  const sorted = runs.map((r) => r.ratio).sort((a, b) => a - b);
  const median = n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  const pmf = halfBinomial(n);
  // The interval [x(l), x(n+1-l)] (1-based order statistics) misses the median with chance 2·P(K < l):
  // the largest l that keeps that at or under 5 %.
  let below = 0;
  let l = 0;
  while (l < n && 2 * (below + pmf[l]!) <= 0.05) below += pmf[l++]!;
  const medianInterval =
    l === 0 ? undefined : { low: sorted[l - 1]!, high: sorted[n - l]!, coverage: 1 - 2 * below };
  const atOrUnder = sorted.filter((r) => r <= target).length;
  const signTestP = pmf.slice(atOrUnder).reduce((a, b) => a + b, 0);
  const limitKeys = new Set(runs.map((r) => JSON.stringify(r.limits ?? null)));
  return {
    runs: n,
    target,
    median,
    min: sorted[0]!,
    max: sorted[n - 1]!,
    medianInterval,
    atOrUnder,
    signTestP,
    met: medianInterval !== undefined && medianInterval.high <= target,
    allRestored: runs.every((r) => r.restored === r.dropped && r.mismatches === 0 && r.stranded === 0),
    mixedLimits: limitKeys.size > 1,
  };
}

const fixed = (x: number, digits = 2): string => x.toFixed(digits);

/** The series as text: one line per run, then the summary. */
export function formatSeries(runs: readonly StormRun[], s: SeriesSummary): string[] {
  const lines = [
    `storm series: ${s.runs} run(s), gateway drop → restored p99 / stock drop → ready p99, target ≤ ${s.target}`,
    '  run | started | HANDSHAKES_PER_SECOND | gateway p99 ms | stock p99 ms | ratio | restored | mismatches | stranded',
  ];
  for (const r of runs) {
    lines.push(
      `  ${r.source} | ${r.startedAt} | ${r.limits?.['HANDSHAKES_PER_SECOND'] ?? '—'} | ${Math.round(r.gatewayP99Ms)} | ` +
        `${Math.round(r.stockP99Ms)} | ${fixed(r.ratio)} | ${r.restored}/${r.dropped} | ${r.mismatches} | ${r.stranded}`,
    );
  }
  const interval =
    s.medianInterval === undefined
      ? 'no 95 % interval of the median (it takes at least 6 runs)'
      : `95 % interval of the median ${fixed(s.medianInterval.low)}-${fixed(s.medianInterval.high)} ` +
        `(exact coverage ${fixed(100 * s.medianInterval.coverage, 1)} %)`;
  lines.push(
    `  ratio: median ${fixed(s.median)}, range ${fixed(s.min)}-${fixed(s.max)}; ${interval}`,
    `  at or under ${s.target}: ${s.atOrUnder} of ${s.runs} (sign test p = ${s.signTestP.toPrecision(2)})`,
    `  target ${s.met ? 'met: the whole interval of the median is at or under it' : 'not shown: the interval of the median reaches over it, or there are too few runs'}`,
  );
  if (!s.allRestored) lines.push('  note: a run did not restore every dropped client cleanly (see its row)');
  if (s.mixedLimits) lines.push('  note: the runs had different admission limits; compare like with like');
  return lines;
}
