/**
 * `idle`: holds N authenticated connections open and measures what each costs the server: RSS (from
 * /proc when the tester started the process) and V8 heap (from the gateway's /metrics), before and after,
 * per connection. With `--plain` the same number of connections goes to the plain socket.io server in
 * the same run. Also the simplest proof of scale: N concurrent clients from one run.
 */
import { readFileSync } from 'node:fs';
import type { Report, Table } from '../report/report.ts';
import { buildReport, clientSpec, openRun, sleep, waitUntil, type Context, type Run } from './context.ts';

export interface IdleOptions {
  clients: number;
  rampPerSecond: number;
  holdSeconds: number;
}

const rssBytes = (pid: number | undefined): number | undefined => {
  if (pid === undefined) return undefined;
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
};

const heapBytes = async (url: string): Promise<number | undefined> => {
  try {
    const text = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) }).then((r) => r.text());
    const v = /^stayline_nodejs_heap_size_used_bytes(?:\{[^}]*\})? ([0-9.e+]+)/m.exec(text)?.[1];
    return v === undefined ? undefined : Number(v);
  } catch {
    return undefined;
  }
};

interface Target {
  name: string;
  urls: string[];
  pids: (number | undefined)[];
  metrics: boolean;
}

async function measure(t: Target): Promise<{ rss: number | undefined; heap: number | undefined }> {
  const rss = t.pids.map(rssBytes);
  const heap = t.metrics ? await Promise.all(t.urls.map(heapBytes)) : [];
  const sum = (xs: (number | undefined)[]): number | undefined =>
    xs.length === 0 || xs.some((x) => x === undefined)
      ? undefined
      : xs.reduce<number>((a, b) => a + (b ?? 0), 0);
  return { rss: sum(rss), heap: sum(heap) };
}

async function hold(
  run: Run,
  t: Target,
  o: IdleOptions,
  firstId: number,
): Promise<(string | number | null)[]> {
  const { state } = run;
  await sleep(1000);
  const before = await measure(t);
  const start = run.now() + 200;
  const ids = Array.from({ length: o.clients }, (_, k) => firstId + k);
  run.markers.push({ t: start / 1000, label: t.name });
  run.pool.add(
    ids.map((id, k) =>
      clientSpec(run.ctx, id, {
        label: t.name,
        startAt: start + (k * 1000) / o.rampPerSecond,
        reconnect: true,
        urls: t.urls,
      }),
    ),
  );
  await waitUntil(
    () => ids.every((id) => state.firstUpAt.has(id)),
    (o.clients / o.rampPerSecond) * 1000 * 3 + 30_000,
  );
  const connected = ids.filter((id) => state.up.has(id)).length;
  await sleep(o.holdSeconds * 1000);
  const after = await measure(t);
  run.pool.end(t.name); // closed for good before the next target
  const per = (a: number | undefined, b: number | undefined): number | null =>
    a === undefined || b === undefined || connected === 0
      ? null
      : Math.round(((a - b) / connected / 1024) * 100) / 100;
  return [
    t.name,
    connected,
    per(after.rss, before.rss),
    per(after.heap, before.heap),
    after.rss === undefined ? null : Math.round(after.rss / 1048576),
  ];
}

export async function runIdle(
  ctx: Context,
  o: IdleOptions & { plainUrl: string | undefined },
): Promise<Report> {
  const run = await openRun(ctx, o.clients);
  const rows: Table['rows'] = [];
  rows.push(
    await hold(
      run,
      { name: 'gateway', urls: ctx.urls, pids: ctx.cluster?.nodes.map((n) => n.pid) ?? [], metrics: true },
      o,
      0,
    ),
  );
  if (o.plainUrl) {
    // The gateway's clients were dropped and do not reconnect; let the server notice before measuring.
    await sleep(500);
    rows.push(
      await hold(
        run,
        {
          name: 'plain socket.io',
          urls: [o.plainUrl],
          pids: [ctx.cluster?.plain?.child.pid],
          metrics: false,
        },
        o,
        o.clients,
      ),
    );
  }
  await run.finish();
  return buildReport(run, {
    scenario: 'idle',
    options: { ...o },
    clients: o.clients,
    counts: { clients: o.clients, peakConcurrent: run.state.peakUp },
    latency: Object.fromEntries(
      [...run.state.connectLatency.byLabel]
        .filter(([k]) => k !== 'all')
        .map(([k, v]) => [`connect ${k}`, v.summary()]),
    ),
    metrics: { errors: run.state.errorCount() },
    tables: [
      {
        title: 'Memory per idle connection (KiB, after minus before, divided by connections)',
        columns: ['server', 'connections', 'RSS KiB/conn', 'V8 heap KiB/conn', 'RSS after MiB'],
        rows,
      },
    ],
    notes: [
      'RSS from /proc/<pid>/status of processes the tester started; heap from the gateway /metrics (the plain server has none). No GC is forced: read as an upper bound.',
    ],
  });
}
