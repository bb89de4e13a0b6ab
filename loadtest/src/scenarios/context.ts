/**
 * What every scenario gets from the CLI (targets, tokens, client policy, scale), and the plumbing they
 * share: a run (workers + records + probes + progress line), client specs, waiting, and the report frame.
 */
import { cpus } from 'node:os';
import type { BackoffPolicy } from '../backoff.ts';
import { RELAXED_LIMITS, SHIPPED_LIMITS, type LocalCluster } from '../../../dev/local-cluster.ts';
import { Probes } from '../probes.ts';
import { ADMISSION_LIMITS, type AdmissionLimit, type Report, type Table } from '../report/report.ts';
import { checkSlo, type SloMetric } from '../report/slo.ts';
import type { LatencySummary } from '../report/stats.ts';
import { RunState } from '../run-state.ts';
import { userToken, type TokenSource } from '../tokens.ts';
import type { ClientAction, ClientKind, ClientRecord, ClientSpec } from '../workers/messages.ts';
import { WorkerPool } from '../workers/pool.ts';

export interface Context {
  /** Gateway URLs (loopback only). */
  urls: string[];
  cluster: LocalCluster | undefined;
  tokens: TokenSource;
  /** Synthetic user ids are `<prefix><n>`; a fresh prefix per run keeps runs apart in Redis. */
  userPrefix: string;
  policy: BackoffPolicy;
  /** Which client carries the users (`--client`): `lean` (default, scale) or `sdk` (the real SDK). */
  client: ClientKind;
  /** Worker processes; 0 = one per 5,000 clients, at least 1, at most the core count + 2. */
  workers: number;
  /** Source addresses (127.0.0.x) to spread connections over; empty = let the kernel pick. */
  sourceAddresses: string[];
  connectTimeoutMs: number;
  /** Hard bound on the whole run; no attempt starts after it. */
  maxSeconds: number;
  serviceToken: string | undefined;
  redisUrl: string | undefined;
  progress: boolean;
  thresholds: Map<SloMetric, number>;
  command: string;
  /**
   * The started gateways carry the CPU-profile preload (`--profile-nodes`): SIGUSR2 starts a node's
   * profiler, a second SIGUSR2 writes the profile as `<pid>.cpuprofile` into this directory (absolute).
   */
  profileNodes?: string;
  /** Register a cleanup (ends processes by pid) for errors and Ctrl-C. */
  onCleanup(fn: () => void | Promise<void>): void;
}

export interface Run {
  ctx: Context;
  pool: WorkerPool;
  state: RunState;
  probes: Probes;
  startedAt: Date;
  now(): number;
  markers: Report['markers'];
  finish(): Promise<{ open: number; fanout: Awaited<ReturnType<WorkerPool['report']>>['fanout'] }>;
}

export function workerCount(ctx: Context, clients: number): number {
  if (ctx.workers > 0) return ctx.workers;
  // At least one per core from 500 clients on: a worker is one event loop, and fan-out deliveries or a
  // herd of handshakes saturate one long before 5,000 idle clients do.
  const floor = clients >= 500 ? cpus().length : 1;
  return Math.max(floor, Math.min(cpus().length + 2, Math.ceil(clients / 5000)));
}

/** Starts workers, probes and the progress line; `tap` sees every record after the run state has. */
export async function openRun(
  ctx: Context,
  clients: number,
  tap?: (record: ClientRecord) => void,
): Promise<Run> {
  const state = new RunState();
  const pool = await WorkerPool.start({
    workers: workerCount(ctx, clients),
    policy: ctx.policy,
    client: ctx.client,
    connectTimeoutMs: ctx.connectTimeoutMs,
    stopAtMs: ctx.maxSeconds * 1000,
    onRecord: (r) => {
      state.onRecord(r);
      tap?.(r);
    },
  });
  ctx.onCleanup(() => pool.close());
  const probes = new Probes({
    now: () => pool.now(),
    testerCpuMs: () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    },
    workerCpuMs: () => pool.cpuByWorker(),
    nodeUrls: () => ctx.urls,
    redisUrl: ctx.redisUrl,
  });
  probes.start();
  const tty = process.stderr.isTTY;
  let ticks = 0;
  const timer = setInterval(() => {
    if (!ctx.progress) return;
    const line = state.progress(pool.now());
    if (tty) process.stderr.write(`\r${line}\x1b[K`);
    else if (ticks++ % 5 === 0) process.stderr.write(`${line}\n`);
  }, 1000);
  timer.unref();
  const startedAt = new Date();
  return {
    ctx,
    pool,
    state,
    probes,
    startedAt,
    now: () => pool.now(),
    markers: [],
    async finish() {
      clearInterval(timer);
      if (ctx.progress && tty) process.stderr.write('\n');
      probes.stop();
      const result = await pool.report('finish');
      pool.close();
      return result;
    },
  };
}

/** A client spec for synthetic user `index`, spreading nodes and source addresses. */
export function clientSpec(
  ctx: Context,
  index: number,
  options: {
    label: string;
    startAt: number;
    setup?: ClientAction[];
    reconnect: boolean;
    urls?: string[];
    userIndex?: number;
    prefix?: string;
  },
): ClientSpec {
  const urls = options.urls ?? ctx.urls;
  const { userId, token } = userToken(
    ctx.tokens,
    options.prefix ?? ctx.userPrefix,
    options.userIndex ?? index,
  );
  const first = index % urls.length;
  const source =
    ctx.sourceAddresses.length > 0 ? ctx.sourceAddresses[index % ctx.sourceAddresses.length] : undefined;
  return {
    id: index,
    userId,
    token,
    urls: [...urls.slice(first), ...urls.slice(0, first)],
    ...(source === undefined ? {} : { localAddress: source }),
    startAt: options.startAt,
    setup: options.setup ?? [],
    reconnect: options.reconnect,
    label: options.label,
  };
}

/** Polls `done` every 100 ms until true or `timeoutMs`; resolves whether it became true. */
export async function waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The report frame every scenario fills: timeline, probes, limiter, SLO. */
export function buildReport(
  run: Run,
  parts: {
    scenario: string;
    options: Record<string, unknown>;
    clients: number;
    counts: Record<string, number>;
    latency: Record<string, LatencySummary>;
    metrics: Partial<Record<SloMetric, number>>;
    tables?: Table[];
    notes?: string[];
    /** Checks this scenario always makes (e.g. storm: never-restored=0), overridable by --slo. */
    defaultThresholds?: [SloMetric, number][];
  },
): Report {
  const { ctx, state } = run;
  const thresholds = new Map<SloMetric, number>([...(parts.defaultThresholds ?? []), ...ctx.thresholds]);
  const checks = checkSlo(thresholds, parts.metrics);
  const pairs = Math.max(1, ctx.urls.length) * Math.max(1, ctx.sourceAddresses.length);
  return {
    tool: 'stayline-loadtest',
    version: 1,
    scenario: parts.scenario,
    command: ctx.command,
    startedAt: run.startedAt.toISOString(),
    durationSeconds: run.now() / 1000,
    target: {
      urls: ctx.urls,
      localCluster: ctx.cluster
        ? { nodes: ctx.cluster.nodes.length, limits: clusterLimits(ctx.cluster.env) }
        : null,
    },
    options: {
      policy: ctx.policy,
      client: ctx.client,
      workers: run.pool.size,
      sourceAddresses: ctx.sourceAddresses,
      ...parts.options,
    },
    clients: { total: parts.clients, workers: run.pool.size, peakConcurrent: state.peakUp },
    // Every scenario says how many clients their policy gave up on (socketio: after a connect_error).
    counts: {
      ...parts.counts,
      stranded: state.stranded.size,
      ...Object.fromEntries([...state.strandedByCode()].map(([code, n]) => [`stranded:${code}`, n])),
    },
    errorsByCode: Object.fromEntries([...state.errors].sort((a, b) => b[1] - a[1])),
    latency: parts.latency,
    metrics: parts.metrics,
    slo: { checks, pass: checks.every((c) => c.pass) },
    timeline: state.timeline.samples(),
    probes: run.probes.samples,
    limiter: run.probes.verdict({ perPair: Math.ceil(state.peakUp / pairs) }),
    tables: parts.tables ?? [],
    markers: run.markers,
    notes: [...(parts.notes ?? []), ...relaxedLimitsNote(ctx), ...gatewayErrors(ctx)],
  };
}

/** The admission limits the started nodes were given (absent: the gateway's default). */
function clusterLimits(
  env: Readonly<Record<string, string | undefined>>,
): Partial<Record<AdmissionLimit, string>> {
  return Object.fromEntries(ADMISSION_LIMITS.flatMap((k) => (env[k] === undefined ? [] : [[k, env[k]]])));
}

/**
 * Says so when the started nodes ran with the load tester's relaxed admission (HANDSHAKES_PER_SECOND
 * 1,000,000): a figure read from such a run is the path's, not the shipped settings'. Storm figures were
 * once reported as "defaults" that were not (docs/benchmarks.md §6a, correction).
 */
function relaxedLimitsNote(ctx: Context): string[] {
  if (!ctx.cluster) return [];
  const limits = clusterLimits(ctx.cluster.env);
  if (limits.HANDSHAKES_PER_SECOND !== RELAXED_LIMITS.HANDSHAKES_PER_SECOND) return [];
  const given = ADMISSION_LIMITS.map((k) => `${k}=${limits[k] ?? '(default)'}`).join(', ');
  const shipped = ADMISSION_LIMITS.map((k) => `${k}=${SHIPPED_LIMITS[k]}`).join(',');
  return [
    `the started nodes ran with the load tester's relaxed admission (${given}), not the gateway's shipped limits: pass --cluster-env ${shipped} to measure those`,
  ];
}

/** The first error lines the started gateways logged (pino level 50+), so an INTERNAL has a cause. */
function gatewayErrors(ctx: Context): string[] {
  if (!ctx.cluster) return [];
  const lines = ctx.cluster.nodes.flatMap((n) =>
    n
      .output()
      .split('\n')
      .filter((l) => /"level":(50|60)/.test(l)),
  );
  if (lines.length === 0) return [];
  return [
    `the started gateways logged ${lines.length} error line(s); first: ${(lines[0] ?? '').slice(0, 400)}`,
  ];
}

/** Asks one lean client which optional features the server answers (queue, seats). */
export { defineEvent, probeFeatures } from './features.ts';
