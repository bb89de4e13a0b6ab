/**
 * Benchmark, not a test: memory per idle authenticated connection, the full gateway beside a plain
 * socket.io + redis-adapter server (no auth, no session), in the same run, rounds interleaved.
 *
 *   node --import tsx gateway/bench/idle-memory.ts [--clients 5000] [--rounds 2] [--hold-ms 3000]
 *        [--snapshot-dir /tmp/heap] [--json]
 *
 * Both servers carry the same preload (gateway/bench/mem-probe.ts): before and after opening `clients`
 * lean clients (websocket, `concurrency` handshakes in flight), it forces full garbage collections and
 * reads RSS and the V8 heap in the server process itself; the difference divided by the connections is
 * the cost of one idle connection. Every measurement runs on a fresh process (after a warm-up of 300
 * connections): a process keeps the RSS pages it once used, so a second fill would read low. Unlike `loadtest idle` (no forced GC, RSS only for the plain server),
 * this reads the same figures the same way on both. With --snapshot-dir the probe also writes heap
 * snapshots (before/after, one round), for a by-constructor diff.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LeanClient } from '../../loadtest/src/lean-client.ts';
import { killAtExit, stopChild } from '../../dev/child-process.ts';
import { baseEnv, startGatewayProcess, type GatewayProcess } from '../../dev/gateway-process.ts';
import { startRedis } from '../../dev/redis.ts';
import { signToken } from '../../dev/tokens.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '2' },
    'hold-ms': { type: 'string', default: '3000' },
    'snapshot-dir': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const CLIENTS = Number(values.clients);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);
const HOLD_MS = Number(values['hold-ms']);

const PROBE = fileURLToPath(new URL('./mem-probe.ts', import.meta.url));
const PLAIN_SERVER = fileURLToPath(new URL('./plain-server.ts', import.meta.url));

interface Sample {
  rss: number;
  heapUsed: number;
  external: number;
}

interface Probed {
  name: string;
  pid: number;
  url: string;
  file: string;
}

const PLAIN = 'plain socket.io + redis-adapter';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Signals the probe and waits for its new line. */
async function probe(target: Probed): Promise<Sample> {
  const lines = (): number =>
    existsSync(target.file) ? readFileSync(target.file, 'utf8').trim().split('\n').length : 0;
  const before = lines();
  process.kill(target.pid, 'SIGUSR2');
  for (let i = 0; i < 600 && lines() === before; i++) await sleep(50);
  const last = readFileSync(target.file, 'utf8').trim().split('\n').at(-1) ?? '{}';
  return JSON.parse(last) as Sample;
}

async function openAll(url: string, tokens: (string | undefined)[]): Promise<LeanClient[]> {
  const clients: LeanClient[] = [];
  let next = 0;
  let errors = 0;
  const worker = async (): Promise<void> => {
    while (next < tokens.length) {
      const token = tokens[next++];
      const client = new LeanClient({ url, ...(token === undefined ? {} : { token }) });
      clients.push(client);
      const outcome = await client.connect().catch(() => ({ error: true }));
      if (outcome.error) errors++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  if (errors > 0) throw new Error(`${errors} of ${tokens.length} connects failed at ${url}`);
  return clients;
}

async function gatewayConnections(url: string): Promise<number> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  return Number(/^stayline_connections\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
}

function startPlain(redisUrl: string, file: string): Promise<{ child: ChildProcess; url: string }> {
  const child = killAtExit(
    spawn(process.execPath, ['--import', 'tsx', PLAIN_SERVER], {
      env: {
        PATH: process.env['PATH'],
        REDIS_URL: redisUrl,
        NODE_OPTIONS: `--import tsx --import ${PROBE}`,
        MEM_PROBE_FILE: file,
        ...(values['snapshot-dir'] === undefined ? {} : { MEM_PROBE_SNAPSHOT: values['snapshot-dir'] }),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', (chunk: Buffer) => {
      const { port } = JSON.parse(chunk.toString()) as { port: number };
      resolve({ child, url: `http://127.0.0.1:${port}` });
    });
    child.once('exit', (code) => reject(new Error(`plain server exited ${String(code)}`)));
  });
}

interface Row {
  server: string;
  round: number;
  rssKiB: number;
  heapKiB: number;
  externalKiB: number;
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const run = `${process.pid}-${Date.now()}`;
  const gatewayFile = join(tmpdir(), `mem-probe-gateway-${run}.jsonl`);
  const plainFile = join(tmpdir(), `mem-probe-plain-${run}.jsonl`);
  const env = baseEnv({
    REDIS_URL: redis.url,
    HANDSHAKES_PER_SECOND: '1000000',
    LOG_LEVEL: 'info',
    NODE_ID: 'bench-node',
    NODE_OPTIONS: `--import tsx --import ${PROBE}`,
    MEM_PROBE_FILE: gatewayFile,
    ...(values['snapshot-dir'] === undefined ? {} : { MEM_PROBE_SNAPSHOT: values['snapshot-dir'] }),
  });
  const secret = env['JWT_SECRET'] ?? '';
  const rows: Row[] = [];
  /** One measurement on a fresh process: RSS pages a process once touched stay counted after a GC. */
  const measure = async (name: 'gateway' | 'plain', round: number): Promise<void> => {
    let gateway: GatewayProcess | undefined;
    let plain: { child: ChildProcess; url: string } | undefined;
    try {
      let t: Probed;
      if (name === 'gateway') {
        gateway = await startGatewayProcess(env);
        t = { name: 'gateway', pid: gateway.pid, url: gateway.url, file: gatewayFile };
      } else {
        plain = await startPlain(redis.url, plainFile);
        t = { name: PLAIN, pid: plain.child.pid ?? -1, url: plain.url, file: plainFile };
      }
      const tokens = (prefix: string, n: number): (string | undefined)[] =>
        Array.from({ length: n }, (_, i) =>
          name === 'gateway'
            ? signToken({ key: secret, sub: `${prefix}-${i}`, nowMs: Date.now() })
            : undefined,
        );
      // Warm-up: JIT, pools and first-use allocations, not recorded; then let the closes settle.
      for (const c of await openAll(t.url, tokens(`warm-${round}`, 300))) c.close();
      if (name === 'gateway')
        for (let i = 0; i < 400 && (await gatewayConnections(t.url)) > 0; i++) await sleep(25);
      await sleep(1000);
      const before = await probe(t);
      const clients = await openAll(t.url, tokens(`idle-${round}`, CLIENTS));
      await sleep(HOLD_MS);
      const after = await probe(t);
      const per = (a: number, b: number): number => Math.round(((a - b) / CLIENTS / 1024) * 100) / 100;
      rows.push({
        server: t.name,
        round,
        rssKiB: per(after.rss, before.rss),
        heapKiB: per(after.heapUsed, before.heapUsed),
        externalKiB: per(after.external, before.external),
      });
      for (const c of clients) c.close();
    } finally {
      if (plain) await stopChild(plain.child, 'SIGTERM', 5000);
      await gateway?.kill('SIGTERM');
    }
  };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which server goes first.
      const order: ('gateway' | 'plain')[] = round % 2 === 0 ? ['plain', 'gateway'] : ['gateway', 'plain'];
      for (const name of order) await measure(name, round);
    }
  } finally {
    await redis.stop();
    for (const f of [gatewayFile, plainFile]) rmSync(f, { force: true });
  }
  const ratios = Array.from({ length: ROUNDS }, (_, round) => {
    const g = rows.find((r) => r.round === round && r.server === 'gateway');
    const p = rows.find((r) => r.round === round && r.server !== 'gateway');
    return {
      round,
      rss: (g?.rssKiB ?? NaN) / (p?.rssKiB ?? NaN),
      heap: (g?.heapKiB ?? NaN) / (p?.heapKiB ?? NaN),
    };
  });
  if (values.json) {
    console.log(JSON.stringify({ clients: CLIENTS, rows, ratios }, null, 2));
    return;
  }
  console.log(
    `memory per idle connection, ${CLIENTS} clients x ${ROUNDS} rounds, after forced GC (KiB/conn)\n`,
  );
  console.log('| round | server | RSS | V8 heap | external |');
  console.log('|---:|---|---:|---:|---:|');
  for (const r of rows)
    console.log(`| ${r.round + 1} | ${r.server} | ${r.rssKiB} | ${r.heapKiB} | ${r.externalKiB} |`);
  console.log('\n| round | gateway / plain, RSS | gateway / plain, heap |');
  console.log('|---:|---:|---:|');
  for (const r of ratios) console.log(`| ${r.round + 1} | ${r.rss.toFixed(2)}x | ${r.heap.toFixed(2)}x |`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
