/**
 * `fanout`: one room per size (10 / 100 / 1,000 members by default), members spread over the nodes, and
 * sequence-numbered publishes through `POST /v1/publish` at a fixed total rate. Each delivery's latency is
 * receive time minus send time (one machine, one clock); the delivery ratio and duplicates come from the
 * sequence numbers each member saw, reordering from the messages' trailing positions (message history),
 * and the gaps the clients noticed from their positions too (`--client sdk`: what the SDK's `onGap`
 * reported; the handlers' view, after its dedup). With `--storm kill|drop` a storm starts mid-run, so p99
 * during the storm stands beside steady state in one run. With `--baseline volatile|plain` passes alternate
 * with a baseline in one run (fanout-compare.ts).
 */
import type { Report, Table } from '../report/report.ts';
import { buildReport, clientSpec, openRun, sleep, waitUntil, type Context, type Run } from './context.ts';
import { runFanoutComparison } from './fanout-compare.ts';
import { FANOUT_EVENT, emptyRoomTally, type ClientSpec } from '../workers/messages.ts';

/** After the last publish, the longest wait for late deliveries, and the quiet time that ends it early. */
const SETTLE_MAX_MS = 30_000;
const SETTLE_QUIET_MS = 3_000;

export interface FanoutOptions {
  sizes: number[];
  /** Publishes per second, all rooms together (round-robin). */
  rate: number;
  durationSeconds: number;
  storm: 'none' | 'kill' | 'drop';
  /** Seconds into publishing when the storm starts. */
  stormAtSeconds: number;
  /** Extra idle clients (no rooms) that only add to the reconnect herd. */
  stormClients: number;
  node: number;
  rampPerSecond: number;
  /**
   * `none` (default): one pass. `volatile`: passes alternate with `volatile: true` publishes on the same
   * nodes (history's cost, same run); `plain`: with as many stock socket.io + redis-adapter nodes on the
   * same Redis (fanout-compare.ts). Both without a storm.
   */
  baseline: 'none' | 'volatile' | 'plain';
  /** Passes of each side with a baseline (they alternate, A B B A ...). */
  rounds: number;
}

/** Where one pass publishes, and how. */
export interface FanoutTarget {
  /** Nodes the members connect to and publishes go to (round-robin). */
  urls: string[];
  /** Publishes with `volatile: true` (no history). */
  volatile: boolean;
  /** User ids of this pass (each pass connects its own members). */
  prefix: string;
}

/** What one pass measured. */
export interface FanoutPass {
  run: Run;
  fanout: Awaited<ReturnType<Run['finish']>>['fanout'];
  members: number;
  total: number;
  sent: Map<number, number>;
  accepted: Map<number, number>;
  publishErrors: number;
  publishErrorKinds: Map<string, number>;
  /** Messages published to room `size`: answered 202, or failed for the publisher but received by anyone. */
  published: (size: number, receivers: Map<string, Map<number, number>>) => number;
  /** How long after the last publish the pass waited for late deliveries. */
  settleMs: number;
}

export async function runFanout(ctx: Context, o: FanoutOptions): Promise<Report> {
  if (ctx.serviceToken === undefined)
    throw new Error('fanout publishes through /v1/publish: give --service-token (or SERVICE_TOKEN)');
  if (o.storm === 'kill' && !ctx.cluster) throw new Error('--storm kill needs --start-cluster');
  if (o.baseline !== 'none') {
    if (o.storm !== 'none') throw new Error('--baseline compares steady fanout: no --storm with it');
    return runFanoutComparison(ctx, o);
  }
  const pass = await fanoutPass(ctx, o, { urls: ctx.urls, volatile: false, prefix: ctx.userPrefix });
  return fanoutReport(ctx, o, pass);
}

/** Connects the members of every room, publishes for the duration (with the storm, if any), collects. */
export async function fanoutPass(ctx: Context, o: FanoutOptions, target: FanoutTarget): Promise<FanoutPass> {
  const members = o.sizes.reduce((a, b) => a + b, 0);
  const total = members + o.stormClients;
  const run = await openRun(ctx, total);
  const { state } = run;
  const specs: ClientSpec[] = [];
  const t0 = run.now() + 200;
  let i = 0;
  for (const size of o.sizes) {
    for (let m = 0; m < size; m++, i++) {
      specs.push(
        clientSpec(ctx, i, {
          label: `room-${size}`,
          startAt: t0 + (i * 1000) / o.rampPerSecond,
          setup: [{ event: 'room:join', payload: { room: `fanout-${size}` } }],
          reconnect: true,
          urls: target.urls,
          prefix: target.prefix,
        }),
      );
    }
  }
  for (let k = 0; k < o.stormClients; k++, i++)
    specs.push(
      clientSpec(ctx, i, {
        label: 'idle',
        startAt: t0 + (i * 1000) / o.rampPerSecond,
        reconnect: true,
        urls: target.urls,
        prefix: target.prefix,
      }),
    );
  run.pool.add(specs);
  await waitUntil(() => state.ready.size >= total, (total / o.rampPerSecond) * 1000 + 30_000);
  await sleep(500);

  const token = ctx.serviceToken ?? '';
  const sent = new Map<number, number>(o.sizes.map((s) => [s, 0]));
  const accepted = new Map<number, number>(o.sizes.map((s) => [s, 0]));
  // Publishes not answered 202 (a timeout or reset on the killed node, a 503 after a Redis timeout): their
  // outcome is unknown to the publisher, so they count as published exactly when a member received them.
  const failed = new Map<number, number[]>(o.sizes.map((s) => [s, []]));
  let publishErrors = 0;
  /** Messages published to room `size`: answered 202, or failed for the publisher but received by anyone. */
  const published = (size: number, receivers: Map<string, Map<number, number>>): number => {
    const bySeq = receivers.get(`fanout-${size}`);
    const late = (failed.get(size) ?? []).filter((seq) => (bySeq?.get(seq) ?? 0) > 0).length;
    return (accepted.get(size) ?? 0) + late;
  };
  const publishErrorKinds = new Map<string, number>();
  let phase = 'steady';
  let urls = [...target.urls];
  const inflight = new Set<Promise<void>>();
  const publishStart = run.now();
  run.markers.push({ t: publishStart / 1000, label: 'publishing' });
  let stormAt: number | undefined;
  const intervalMs = 1000 / o.rate;
  for (let n = 0; run.now() - publishStart < o.durationSeconds * 1000; n++) {
    const due = publishStart + n * intervalMs;
    const wait = due - run.now();
    if (wait > 0) await sleep(wait);
    if (o.storm !== 'none' && stormAt === undefined && run.now() - publishStart >= o.stormAtSeconds * 1000) {
      stormAt = run.now();
      state.stormAt = stormAt;
      phase = 'storm';
      run.markers.push({ t: stormAt / 1000, label: o.storm });
      if (o.storm === 'kill') {
        const node = ctx.cluster?.nodes[o.node];
        if (node) {
          void node.kill('SIGKILL');
          urls = urls.filter((u) => u !== node.url);
          ctx.urls = urls;
        }
      } else run.pool.storm('drop');
    }
    if (
      phase === 'storm' &&
      stormAt !== undefined &&
      run.now() - stormAt > 1500 &&
      state.downSince.size === 0
    ) {
      phase = 'after';
      run.markers.push({ t: run.now() / 1000, label: 'all restored' });
    }
    const size = o.sizes[n % o.sizes.length] ?? 0;
    const seq = (sent.get(size) ?? 0) + 1;
    sent.set(size, seq);
    const room = `fanout-${size}`;
    const body = JSON.stringify({
      room,
      event: FANOUT_EVENT,
      data: { seq, sentAt: performance.timeOrigin + performance.now(), room, phase, size },
      ...(target.volatile ? { volatile: true } : {}),
    });
    const url = urls[n % urls.length] ?? '';
    const p = fetch(`${url}/v1/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body,
      signal: AbortSignal.timeout(5000),
    }).then(
      (res) => {
        if (res.status === 202) accepted.set(size, (accepted.get(size) ?? 0) + 1);
        else {
          failed.get(size)?.push(seq);
          publishErrors++;
          publishErrorKinds.set(`HTTP ${res.status}`, (publishErrorKinds.get(`HTTP ${res.status}`) ?? 0) + 1);
        }
        void res.body?.cancel();
      },
      (err: unknown) => {
        failed.get(size)?.push(seq);
        publishErrors++;
        const kind = err instanceof Error ? err.name : 'error';
        publishErrorKinds.set(kind, (publishErrorKinds.get(kind) ?? 0) + 1);
      },
    );
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  }
  await Promise.all(inflight);
  const publishedAt = run.now();
  // Late deliveries count (a replay after a reconnect, a saturated machine), so the run waits for them:
  // until every member has every published message and none is down, or the deliveries stopped growing
  // for SETTLE_QUIET_MS with everyone back, at most SETTLE_MAX_MS. What never came counts as missing.
  let delivered = -1;
  let quietSince = run.now();
  for (;;) {
    await sleep(500);
    const { fanout: now } = await run.pool.report();
    const have = o.sizes.reduce((n, size) => n + (now.rooms.get(`fanout-${size}`)?.unique ?? 0), 0);
    const want = o.sizes.reduce((n, size) => n + published(size, now.receivers) * size, 0);
    const allBack = state.downSince.size === 0;
    if (have !== delivered) [delivered, quietSince] = [have, run.now()];
    if (allBack && have >= want) break;
    if (allBack && run.now() - quietSince >= SETTLE_QUIET_MS) break;
    if (run.now() - publishedAt >= SETTLE_MAX_MS) break;
  }
  const settleMs = Math.round(run.now() - publishedAt);
  const { fanout } = await run.finish();
  return {
    run,
    fanout,
    members,
    total,
    sent,
    accepted,
    publishErrors,
    publishErrorKinds,
    published,
    settleMs,
  };
}

/** The report of a single pass (no baseline). */
function fanoutReport(ctx: Context, o: FanoutOptions, pass: FanoutPass): Report {
  const { run, fanout, accepted, published } = pass;
  const rows: Table['rows'] = [];
  let expected = 0;
  let failedButDelivered = 0;
  const sum = emptyRoomTally();
  for (const size of o.sizes) {
    const tally = fanout.rooms.get(`fanout-${size}`) ?? emptyRoomTally();
    const late = published(size, fanout.receivers) - (accepted.get(size) ?? 0);
    failedButDelivered += late;
    const exp = published(size, fanout.receivers) * size;
    expected += exp;
    for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += tally[k];
    const l = fanout.latency.get(`size:${size}`)?.summary();
    rows.push([
      size,
      accepted.get(size) ?? 0,
      exp,
      tally.unique,
      exp - tally.unique,
      tally.duplicates,
      exp === 0 ? null : tally.unique / exp,
      l?.p50 ?? null,
      l?.p99 ?? null,
      l?.p999 ?? null,
      tally.reordered,
      tally.positioned,
      tally.gapEvents,
      late,
    ]);
  }
  const { unique, duplicates } = sum;
  const all = fanout.latency.get('all')?.summary();
  const byPhase = Object.fromEntries(
    [...fanout.latency]
      .filter(([k]) => k.startsWith('phase:'))
      .map(([k, v]) => [`delivery ${k.slice(6)}`, v.summary()]),
  );
  return buildReport(run, {
    scenario: 'fanout',
    options: { ...o },
    clients: pass.total,
    counts: {
      members: pass.members,
      publishesSent: [...pass.sent.values()].reduce((a, b) => a + b, 0),
      publishesAccepted: [...accepted.values()].reduce((a, b) => a + b, 0),
      publishErrors: pass.publishErrors,
      publishFailedButDelivered: failedButDelivered,
      settleMs: pass.settleMs,
      ...Object.fromEntries([...pass.publishErrorKinds].map(([k, v]) => [`publishError:${k}`, v])),
      expectedDeliveries: expected,
      deliveries: unique,
      gaps: expected - unique,
      duplicates,
      // Counted by the messages' trailing positions (0 and 0 when the gateway keeps no history).
      reordered: sum.reordered,
      withPosition: sum.positioned,
      gapEvents: sum.gapEvents,
    },
    latency: { ...(all ? { 'delivery (all)': all } : {}), ...byPhase },
    metrics: {
      ...(all ? { 'fanout-p99-ms': all.p99, 'fanout-p999-ms': all.p999 } : {}),
      'delivery-ratio': expected === 0 ? 0 : unique / expected,
      'fanout-duplicates': duplicates,
      'fanout-reordered': sum.reordered,
    },
    tables: [
      {
        title: 'Per room',
        columns: [
          'members',
          'publishes',
          'expected',
          'delivered',
          'gaps',
          'duplicates',
          'ratio',
          'p50 ms',
          'p99 ms',
          'p99.9 ms',
          'reordered',
          'with position',
          'gap events',
          'failed publishes delivered',
        ],
        rows,
      },
    ],
    notes: [
      'Latency is receive time minus the publisher’s send time, both on this machine’s clock.',
      'Expected = (publishes answered 202 + publishes that failed for the publisher but reached a member) × members: a publish whose answer was lost (its node killed, a timeout) may still have been published, and then every member must get it.',
      '“settleMs”: how long after the last publish the run waited for late deliveries (until all arrived, or none came for 3 s with every member back, at most 30 s).',
      '“gaps” are expected deliveries that never arrived (expected − delivered); “gap events” are the gaps the clients were told of or noticed (SDK onGap; lean: offset jumps, new epochs, restore gaps).',
      ...(sum.positioned === 0
        ? ['No message carried a position (the gateway keeps no history): reordering was not measured.']
        : []),
      ...(o.storm !== 'none'
        ? [
            sum.positioned === 0
              ? 'Members are offline between drop and restore; without history what they missed counts as gaps.'
              : 'Members send their positions when they reconnect; what the gateway replays counts as delivered (late), what it cannot as gaps.',
          ]
        : []),
    ],
  });
}
