/**
 * The cost of REDIS_WAIT_REPLICAS on a hold: ClaimStore.hold (with a request record, each win released)
 * in closed loops against a primary with one replica (`--replicaof`, loopback), with WAIT off and WAIT 1,
 * alternating rounds, in this process (no gateway). Prints a markdown table.
 *
 *   node --import tsx gateway/bench/claim-wait.ts [--clients 100] [--seats 20] [--seconds 5] [--rounds 2]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createRedisClient } from '../src/infra/redis.ts';
import { RedisClaimStore } from '../src/session/redis-claim-store.ts';
import { freePort, installExitHook, spawnServer, terminate, waitForPong } from '../../dev/redis.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '100' },
    seats: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
  },
});
const CLIENTS = Number(values.clients);
const SEATS = Array.from({ length: Number(values.seats) }, (_, i) => `S${i}`);
const DURATION_MS = Number(values.seconds) * 1000;
const logger = pino({ level: 'silent' });

async function run(url: string, replicas: number, round: number): Promise<string> {
  const redis = createRedisClient(url, { commandTimeoutMs: 5000, logger, name: 'bench' });
  await new Promise((resolve) => redis.once('ready', resolve));
  const store = new RedisClaimStore({
    redis,
    ownsClient: true,
    keyPrefix: 'stayline:',
    sessionTtlSeconds: 120,
    limits: { holdSeconds: 300, admissionTtlSeconds: 60, sessionCheckSeconds: 30 },
    logger,
    wait: { replicas, timeoutMs: 500 },
  });
  // The WAIT lanes connect beside the store's client: wait until every one answers.
  for (let i = 0; ; i++) {
    try {
      await store.ping();
      break;
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const eventId = `bench-${replicas}-${round}`;
  await store.defineEvent(eventId, {
    seats: SEATS,
    requiresAdmission: false,
    admissionRatePerSecond: 0,
    maxSeatsPerUser: 4,
    holdSeconds: 300,
  });
  const latencies: number[] = [];
  let wins = 0;
  let refused = 0;
  let seq = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, i) => {
      while (performance.now() < started + DURATION_MS) {
        const seat = SEATS[Math.floor(Math.random() * SEATS.length)]!;
        const t = performance.now();
        try {
          const r = await store.hold(`u${i}`, eventId, [seat], false, {
            requestId: `r-${++seq}`,
            resultTtlMs: 120_000,
          });
          latencies.push(performance.now() - t);
          if (r.ok) {
            wins += 1;
            await store.release(`u${i}`, eventId, [seat]);
          }
        } catch {
          refused += 1;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await store.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => (latencies[Math.floor(p * latencies.length)] ?? NaN).toFixed(2);
  return `| ${replicas === 0 ? 'off' : `WAIT ${replicas}`} | ${round} | ${(latencies.length / seconds).toFixed(0)} | ${q(0.5)} | ${q(0.99)} | ${((100 * wins) / latencies.length).toFixed(0)}% | ${refused} |`;
}

installExitHook();
const dir = mkdtempSync(join(tmpdir(), 'stayline-bench-wait-'));
const [primaryPort, replicaPort] = [await freePort(), await freePort()];
const primary = spawnServer(primaryPort, ['--repl-diskless-sync-delay', '0', '--dir', dir]);
await waitForPong(primaryPort, primary.child, primary.output);
const replica = spawnServer(replicaPort, ['--replicaof', '127.0.0.1', String(primaryPort), '--dir', dir]);
await waitForPong(replicaPort, replica.child, replica.output);
await new Promise((r) => setTimeout(r, 1500));
const lines = [
  `| REDIS_WAIT_REPLICAS | round | holds/s | p50 ms | p99 ms | held | refused |`,
  `|---|---:|---:|---:|---:|---:|---:|`,
];
try {
  for (let round = 1; round <= Number(values.rounds); round++) {
    for (const replicas of [0, 1]) lines.push(await run(`redis://127.0.0.1:${primaryPort}`, replicas, round));
  }
} finally {
  await Promise.all([terminate(primary.child, 'SIGKILL'), terminate(replica.child, 'SIGKILL')]);
  rmSync(dir, { recursive: true, force: true });
}
console.log(lines.join('\n'));
