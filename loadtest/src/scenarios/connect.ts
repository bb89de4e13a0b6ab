/**
 * `connect`: an open-loop ramp. Each step opens `rate` new connections per second for `stepSeconds`, on a
 * fixed schedule whatever the server does (closed loops hide a slow server), each closing politely once
 * `session:restored` arrives. The knee is the highest rate whose p99 (attempt → session:restored) stays
 * under the bound with no errors. With `--plain` the same ramp runs against the plain socket.io baseline,
 * in the same run.
 */
import type { Report, Table } from '../report/report.ts';
import { buildReport, clientSpec, openRun, sleep, waitUntil, type Context, type Run } from './context.ts';

export interface ConnectOptions {
  rates: number[];
  stepSeconds: number;
  boundMs: number;
  /** URL of a plain socket.io server to ramp the same way, or undefined. */
  plainUrl: string | undefined;
  /** Keep ramping after the first failing step. */
  continueAfterFail: boolean;
  /**
   * Length of an unmeasured step at the first rate on each target before the ramp (0: none). A fresh
   * process compiles and grows its heap on its first thousand connects; without a warm-up the first step
   * measures that, not the server (the gateway failed its first 600/s step cold and passed 1,200/s after).
   */
  warmupSeconds: number;
}

interface StepResult {
  target: string;
  rate: number;
  clients: number;
  restored: number;
  errors: number;
  achievedPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  pass: boolean;
}

/** One step: `rate` connects per second for `stepSeconds` against `urls`; ids from `firstIndex`. */
async function step(
  run: Run,
  target: string,
  urls: string[],
  rate: number,
  o: ConnectOptions,
  firstIndex: number,
): Promise<StepResult> {
  const { ctx, state } = run;
  const label = `${target}@${rate}`;
  const n = Math.max(1, Math.round(rate * o.stepSeconds));
  const start = run.now() + 300;
  const ids = Array.from({ length: n }, (_, k) => firstIndex + k);
  run.markers.push({ t: start / 1000, label: `${target} ${rate}/s` });
  const errorsBefore = state.errorCount();
  run.pool.add(
    ids.map((id, k) => ({
      ...clientSpec(ctx, id, { label, startAt: start + (k * 1000) / rate, reconnect: false, urls }),
      closeAfterRestore: true,
    })),
  );
  const settled = (id: number): boolean => state.firstUpAt.has(id) || state.failed.has(id);
  await waitUntil(
    () => state.attemptsByLabel.get(label) === n && ids.every(settled),
    o.stepSeconds * 1000 + ctx.connectTimeoutMs + 5000,
  );
  const latency = state.connectLatency.get(label).summary();
  const ups = ids.map((id) => state.firstUpAt.get(id)).filter((t): t is number => t !== undefined);
  const spanS = ups.length > 1 ? (Math.max(...ups) - start) / 1000 : o.stepSeconds;
  const errors = state.errorCount() - errorsBefore + (n - ids.filter(settled).length);
  const result: StepResult = {
    target,
    rate,
    clients: n,
    restored: ups.length,
    errors,
    achievedPerSecond: ups.length / Math.max(0.001, spanS),
    p50: latency.p50,
    p99: latency.p99,
    max: latency.max,
    pass: errors === 0 && ups.length === n && latency.p99 <= o.boundMs,
  };
  if (ctx.progress)
    process.stderr.write(
      `\n${target} ${rate}/s: p99 ${result.p99} ms, errors ${errors} → ${result.pass ? 'pass' : 'FAIL'}\n`,
    );
  await sleep(1500); // let closes settle before the next step
  return result;
}

/**
 * The ramp, interleaved: at each rate the gateway step, then the plain step, so both meet the same
 * machine (it is shared and noisy). A target stops after its first failing step.
 */
async function ramp(
  run: Run,
  targets: { name: string; urls: string[] }[],
  o: ConnectOptions,
  firstIndex: number,
): Promise<StepResult[]> {
  const steps: StepResult[] = [];
  const stopped = new Set<string>();
  let index = firstIndex;
  for (const rate of o.rates) {
    for (const t of targets) {
      if (stopped.has(t.name)) continue;
      const result = await step(run, t.name, t.urls, rate, o, index);
      index += result.clients;
      steps.push(result);
      if (!result.pass && !o.continueAfterFail) stopped.add(t.name);
    }
    if (stopped.size === targets.length) break;
  }
  return steps;
}

const knee = (steps: StepResult[]): number => {
  let best = 0;
  for (const s of steps) {
    if (!s.pass) break;
    best = s.rate;
  }
  return best;
};

export async function runConnect(ctx: Context, o: ConnectOptions): Promise<Report> {
  const total = o.rates.reduce((a, r) => a + Math.round(r * o.stepSeconds), 0) * (o.plainUrl ? 2 : 1);
  const run = await openRun(ctx, Math.min(total, 5000));
  const targets = [
    { name: 'gateway', urls: ctx.urls },
    ...(o.plainUrl ? [{ name: 'plain', urls: [o.plainUrl] }] : []),
  ];
  const firstRate = o.rates[0];
  let firstIndex = 0;
  if (o.warmupSeconds > 0 && firstRate !== undefined)
    for (const t of targets) {
      const warm = { ...o, stepSeconds: o.warmupSeconds };
      firstIndex += (await step(run, `${t.name}-warmup`, t.urls, firstRate, warm, firstIndex)).clients;
    }
  const steps = await ramp(run, targets, o, firstIndex);
  await run.finish();
  const gwSteps = steps.filter((s) => s.target === 'gateway');
  const plainSteps = o.plainUrl ? steps.filter((s) => s.target === 'plain') : undefined;
  const gatewayKnee = knee(gwSteps);
  const plainKnee = plainSteps ? knee(plainSteps) : undefined;
  const table: Table = {
    title: `Ramp steps (pass = p99 ≤ ${o.boundMs} ms and no errors)`,
    columns: [
      'target',
      'rate/s',
      'clients',
      'restored',
      'errors',
      'achieved/s',
      'p50 ms',
      'p99 ms',
      'max ms',
      'pass',
    ],
    rows: steps.map((s) => [
      s.target,
      s.rate,
      s.clients,
      s.restored,
      s.errors,
      s.achievedPerSecond,
      s.p50,
      s.p99,
      s.max,
      s.pass ? 'pass' : 'FAIL',
    ]),
  };
  const gwLatency = run.state.connectLatency;
  return buildReport(run, {
    scenario: 'connect',
    options: { ...o },
    clients: steps.reduce((a, s) => a + s.clients, 0),
    counts: {
      gatewayKneePerSecond: gatewayKnee,
      ...(plainKnee !== undefined ? { plainKneePerSecond: plainKnee } : {}),
      ...(plainKnee ? { gatewayToPlainRatio: gatewayKnee / plainKnee } : {}),
      steps: steps.length,
      connects: steps.reduce((a, s) => a + s.restored, 0),
      errors: steps.reduce((a, s) => a + s.errors, 0),
    },
    latency: Object.fromEntries(
      [...gwLatency.byLabel].filter(([k]) => k !== 'all').map(([k, v]) => [`connect ${k}`, v.summary()]),
    ),
    metrics: {
      'knee-per-second': gatewayKnee,
      'p99-connect-ms': gwSteps.find((s) => s.rate === gatewayKnee)?.p99 ?? NaN,
      'connect-failures': gwSteps.reduce((a, s) => a + s.errors, 0),
    },
    tables: [table],
    notes: [
      'Open loop: arrivals follow the schedule whatever the server does; each client closes politely once restored.',
      'Past the knee, expect 1 s / 3 s steps in p99: the listen backlog overflows and clients wait for SYN retransmits.',
    ],
  });
}
