/**
 * `storm`: N sessions with real state (rooms; a queue place and a held seat when the server serves them),
 * snapshot from the acks, then the storm — SIGKILL or SIGTERM of a node the tester started, every
 * transport reset from the client side, or a black hole only heartbeats detect. Each dropped client
 * reconnects with the chosen policy; its restored session is compared with its snapshot. Optionally the
 * same number of fresh users then connect with the same arrival profile, for comparison.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { timeToFraction } from '../report/stats.ts';
import type { Report } from '../report/report.ts';
import type { ClientAction } from '../workers/messages.ts';
import {
  buildReport,
  clientSpec,
  defineEvent,
  openRun,
  probeFeatures,
  sleep,
  waitUntil,
  type Context,
} from './context.ts';
import { userToken } from '../tokens.ts';
import type { Features } from './features.ts';
import type { ProbeSample } from '../probes.ts';
import { runStockStorm, type StockAuth, type StockStormResult } from './stock-storm.ts';

/** How long the storm waits for the profiled nodes to write their profiles (a few MB of JSON each). */
const PROFILE_WRITE_TIMEOUT_MS = 15_000;

export type StormMode = 'kill' | 'drain' | 'drop' | 'blackhole';

export interface StormOptions {
  clients: number;
  mode: StormMode;
  /** Index (0-based) of the node to kill or drain. */
  node: number;
  roomsPerClient: number;
  /** Distinct rooms; clients pick theirs round-robin. */
  roomCount: number;
  eventId: string;
  /** Setup connects per second. */
  rampPerSecond: number;
  restoreTimeoutSeconds: number;
  baseline: boolean;
  /** Also take a queue place and hold a seat (defining the event when a service token is at hand). */
  claims: boolean;
  /** The heartbeat the target uses (pingInterval + pingTimeout), to wait out a black hole. */
  heartbeatMs: number;
  /** With `kill`: also storm stock Socket.IO nodes (same count, clients, policy) in this run; undefined = no. */
  stock: StockAuth | undefined;
}

export async function runStorm(ctx: Context, o: StormOptions): Promise<Report> {
  if ((o.mode === 'kill' || o.mode === 'drain') && !ctx.cluster)
    throw new Error(`--${o.mode} needs --start-cluster (the tester only signals processes it started)`);
  const notes: string[] = [];
  let features: Features = {
    queue: false,
    seats: false,
    why: { queue: 'skipped (--no-claims)', seats: 'skipped (--no-claims)' },
  };
  if (o.claims) {
    notes.push(
      await defineEvent(
        ctx.urls[0] ?? '',
        ctx.serviceToken,
        o.eventId,
        Array.from({ length: o.clients }, (_, i) => `S${i}`),
      ),
    );
    const probeUser = userToken(ctx.tokens, `${ctx.userPrefix}probe-`, 0);
    features = await probeFeatures(ctx.urls[0] ?? '', probeUser.token, o.eventId, 'probe-seat');
    if (!features.queue)
      notes.push(`queue places not exercised: queue:join answered ${features.why.queue ?? '?'}`);
    if (!features.seats)
      notes.push(`seat holds not exercised: seat:hold answered ${features.why.seats ?? '?'}`);
  }
  const run = await openRun(ctx, o.clients);
  const { state } = run;
  const setupFor = (i: number): ClientAction[] => {
    const actions: ClientAction[] = [];
    for (let k = 0; k < o.roomsPerClient; k++)
      actions.push({
        event: 'room:join',
        payload: { room: `storm-${(i + k * 7919) % Math.max(1, o.roomCount)}` },
      });
    if (features.queue) actions.push({ event: 'queue:join', payload: { eventId: o.eventId } });
    if (features.seats)
      actions.push({ event: 'seat:hold', payload: { eventId: o.eventId, seatIds: [`S${i}`] } });
    return actions;
  };
  const t0 = run.now() + 200;
  run.pool.add(
    Array.from({ length: o.clients }, (_, i) =>
      clientSpec(ctx, i, {
        label: 'storm',
        startAt: t0 + (i * 1000) / o.rampPerSecond,
        setup: setupFor(i),
        reconnect: true,
      }),
    ),
  );
  const setupDeadline = (o.clients / o.rampPerSecond) * 1000 * 2 + 60_000;
  const allReady = await waitUntil(() => state.ready.size >= o.clients, setupDeadline);
  if (!allReady) notes.push(`only ${state.ready.size} of ${o.clients} clients finished setup in time`);
  await sleep(1000);
  const ready = state.ready.size;

  // The storm.
  const stormAt = run.now();
  state.stormAt = stormAt;
  run.markers.push({ t: stormAt / 1000, label: o.mode });
  let survivors = ctx.urls;
  let profiled: number[] = [];
  if (o.mode === 'kill' || o.mode === 'drain') {
    const node = ctx.cluster?.nodes[o.node];
    if (!node) throw new Error(`no node ${o.node}`);
    void node.kill(o.mode === 'kill' ? 'SIGKILL' : 'SIGTERM');
    if (ctx.profileNodes) profiled = signalOthers(ctx.cluster, node.pid);
    survivors = ctx.urls.filter((u) => u !== node.url);
    ctx.urls = survivors; // probes stop scraping the dead node
  } else {
    run.pool.storm(o.mode);
  }
  const quietMs = o.mode === 'blackhole' ? o.heartbeatMs + 2000 : o.mode === 'drain' ? 7000 : 1500;
  await waitUntil(
    () => run.now() - stormAt > quietMs && state.droppedIds.size > 0 && state.downSince.size === 0,
    o.restoreTimeoutSeconds * 1000 + quietMs,
  );
  // Every client is back (or the wait is over): the survivors' profiles end here (--profile-nodes). A
  // node writes its profile when it gets to the signal; wait for the files, as the cluster is SIGKILLed
  // at the end of the run (a node killed first would leave none).
  for (const pid of profiled) signal(pid, 'SIGUSR2');
  const profileDir = ctx.profileNodes;
  if (profiled.length > 0 && profileDir !== undefined) {
    const files = profiled.map((pid) => join(profileDir, `${pid}.cpuprofile`));
    const written = await waitUntil(() => files.every((f) => existsSync(f)), PROFILE_WRITE_TIMEOUT_MS);
    notes.push(
      written
        ? `CPU profiles of nodes ${profiled.join(', ')}: from the kill until all were back`
        : `CPU profiles of nodes ${profiled.join(', ')}: not all written within ${PROFILE_WRITE_TIMEOUT_MS / 1000} s`,
    );
  }
  const dropped = [...state.droppedIds];
  const restoredTimes = dropped
    .map((id) => state.restoredAt.get(id))
    .filter((t): t is number => t !== undefined && t >= stormAt);
  const neverRestored = dropped.length - restoredTimes.length;
  const to = (f: number): number | undefined => timeToFraction(restoredTimes, dropped.length, f, stormAt);
  const stormPeak = peakAfter(state.timeline.samples(), stormAt);
  // What the surviving nodes themselves answered (their /metrics), from the storm until all were back.
  const survivorPeak = peakServedAfter(run.probes.samples, stormAt, run.now());

  // Fresh connects with the same arrival profile.
  let baseline:
    { t95?: number; t99?: number; t100?: number; peak: number; count: number; failed: number } | undefined;
  if (o.baseline && dropped.length > 0) {
    const arrivals = dropped.map((id) => (state.firstRetryAt.get(id) ?? stormAt) - stormAt);
    const bStart = run.now() + 500;
    run.markers.push({ t: bStart / 1000, label: 'fresh baseline' });
    const base = o.clients + 1;
    run.pool.add(
      arrivals.map((offset, k) =>
        clientSpec(ctx, base + k, {
          label: 'baseline',
          startAt: bStart + offset,
          reconnect: true,
          urls: survivors,
          prefix: `${ctx.userPrefix}fresh-`,
          userIndex: k,
        }),
      ),
    );
    const ids = arrivals.map((_, k) => base + k);
    await waitUntil(() => ids.every((id) => state.firstUpAt.has(id)), o.restoreTimeoutSeconds * 1000);
    const ups = ids.map((id) => state.firstUpAt.get(id)).filter((t): t is number => t !== undefined);
    const tf = (f: number): number | undefined => timeToFraction(ups, ids.length, f, bStart);
    baseline = {
      ...opt('t95', tf(0.95)),
      ...opt('t99', tf(0.99)),
      ...opt('t100', tf(1)),
      peak: peakAfter(state.timeline.samples(), bStart),
      count: ids.length,
      failed: ids.length - ups.length,
    };
  }
  await run.finish();

  let stock: StockStormResult | undefined;
  if (o.stock !== undefined && o.mode === 'kill') {
    stock = await runStockStorm(ctx, {
      clients: o.clients,
      nodes: ctx.cluster?.nodes.length ?? 3,
      auth: o.stock,
      rampPerSecond: o.rampPerSecond,
      restoreTimeoutSeconds: o.restoreTimeoutSeconds,
    });
  }

  const restore = state.restoreLatency.summary();
  const vsStock =
    stock !== undefined &&
    restore.p99 !== undefined &&
    stock.latency.p99 !== undefined &&
    stock.latency.p99 > 0
      ? Math.round((restore.p99 / stock.latency.p99) * 100) / 100
      : undefined;
  const mismatchKinds = Object.fromEntries([...state.mismatches].map(([k, v]) => [`mismatch:${k}`, v]));
  const counts: Record<string, number> = {
    clients: o.clients,
    ready,
    dropped: dropped.length,
    restored: restoredTimes.length,
    neverRestored,
    mismatches: state.mismatchedClients,
    ...mismatchKinds,
    duplicateSeats: state.duplicateSeats(),
    attemptsAfterStorm: state.attemptsAfterStorm,
    peakHandshakesPerSecondAfterStorm: stormPeak,
    peakHandshakesPerSecondServedBySurvivors: survivorPeak,
    ...Object.fromEntries([...state.downReasons].map(([k, v]) => [`down:${k}`, v])),
    ...(stock === undefined
      ? {}
      : { stockDropped: stock.dropped, stockRestored: stock.restored, stockNeverReady: stock.neverRestored }),
  };
  const row = (
    name: string,
    t95?: number,
    t99?: number,
    t100?: number,
    peak?: number,
    n?: number,
  ): (string | number | null)[] => [name, n ?? null, t95 ?? null, t99 ?? null, t100 ?? null, peak ?? null];
  return buildReport(run, {
    scenario: 'storm',
    options: { ...o, features },
    clients: o.clients,
    counts,
    latency: {
      'first connect (attempt → session:restored)': state.connectLatency.get('storm').summary(),
      'drop → session:restored': restore,
      'reconnect after the storm (attempt → session:restored)': state.reconnectLatency.summary(),
      ...(state.reconnectOpenLatency.count === 0
        ? {}
        : { 'reconnect after the storm (attempt → engine open)': state.reconnectOpenLatency.summary() }),
      ...Object.fromEntries([...state.ackLatency.byLabel].map(([k, v]) => [`ack ${k}`, v.summary()])),
      ...(baseline ? { 'fresh baseline connect': state.connectLatency.get('baseline').summary() } : {}),
      ...(stock === undefined
        ? {}
        : {
            [`stock Socket.IO drop → ready (${stock.auth === 'jwt' ? 'JWT in io.use' : 'no auth'})`]:
              stock.latency,
            'stock Socket.IO reconnect (attempt → ready)': stock.reconnect,
            'stock Socket.IO reconnect (attempt → engine open)': stock.reconnectOpen,
          }),
    },
    metrics: {
      'p99-restore-ms': restore.p99,
      'p999-restore-ms': restore.p999,
      'max-restore-ms': restore.max,
      'never-restored': neverRestored,
      mismatches: state.mismatchedClients,
      'duplicate-seats': state.duplicateSeats(),
      errors: state.errorCount(),
      ...opt('time-to-95-ms', to(0.95)),
      ...opt('time-to-99-ms', to(0.99)),
      ...opt('time-to-100-ms', to(1)),
      ...opt('p99-restore-vs-stock', vsStock),
    },
    tables: [
      {
        title: 'Time to restore (ms after the storm) vs fresh connects with the same arrival profile',
        columns: ['', 'clients', '95 %', '99 %', '100 %', 'peak attempts/s (tester)'],
        rows: [
          row(
            `storm (${o.mode}, ${ctx.client === 'sdk' ? 'SDK client' : `policy ${ctx.policy.kind}`})`,
            to(0.95),
            to(0.99),
            to(1),
            stormPeak,
            dropped.length,
          ),
          ...(stock
            ? [
                row(
                  `stock Socket.IO, ${stock.nodes} nodes, kill (${stock.auth === 'jwt' ? 'JWT in io.use' : 'no auth'}), drop → ready`,
                  stock.t95,
                  stock.t99,
                  stock.t100,
                  undefined,
                  stock.dropped,
                ),
              ]
            : []),
          ...(baseline
            ? [
                row(
                  'fresh connects, same arrivals',
                  baseline.t95,
                  baseline.t99,
                  baseline.t100,
                  baseline.peak,
                  baseline.count,
                ),
              ]
            : []),
        ],
      },
    ],
    notes: [
      ...notes,
      'Peak attempts/s counts the handshakes the tester started; peakHandshakesPerSecondServedBySurvivors is the ' +
        'highest one-second sum of stayline_handshakes_total over the nodes still up (their /metrics, scraped ' +
        'every second; a scrape that times out under load is folded into the next interval).',
      ...(o.mode === 'blackhole'
        ? [`Black hole: drop → restored includes the heartbeat (${o.heartbeatMs} ms) it takes to notice.`]
        : []),
    ],
    defaultThresholds: [
      ['never-restored', 0],
      ['mismatches', 0],
      ['duplicate-seats', 0],
    ],
  });
}

function opt<K extends string>(key: K, v: number | undefined): Partial<Record<K, number>> {
  return v === undefined ? {} : ({ [key]: v } as Record<K, number>);
}

function peakServedAfter(samples: readonly ProbeSample[], fromMs: number, untilMs: number): number {
  const inStorm = samples.filter((s) => s.t * 1000 >= fromMs && s.t * 1000 <= untilMs + 1000);
  return Math.round(
    Math.max(0, ...inStorm.map((s) => s.nodes.reduce((sum, n) => sum + n.handshakesPerSecond, 0))),
  );
}

function peakAfter(samples: { t: number; handshakes: number }[], fromMs: number): number {
  return Math.max(0, ...samples.filter((s) => s.t >= Math.floor(fromMs / 1000)).map((s) => s.handshakes));
}

/** Sends SIGUSR2 (start the CPU profiler) to every started node but `except`; returns their pids. */
function signalOthers(cluster: Context['cluster'], except: number): number[] {
  const pids = (cluster?.nodes ?? []).map((n) => n.pid).filter((pid) => pid !== except);
  for (const pid of pids) signal(pid, 'SIGUSR2');
  return pids;
}

/** A node that already exited cannot be profiled: nothing to do. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone
  }
}
