/**
 * What limited a run: samples, once a second, the tester's own CPU, each target node's event-loop lag and
 * CPU from its /metrics (prom-client defaults, prefix `stayline_`), and Redis CPU from `INFO cpu` when its
 * URL is known. The verdict names the first resource found saturated.
 */
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { cpus } from 'node:os';

export interface ProbeSample {
  t: number;
  /** Tester CPU over the last interval, in cores (coordinator + workers). */
  testerCores: number;
  /** The busiest single client worker over the last interval, in cores. */
  busiestWorkerCores: number;
  /**
   * Per node: event-loop lag p99 (ms), CPU (cores) and handshakes per second it answered
   * (`stayline_handshakes_total`, every result) over the last interval.
   */
  nodes: { url: string; lagP99Ms: number; cores: number; handshakesPerSecond: number }[];
  redisCores: number | undefined;
}

export interface Limiter {
  /** Every saturated resource found (most specific first), or `none observed`. */
  limitedBy: string;
  peakTesterCores: number;
  /** SYNs the kernel dropped on full listen queues during the run (machine-wide, /proc/net/netstat). */
  listenOverflowsDuringRun: number | undefined;
  peakWorkerCores: number;
  peakNodeLagP99Ms: number;
  peakNodeCores: number;
  peakRedisCores: number | undefined;
  machineCores: number;
  /** Peak concurrent connections per (source address, destination) pair vs the ephemeral range. */
  ports: { peakPerPair: number; ephemeralRange: number };
}

/**
 * The three families read below, asked for by name: a full scrape costs a node with 5,000 sockets ~10 ms of
 * CPU (prom-client lists every open fd and handle; gateway/bench/scrape-cost.ts), once a second, which the
 * stock nodes of a baseline do not pay. A gateway that predates the filter ignores it and sends everything.
 */
export const SCRAPED_QUERY = [
  'stayline_handshakes_total',
  'stayline_nodejs_eventloop_lag_p99_seconds',
  'stayline_process_cpu_seconds_total',
]
  .map((name) => `name[]=${name}`)
  .join('&');

async function scrape(url: string): Promise<{ lag: number; cpu: number; handshakes: number } | undefined> {
  try {
    const res = await fetch(`${url}/metrics?${SCRAPED_QUERY}`, { signal: AbortSignal.timeout(800) });
    const text = await res.text();
    const num = (name: string): number =>
      Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)`, 'm').exec(text)?.[1] ?? NaN);
    let handshakes = 0; // summed over the result label
    for (const m of text.matchAll(/^stayline_handshakes_total(?:\{[^}]*\})? ([0-9.e+-]+)/gm))
      handshakes += Number(m[1]);
    return {
      lag: num('stayline_nodejs_eventloop_lag_p99_seconds') * 1000,
      cpu: num('stayline_process_cpu_seconds_total'),
      handshakes,
    };
  } catch {
    return undefined;
  }
}

/** `INFO cpu` over a raw socket: used_cpu_user + used_cpu_sys in seconds. */
function redisCpuSeconds(redisUrl: string): Promise<number | undefined> {
  const u = new URL(redisUrl);
  return new Promise((resolve) => {
    const socket = createConnection({ host: u.hostname, port: Number(u.port || 6379) });
    let reply = '';
    const done = (v: number | undefined): void => {
      socket.destroy();
      resolve(v);
    };
    socket.setTimeout(800, () => done(undefined));
    socket.on('error', () => done(undefined));
    socket.on('connect', () => socket.write('INFO cpu\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      const user = /used_cpu_user:([0-9.]+)/.exec(reply)?.[1];
      const sys = /used_cpu_sys:([0-9.]+)/.exec(reply)?.[1];
      if (user !== undefined && sys !== undefined) done(Number(user) + Number(sys));
    });
  });
}

/** The kernel's count of SYNs dropped because a listen queue was full (machine-wide, all listeners). */
function listenOverflows(): number | undefined {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    const header = lines.find((l) => l.startsWith('TcpExt:') && l.includes('ListenOverflows'));
    const values = lines.find((l) => l.startsWith('TcpExt:') && /^TcpExt:\s+\d/.test(l));
    if (header === undefined || values === undefined) return undefined;
    const i = header.split(/\s+/).indexOf('ListenOverflows');
    return Number(values.split(/\s+/)[i]);
  } catch {
    return undefined;
  }
}

/** Size of the kernel's ephemeral port range (net.ipv4.ip_local_port_range). */
function ephemeralPorts(): number {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (lo !== undefined && hi !== undefined && hi >= lo) return hi - lo + 1;
  } catch {
    // not Linux: the Linux default below
  }
  return 60999 - 32768 + 1;
}

export class Probes {
  readonly samples: ProbeSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private last = new Map<string, number>();
  private readonly lastAtByKey = new Map<string, number>();
  private readonly lastWorkerAt = new Map<number, number>();
  private readonly lastWorkerRate = new Map<number, number>();
  private lastAt = 0;
  private running = false;
  private readonly overflowsAtStart = listenOverflows();

  constructor(
    private readonly deps: {
      now: () => number;
      /** CPU ms of the coordinator process. */
      testerCpuMs: () => number;
      /**
       * CPU ms of each client worker with the time the reading was taken (workers report in batches, so a
       * rate over the probe's own interval would overshoot); one saturated worker limits a run long before
       * the sum does.
       */
      workerCpuMs?: () => { ms: number; at: number }[];
      nodeUrls: () => string[];
      redisUrl: string | undefined;
    },
  ) {}

  start(): void {
    this.lastAt = this.deps.now();
    this.delta('tester', this.deps.testerCpuMs());
    (this.deps.workerCpuMs?.() ?? []).forEach((w, i) => this.delta(`worker-${i}`, w.ms, w.at));
    this.timer = setInterval(() => void this.sample(), 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Rate of `value` since this key's own previous reading (each source is read at its own moment). */
  private delta(key: string, value: number, at?: number): number {
    const t = at ?? this.deps.now();
    const before = this.last.get(key);
    const beforeAt = this.lastAtByKey.get(key);
    this.last.set(key, value);
    this.lastAtByKey.set(key, t);
    if (before === undefined || beforeAt === undefined || !Number.isFinite(value) || t - beforeAt < 200)
      return 0;
    return Math.max(0, (value - before) / ((t - beforeAt) / 1000));
  }

  private async sample(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const t = this.deps.now();
      this.lastAt = t;
      const workers = (this.deps.workerCpuMs?.() ?? []).map((w, i) => {
        const rate = this.delta(`worker-${i}`, w.ms, w.at) / 1000;
        // No new reading since the last sample: keep the last rate rather than report an idle worker.
        if (w.at === this.lastWorkerAt.get(i)) return this.lastWorkerRate.get(i) ?? 0;
        this.lastWorkerAt.set(i, w.at);
        this.lastWorkerRate.set(i, rate);
        return rate;
      });
      const busiestWorkerCores = Math.max(0, ...workers);
      const testerCores =
        this.delta('tester', this.deps.testerCpuMs()) / 1000 + workers.reduce((a, b) => a + b, 0);
      const nodes = [];
      for (const url of this.deps.nodeUrls()) {
        const m = await scrape(url);
        if (m)
          nodes.push({
            url,
            lagP99Ms: m.lag,
            cores: this.delta(url, m.cpu),
            handshakesPerSecond: this.delta(`${url} handshakes`, m.handshakes),
          });
      }
      const redis = this.deps.redisUrl === undefined ? undefined : await redisCpuSeconds(this.deps.redisUrl);
      const redisCores = redis === undefined ? undefined : this.delta('redis', redis);
      this.samples.push({ t: Math.round(t / 100) / 10, testerCores, busiestWorkerCores, nodes, redisCores });
    } finally {
      this.running = false;
    }
  }

  /** Names what saturated first: tester CPU near the machine, a node's loop or core, Redis, or ports. */
  verdict(peakConnections: { perPair: number }): Limiter {
    const machineCores = cpus().length;
    const peakTesterCores = Math.max(0, ...this.samples.map((s) => s.testerCores));
    const peakNodeLagP99Ms = Math.max(
      0,
      ...this.samples.flatMap((s) => s.nodes.map((n) => n.lagP99Ms)).filter(Number.isFinite),
    );
    const peakNodeCores = Math.max(0, ...this.samples.flatMap((s) => s.nodes.map((n) => n.cores)));
    const redisSamples = this.samples.map((s) => s.redisCores).filter((x): x is number => x !== undefined);
    const peakRedisCores = redisSamples.length > 0 ? Math.max(...redisSamples) : undefined;
    const ephemeralRange = ephemeralPorts();
    const reasons: string[] = [];
    if (peakConnections.perPair > ephemeralRange * 0.9)
      reasons.push('ports (ephemeral range per source/destination pair)');
    if (peakNodeCores > 0.9 || peakNodeLagP99Ms > 200)
      reasons.push(
        `gateway event loop (lag p99 ${peakNodeLagP99Ms.toFixed(0)} ms, ${peakNodeCores.toFixed(2)} cores)`,
      );
    if ((peakRedisCores ?? 0) > 0.9) reasons.push(`Redis (${(peakRedisCores ?? 0).toFixed(2)} cores)`);
    const peakWorker = Math.max(0, ...this.samples.map((s) => s.busiestWorkerCores));
    if (peakWorker > 0.9)
      reasons.push(`tester CPU (one client worker at ${peakWorker.toFixed(2)} cores: add --workers)`);
    if (peakTesterCores > machineCores * 0.6)
      reasons.push(`tester CPU (${peakTesterCores.toFixed(2)} of ${machineCores} cores)`);
    const overflowsNow = listenOverflows();
    const listenOverflowsDuringRun =
      overflowsNow === undefined || this.overflowsAtStart === undefined
        ? undefined
        : overflowsNow - this.overflowsAtStart;
    if ((listenOverflowsDuringRun ?? 0) > 0)
      reasons.push(
        `listen backlog (${listenOverflowsDuringRun} SYNs dropped on full accept queues, machine-wide: clients waited for SYN retransmits)`,
      );
    return {
      listenOverflowsDuringRun,
      limitedBy:
        reasons.length > 0
          ? reasons.join('; ')
          : 'none observed (the load stayed below every measured limit)',
      peakTesterCores,
      peakWorkerCores: peakWorker,
      peakNodeLagP99Ms,
      peakNodeCores,
      peakRedisCores,
      machineCores,
      ports: { peakPerPair: peakConnections.perPair, ephemeralRange },
    };
  }
}
