/**
 * `fanout --baseline volatile|plain --rounds N`: steady fanout against a baseline, passes alternating in one
 * run (A B, B A, A B ...) so the machine's noise falls on both sides alike; each pass connects its own
 * members and publishes at the same rate to the same room sizes.
 * - `volatile`: the same gateway nodes, publishes with `volatile: true` (no history: socket.io's room
 *   broadcast through the adapter). With HISTORY_SIZE > 0 this is history's cost on fanout (issue 12).
 * - `plain`: as many stock socket.io nodes with `@socket.io/redis-adapter` on the same Redis
 *   (gateway/bench/plain-server.ts: `room:join` joins, `POST /v1/publish` is `io.to(room).emit`), no
 *   Stayline code (issue 15).
 * One short unmeasured pass of each side warms the processes up first. The ratio is the gateway pass's p99
 * over the baseline pass's in the same round; the report gives every round and the median, and the gap
 * waits the gateway's sequencers counted in each gateway pass (0 expected in steady state).
 */
import { loadavg } from 'node:os';
import { startPlain } from '../../../dev/local-cluster.ts';
import type { Report, Table } from '../report/report.ts';
import type { LatencySummary } from '../report/stats.ts';
import { buildReport, type Context } from './context.ts';
import { fanoutPass, type FanoutOptions, type FanoutPass, type FanoutTarget } from './fanout.ts';

interface PassRow {
  round: number;
  side: 'gateway' | 'baseline';
  latency: LatencySummary | undefined;
  expected: number;
  delivered: number;
  duplicates: number;
  publishErrors: number;
  /** The tester's busiest worker at its peak (cores): the client side's own limit. */
  workerPeakCores: number;
  /** Gap waits the gateway nodes counted during the pass (stayline_history_gap_waits_total). */
  gapWaits: number | undefined;
  /** The machine's 1-minute load average at the pass's end: how shared the 2 cores were. */
  load: number;
}

const median = (xs: number[]): number | undefined => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

const round2 = (x: number | undefined): number | null => (x === undefined ? null : Math.round(x * 100) / 100);

/** The gateway nodes' stayline_history_gap_waits_total, summed; undefined when a node did not answer. */
async function gapWaits(urls: readonly string[]): Promise<number | undefined> {
  let sum = 0;
  for (const url of urls) {
    try {
      const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) });
      const m = /^stayline_history_gap_waits_total (\d+)/m.exec(await res.text());
      sum += Number(m?.[1] ?? 0);
    } catch {
      return undefined;
    }
  }
  return sum;
}

function rowOf(
  round: number,
  side: PassRow['side'],
  sizes: number[],
  pass: FanoutPass,
  waits: number | undefined,
): PassRow {
  let expected = 0;
  let delivered = 0;
  let duplicates = 0;
  for (const size of sizes) {
    expected += (pass.accepted.get(size) ?? 0) * size;
    const tally = pass.fanout.rooms.get(`fanout-${size}`);
    delivered += tally?.unique ?? 0;
    duplicates += tally?.duplicates ?? 0;
  }
  return {
    round,
    side,
    latency: pass.fanout.latency.get('all')?.summary(),
    expected,
    delivered,
    duplicates,
    publishErrors: pass.publishErrors,
    gapWaits: waits,
    workerPeakCores: Math.max(0, ...pass.run.probes.samples.map((p) => p.busiestWorkerCores)),
    load: loadavg()[0] ?? 0,
  };
}

/** Runs the alternating passes and reports them side by side. */
export async function runFanoutComparison(ctx: Context, o: FanoutOptions): Promise<Report> {
  let baseline: FanoutTarget;
  if (o.baseline === 'plain') {
    const cluster = ctx.cluster;
    if (cluster === undefined)
      throw new Error('--baseline plain needs --start-cluster (it starts its own nodes)');
    const nodes = await Promise.all(cluster.nodes.map(() => startPlain(cluster.redis.url)));
    ctx.onCleanup(() => {
      for (const n of nodes) n.child.kill('SIGKILL');
    });
    baseline = { urls: nodes.map((n) => n.url), volatile: false, prefix: `${ctx.userPrefix}plain-` };
  } else baseline = { urls: ctx.urls, volatile: true, prefix: `${ctx.userPrefix}volatile-` };
  const gateway = (round: number): FanoutTarget => ({
    urls: ctx.urls,
    volatile: false,
    prefix: `${ctx.userPrefix}r${round}-`,
  });

  // One short pass of each side first, not counted: fresh processes compile and warm up on their first
  // messages, which would otherwise land in round 0's p99 (the first history round was always slow).
  const warm = { ...o, durationSeconds: Math.min(3, o.durationSeconds) };
  await fanoutPass(ctx, warm, { ...gateway(-1), prefix: `${ctx.userPrefix}warm-` });
  await fanoutPass(ctx, warm, { ...baseline, prefix: `${baseline.prefix}warm-` });

  const rows: PassRow[] = [];
  let last: FanoutPass | undefined;
  for (let round = 0; round < o.rounds; round++) {
    // A B, then B A: a drift in the machine's load does not favour one side.
    const order: PassRow['side'][] = round % 2 === 0 ? ['gateway', 'baseline'] : ['baseline', 'gateway'];
    for (const side of order) {
      const target =
        side === 'gateway' ? gateway(round) : { ...baseline, prefix: `${baseline.prefix}r${round}-` };
      const waitsBefore = await gapWaits(ctx.urls);
      last = await fanoutPass(ctx, o, target);
      const waitsAfter = await gapWaits(ctx.urls);
      const waits =
        waitsBefore === undefined || waitsAfter === undefined ? undefined : waitsAfter - waitsBefore;
      rows.push(rowOf(round, side, o.sizes, last, waits));
      if (ctx.progress) {
        const l = rows.at(-1)?.latency;
        console.error(`round ${round} ${side}: p50 ${l?.p50 ?? '-'} p99 ${l?.p99 ?? '-'} ms`);
      }
    }
  }
  if (last === undefined) throw new Error('--rounds must be at least 1');

  const ratios: { p50: number[]; p99: number[] } = { p50: [], p99: [] };
  const table: Table['rows'] = [];
  for (let round = 0; round < o.rounds; round++) {
    const g = rows.find((r) => r.round === round && r.side === 'gateway');
    const b = rows.find((r) => r.round === round && r.side === 'baseline');
    const ratio = (k: 'p50' | 'p99'): number | undefined => {
      const gv = g?.latency?.[k];
      const bv = b?.latency?.[k];
      return gv === undefined || bv === undefined || bv <= 0 ? undefined : gv / bv;
    };
    const r50 = ratio('p50');
    const r99 = ratio('p99');
    if (r50 !== undefined) ratios.p50.push(r50);
    if (r99 !== undefined) ratios.p99.push(r99);
    table.push([
      round,
      round2(b?.latency?.p50),
      round2(b?.latency?.p99),
      round2(g?.latency?.p50),
      round2(g?.latency?.p99),
      round2(r50),
      round2(r99),
      g?.gapWaits ?? null,
      `${round2(b?.workerPeakCores)} / ${round2(g?.workerPeakCores)}`,
      `${round2(b?.load)} / ${round2(g?.load)}`,
    ]);
  }
  const sum = (side: PassRow['side'], k: 'expected' | 'delivered' | 'duplicates' | 'publishErrors') =>
    rows.filter((r) => r.side === side).reduce((a, r) => a + r[k], 0);
  const medianP99 = median(ratios.p99);
  const perSecond = (o.rate / o.sizes.length) * o.sizes.reduce((a, b) => a + b, 0);
  return buildReport(last.run, {
    scenario: 'fanout',
    options: { ...o },
    clients: last.total,
    counts: {
      members: last.members,
      rounds: o.rounds,
      deliveriesPerSecond: Math.round(perSecond),
      gatewayExpected: sum('gateway', 'expected'),
      gatewayDelivered: sum('gateway', 'delivered'),
      gatewayDuplicates: sum('gateway', 'duplicates'),
      gatewayPublishErrors: sum('gateway', 'publishErrors'),
      baselineExpected: sum('baseline', 'expected'),
      baselineDelivered: sum('baseline', 'delivered'),
      baselineDuplicates: sum('baseline', 'duplicates'),
      baselinePublishErrors: sum('baseline', 'publishErrors'),
      ...(medianP99 === undefined ? {} : { p99RatioMedian: round2(medianP99) ?? 0 }),
      ...(ratios.p99.length === 0
        ? {}
        : {
            p99RatioMin: round2(Math.min(...ratios.p99)) ?? 0,
            p99RatioMax: round2(Math.max(...ratios.p99)) ?? 0,
          }),
      ...(ratios.p50.length === 0 ? {} : { p50RatioMedian: round2(median(ratios.p50)) ?? 0 }),
    },
    latency: Object.fromEntries(
      rows.flatMap((r) => (r.latency ? [[`delivery r${r.round} ${r.side}`, r.latency]] : [])),
    ),
    metrics: {},
    tables: [
      {
        title: `Steady fanout, gateway (history unless HISTORY_SIZE=0) vs ${o.baseline === 'plain' ? 'plain socket.io + redis-adapter' : 'volatile publishes'}`,
        columns: [
          'round',
          'baseline p50 ms',
          'baseline p99 ms',
          'gateway p50 ms',
          'gateway p99 ms',
          'p50 ratio',
          'p99 ratio',
          'gateway gap waits',
          'tester worker peak cores (baseline / gateway)',
          'load average (baseline / gateway)',
        ],
        rows: table,
      },
    ],
    notes: [
      `about ${Math.round(perSecond)} deliveries/s per pass; passes alternate A B, B A; the ratio is gateway over baseline in the same round.`,
    ],
  });
}
