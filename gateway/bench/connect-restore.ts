/**
 * Benchmark, not a test: connect-and-restore through the full gateway (JWT check, session attach in Redis,
 * rejoin, `session:restored`) beside a plain socket.io + redis-adapter server with no auth and no session,
 * both driven by the same lean client in the same run, rounds interleaved (the machine is shared and noisy).
 *
 *   node --import tsx gateway/bench/connect-restore.ts [--clients 2000] [--concurrency 50] [--rounds 3] [--compiled] [--json]
 *
 * `--compiled` runs the gateway from gateway/dist (built first), as production does, instead of through tsx.
 *
 * Per round and server: connects/s (closed loop with `concurrency` handshakes in flight) and p50/p99 from
 * opening the TCP connection to `session:restored`. The gateway runs twice per round: fresh users (no
 * session yet) and the same users again (a session to restore). Redis commands per restore come from
 * a separate, untimed pass with MONITOR on, counting only what clients sent (a script's inner commands are
 * listed as `lua` and not counted): the commands one restore costs and how many of them travel together.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { processCpuMs } from './cpu-usage.ts';
import { LeanClient } from '../../loadtest/src/lean-client.ts';
import { baseEnv, startGatewayProcess } from '../../dev/gateway-process.ts';
import { startPlain } from '../../dev/local-cluster.ts';
import { startMonitor } from '../../dev/redis-monitor.ts';
import { startRedis } from '../../dev/redis.ts';
import { signToken } from '../../dev/tokens.ts';
import { median } from './median.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
    compiled: { type: 'boolean', default: false },
  },
});
const CLIENTS = Number(values.clients);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);

interface Phase {
  name: string;
  connectsPerSecond: number;
  /** Server CPU (user + system, from /proc) per connect, and per close once they were all open. */
  cpuMsPerConnect: number;
  cpuMsPerClose: number;
  /** write(2)-family system calls of the server (/proc/<pid>/io `syscw`) per connect and per close. */
  writesPerConnect: number;
  writesPerClose: number;
  p50Ms: number;
  p99Ms: number;
  recovered: number;
  errors: number;
}

const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

/**
 * write(2)-family system calls the process has made so far (/proc/<pid>/io `syscw`). On loopback a write
 * also costs the writer the receiver's TCP path, so writes per connect explain much of its CPU (§11).
 */
function writeCalls(pid: number): number {
  return Number(/^syscw: (\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? NaN);
}

/** Opens `tokens.length` clients, `concurrency` at a time; keeps them open; returns them with timings. */
async function connectAll(
  url: string,
  tokens: (string | undefined)[],
  name: string,
  serverPid: number,
): Promise<{ phase: Phase; clients: LeanClient[] }> {
  const cpuBefore = processCpuMs(serverPid);
  const writesBefore = writeCalls(serverPid);
  const latencies: number[] = [];
  const clients: LeanClient[] = [];
  let recovered = 0;
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < tokens.length) {
      const token = tokens[next++];
      const client = new LeanClient({ url, ...(token === undefined ? {} : { token }) });
      try {
        const outcome = await client.connect();
        if (outcome.error) errors++;
        else {
          latencies.push(outcome.ms);
          if ((outcome.session as { recovered?: boolean } | undefined)?.recovered) recovered++;
        }
      } catch {
        errors++;
      }
      clients.push(client);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  const cpu = processCpuMs(serverPid) - cpuBefore;
  const writes = writeCalls(serverPid) - writesBefore;
  latencies.sort((a, b) => a - b);
  return {
    phase: {
      name,
      connectsPerSecond: latencies.length / seconds,
      cpuMsPerConnect: cpu / Math.max(1, latencies.length),
      cpuMsPerClose: NaN,
      writesPerConnect: writes / Math.max(1, latencies.length),
      writesPerClose: NaN,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      recovered,
      errors,
    },
    clients,
  };
}

/** Closes every client, waits for the server to settle; returns the server's CPU ms and writes per close. */
async function closeAll(
  clients: LeanClient[],
  settle: () => Promise<void>,
  serverPid: number,
): Promise<{ cpuMs: number; writes: number }> {
  const before = processCpuMs(serverPid);
  const writesBefore = writeCalls(serverPid);
  for (const c of clients) c.close();
  await settle();
  const n = Math.max(1, clients.length);
  return {
    cpuMs: (processCpuMs(serverPid) - before) / n,
    writes: (writeCalls(serverPid) - writesBefore) / n,
  };
}

/**
 * Counts the Redis commands the gateway sends while `clients` sessions are restored, with MONITOR: lines
 * from a client address are the gateway's own commands, lines from `lua` run inside a script.
 */
async function countRestoreCommands(
  redisUrl: string,
  gatewayUrl: string,
  tokens: string[],
  gatewayPid: number,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let capturing = true;
  const monitor = await startMonitor(redisUrl, ({ args, source }) => {
    if (!capturing || source === 'lua') return;
    const name = (args[0] ?? '').toLowerCase();
    if (['zadd', 'zrangebyscore', 'ping', 'info', 'monitor', 'client', 'publish'].includes(name)) return; // heartbeat / adapter / ours
    counts[name] = (counts[name] ?? 0) + 1;
  });
  const { clients } = await connectAll(gatewayUrl, tokens, 'monitored', gatewayPid);
  capturing = false;
  for (const c of clients) c.close();
  monitor.stop();
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v / tokens.length]));
}

async function gatewayConnections(url: string): Promise<number> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  return Number(/^stayline_connections\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const env = baseEnv({
    REDIS_URL: redis.url,
    HANDSHAKES_PER_SECOND: '1000000',
    LOG_LEVEL: 'info',
    NODE_ID: 'bench-node',
  });
  const secret = env['JWT_SECRET'] ?? '';
  const gateway = await startGatewayProcess(env, undefined, { compiled: values.compiled });
  const plain = await startPlain(redis.url);
  const plainPid = plain.child.pid ?? -1;
  const settleGateway = async (): Promise<void> => {
    for (let i = 0; i < 400 && (await gatewayConnections(gateway.url)) > 0; i++)
      await new Promise((r) => setTimeout(r, 25));
  };
  const settlePlain = (): Promise<void> => new Promise((r) => setTimeout(r, 500));

  const results: Phase[][] = [];
  let commandBreakdown: Record<string, number> = {};
  try {
    // Warm-up (JIT, connection pools, and a heap grown to hold a phase's sockets: a first fill of
    // `clients` sockets cost the gateway twice the CPU of later ones) on both servers, not recorded.
    const warm = Array.from({ length: Math.max(300, CLIENTS) }, (_, i) =>
      signToken({ key: secret, sub: `warm-${i}`, nowMs: Date.now() }),
    );
    await closeAll(
      (
        await connectAll(
          plain.url,
          warm.map(() => undefined),
          'warm',
          plainPid,
        )
      ).clients,
      settlePlain,
      plainPid,
    );
    await closeAll(
      (await connectAll(gateway.url, warm, 'warm', gateway.pid)).clients,
      settleGateway,
      gateway.pid,
    );
    // Restores (the users of the warm-up have sessions), counted with MONITOR, untimed; once the warm-up's
    // detaches (a script, then an SREM each) are over, or they would be counted too.
    await new Promise((r) => setTimeout(r, 2000));
    commandBreakdown = await countRestoreCommands(redis.url, gateway.url, warm.slice(0, 200), gateway.pid);
    await settleGateway();
    for (let round = 0; round < ROUNDS; round++) {
      const tokens = Array.from({ length: CLIENTS }, (_, i) =>
        signToken({ key: secret, sub: `bench-${round}-${i}`, nowMs: Date.now() }),
      );
      const plainPhase = async (): Promise<Phase> => {
        const p = await connectAll(
          plain.url,
          tokens.map(() => undefined),
          'plain socket.io + redis-adapter',
          plainPid,
        );
        const closed = await closeAll(p.clients, settlePlain, plainPid);
        p.phase.cpuMsPerClose = closed.cpuMs;
        p.phase.writesPerClose = closed.writes;
        return p.phase;
      };
      const gatewayPhase = async (name: string): Promise<Phase> => {
        const g = await connectAll(gateway.url, tokens, name, gateway.pid);
        const closed = await closeAll(g.clients, settleGateway, gateway.pid);
        g.phase.cpuMsPerClose = closed.cpuMs;
        g.phase.writesPerClose = closed.writes;
        return g.phase;
      };
      // The plain server goes first in even rounds and last in odd ones, so that no gateway phase always
      // follows the plain one (the fresh phase did, and ran slower than the restore phase of its round).
      const plainFirst = round % 2 === 0 ? await plainPhase() : undefined;
      const fresh = await gatewayPhase('gateway, fresh session');
      const restore = await gatewayPhase('gateway, session restored');
      const plainLast = plainFirst ?? (await plainPhase());
      results.push([plainLast, fresh, restore]);
    }
  } finally {
    plain.child.kill('SIGTERM');
    await gateway.kill('SIGTERM');
    await redis.stop();
  }

  const names = results[0]?.map((p) => p.name) ?? [];
  const summary = names.map((name, i) => {
    const rows = results.map((r) => r[i]).filter((x): x is Phase => x !== undefined);
    return {
      name,
      connectsPerSecond: median(rows.map((r) => r.connectsPerSecond)),
      p50Ms: median(rows.map((r) => r.p50Ms)),
      p99Ms: median(rows.map((r) => r.p99Ms)),
      cpuMsPerConnect: median(rows.map((r) => r.cpuMsPerConnect)),
      cpuMsPerClose: median(rows.map((r) => r.cpuMsPerClose)),
      writesPerConnect: median(rows.map((r) => r.writesPerConnect)),
      writesPerClose: median(rows.map((r) => r.writesPerClose)),
      recovered: rows.reduce((a, r) => a + r.recovered, 0),
      errors: rows.reduce((a, r) => a + r.errors, 0),
      ratioVsPlain: median(
        results.map((r) => (r[i]?.connectsPerSecond ?? NaN) / (r[0]?.connectsPerSecond ?? NaN)),
      ),
    };
  });
  const meta = {
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    clients: CLIENTS,
    concurrency: CONCURRENCY,
    rounds: ROUNDS,
    gateway: values.compiled ? 'compiled (gateway/dist)' : 'tsx (gateway/src)',
  };
  if (values.json) {
    console.log(
      JSON.stringify({ meta, summary, commandsPerRestore: commandBreakdown, rounds: results }, null, 2),
    );
    return;
  }
  console.log(
    `connect-and-restore, ${CLIENTS} clients x ${ROUNDS} rounds, ${CONCURRENCY} in flight, gateway ${meta.gateway} — ${meta.node}, ${meta.cores} x ${meta.cpu}\n`,
  );
  console.log(
    '| server | connects/s (median) | p50 ms | p99 ms | vs plain | server CPU ms/connect | ms/close | writes/connect | writes/close | restored | errors |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of summary) {
    console.log(
      `| ${s.name} | ${s.connectsPerSecond.toFixed(0)} | ${s.p50Ms.toFixed(1)} | ${s.p99Ms.toFixed(1)} | ${s.ratioVsPlain.toFixed(2)}x | ${s.cpuMsPerConnect.toFixed(2)} | ${s.cpuMsPerClose.toFixed(2)} | ${s.writesPerConnect.toFixed(2)} | ${s.writesPerClose.toFixed(2)} | ${s.recovered} | ${s.errors} |`,
    );
  }
  const total = Object.values(commandBreakdown).reduce((a, b) => a + b, 0);
  console.log(
    `\nRedis commands sent per restore (MONITOR, 200 restores): ${total.toFixed(2)} — ${JSON.stringify(commandBreakdown)}`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
