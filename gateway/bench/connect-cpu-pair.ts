/**
 * Benchmark, not a test: what a setting costs per connect in an open loop, the regime of a connect storm
 * (one or two handshakes per turn of the event loop, unlike connect-restore.ts's closed loop). Two compiled
 * gateways, A and B, differ only in the environment given; on one Redis they take turns at the same
 * open-loop rate (`loadtest connect`, two steps of 4 s), B first in odd rounds; round 0 warms both up and is
 * not counted. Per run: the node's CPU (user + system, /proc/<pid>/stat) and Redis' (INFO cpu) per
 * connect; the result is the median of each side and B's over A's.
 *
 *   node --import tsx gateway/bench/connect-cpu-pair.ts --a REDIS_WRITE_GAP_MS=0 --b REDIS_WRITE_GAP_MS=3 \
 *     [--rate 1500] [--rounds 5]
 *
 * A run whose ramp failed a step (p99 over 1 s: the machine was busy) stops early and is left out: an
 * overloaded node's CPU per connect is not the setting's.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { processCpuMs, redisCpuMs } from './cpu-usage.ts';
import { baseEnv, startGatewayProcess, type GatewayProcess } from '../../dev/gateway-process.ts';
import { startRedis } from '../../dev/redis.ts';
import { median } from './median.ts';

const { values } = parseArgs({
  options: {
    a: { type: 'string', default: '' },
    b: { type: 'string', default: '' },
    rate: { type: 'string', default: '1500' },
    rounds: { type: 'string', default: '5' },
  },
});
const STEPS = 2;
const STEP_SECONDS = 4;

/** `K=V,K=V` to an environment. */
const envOf = (spec: string): Record<string, string> =>
  Object.fromEntries(
    spec
      .split(',')
      .filter((kv) => kv.includes('='))
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );

const redis = await startRedis();
const probe = new Redis(redis.url);
const common = baseEnv({ REDIS_URL: redis.url, HANDSHAKES_PER_SECOND: '1000000', CORS_ORIGINS: '*' });
const sides: Record<'A' | 'B', GatewayProcess> = {
  A: await startGatewayProcess({ ...common, NODE_ID: 'a', ...envOf(values.a) }, undefined, {
    compiled: true,
  }),
  B: await startGatewayProcess({ ...common, NODE_ID: 'b', ...envOf(values.b) }, undefined, {
    compiled: true,
  }),
};
const node: Record<'A' | 'B', number[]> = { A: [], B: [] };
const store: Record<'A' | 'B', number[]> = { A: [], B: [] };
console.log(`A: ${values.a || '(defaults)'}   B: ${values.b || '(defaults)'}   ${values.rate}/s open loop`);
try {
  for (let round = 0; round <= Number(values.rounds); round++) {
    for (const side of round % 2 === 1 ? (['B', 'A'] as const) : (['A', 'B'] as const)) {
      const gw = sides[side];
      const [cpu0, redis0] = [processCpuMs(gw.pid), await redisCpuMs(probe)];
      const out = spawnSync(
        'npm',
        [
          'run',
          '-s',
          'loadtest',
          '--',
          'connect',
          '--url',
          gw.url,
          '--jwt-secret',
          common['JWT_SECRET']!,
          '--rates',
          Array(STEPS).fill(values.rate).join(','),
          '--step-seconds',
          String(STEP_SECONDS),
          '--warmup-seconds',
          '0',
          '--quiet',
        ],
        { cwd: new URL('../..', import.meta.url).pathname, encoding: 'utf8', timeout: 120_000 },
      ).stdout;
      const connects = Number(/connects=(\d+)/.exec(out)?.[1] ?? NaN);
      const nodeMs = (processCpuMs(gw.pid) - cpu0) / connects;
      const redisMs = ((await redisCpuMs(probe)) - redis0) / connects;
      const complete = connects === STEPS * STEP_SECONDS * Number(values.rate);
      const counted = round > 0 && complete;
      if (counted) {
        node[side].push(nodeMs);
        store[side].push(redisMs);
      }
      const note = round === 0 ? ' (warm-up)' : complete ? '' : ' (a step failed: left out)';
      console.log(
        `round ${round} ${side}: ${connects} connects, node ${nodeMs.toFixed(3)} ms, redis ${redisMs.toFixed(3)} ms per connect${note}`,
      );
    }
  }
  const [a, b] = [median(node.A), median(node.B)];
  console.log(
    `median CPU per connect: node A ${a.toFixed(3)} ms, B ${b.toFixed(3)} ms, B/A ${(b / a).toFixed(3)}; ` +
      `redis A ${median(store.A).toFixed(3)} ms, B ${median(store.B).toFixed(3)} ms, ` +
      `B/A ${(median(store.B) / median(store.A)).toFixed(3)}`,
  );
} finally {
  probe.disconnect();
  await sides.A.kill('SIGTERM');
  await sides.B.kill('SIGTERM');
  await redis.stop();
}
