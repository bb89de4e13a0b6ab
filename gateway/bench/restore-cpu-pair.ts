/**
 * Benchmark, not a test: the node's and Redis' CPU per restore of a user with something to restore (two
 * rooms, a queue place and a held seat, the kill storm's users: docs/benchmarks.md §6a), many restores at
 * once, for two builds side by side. A is another checkout (`--a-root`: e.g. `git worktree add
 * /tmp/before <rev>`, with `node_modules` linked or installed there), B this one; each runs its own
 * compiled gateway (built first) on one Redis, each with its own users and event. They take turns, B first
 * in odd rounds; round 0 warms both up and is not counted. Per round: `--users` restores (connect, wait for
 * `session:restored`, close) with `--concurrency` in flight, and the CPU (user + system) of the node
 * (/proc/<pid>/stat) and of Redis (INFO cpu) divided by the restores. The result is the median of each side
 * and B's over A's. Without `--a-root`, A is this checkout too: the spread of one build against itself.
 *
 *   node --import tsx gateway/bench/restore-cpu-pair.ts --a-root /tmp/before [--users 2000]
 *     [--concurrency 100] [--rounds 6]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { LeanClient } from '../../loadtest/src/lean-client.ts';
import { startRedis } from '../../dev/redis.ts';
import { signToken } from '../../dev/tokens.ts';
import { processCpuMs, redisCpuMs } from './cpu-usage.ts';
import type * as GatewayProcessModule from '../../dev/gateway-process.ts';
import { median } from './median.ts';

const { values } = parseArgs({
  options: {
    'a-root': { type: 'string' },
    users: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '6' },
  },
});
const USERS = Number(values.users);
const CONCURRENCY = Number(values.concurrency);
const ROUNDS = Number(values.rounds);
const SIDES = ['A', 'B'] as const;
type Side = (typeof SIDES)[number];

const here = resolve(new URL('../..', import.meta.url).pathname);
const roots: Record<Side, string> = { A: resolve(values['a-root'] ?? here), B: here };
const launcher = async (root: string): Promise<typeof GatewayProcessModule> =>
  (await import(pathToFileURL(`${root}/dev/gateway-process.ts`).href)) as typeof GatewayProcessModule;

/** Runs `count` tasks, `concurrency` at a time. */
async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

const redis = await startRedis();
const probe = new Redis(redis.url);
const serviceToken = `svc-${crypto.randomUUID()}`;
const launchers = { A: await launcher(roots.A), B: await launcher(roots.B) };
const env = launchers.B.baseEnv({
  REDIS_URL: redis.url,
  HANDSHAKES_PER_SECOND: '1000000',
  EVENTS_PER_SECOND: '1000',
  EVENTS_BURST: '1000',
  SERVICE_TOKEN: serviceToken,
});
const secret = env['JWT_SECRET']!;
const gateways = {
  A: await launchers.A.startGatewayProcess({ ...env, NODE_ID: 'a' }, undefined, { compiled: true }),
  B: await launchers.B.startGatewayProcess({ ...env, NODE_ID: 'b' }, undefined, { compiled: true }),
};
console.log(`A: ${roots.A}   B: ${roots.B}   ${USERS} restores per round, ${CONCURRENCY} in flight`);
try {
  const tokens: Record<Side, string[]> = { A: [], B: [] };
  for (const side of SIDES) {
    const { url } = gateways[side];
    const eventId = `restore-${side}`;
    const defined = await fetch(`${url}/v1/events/${eventId}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${serviceToken}` },
      body: JSON.stringify({ seats: Array.from({ length: USERS }, (_, i) => `S${i}`), maxSeatsPerUser: 1 }),
    });
    if (!defined.ok) throw new Error(`defining ${eventId}: ${defined.status} ${await defined.text()}`);
    tokens[side] = Array.from({ length: USERS }, (_, i) =>
      signToken({ key: secret, sub: `${side}-${i}`, nowMs: Date.now() }),
    );
    await pool(USERS, 16, async (i) => {
      const client = new LeanClient({ url, token: tokens[side][i]! });
      await client.connect();
      await client.request('room:join', { room: `r${i % 50}` });
      await client.request('room:join', { room: `t${i % 7}` });
      await client.request('queue:join', { eventId });
      await client.request('seat:hold', { eventId, seatIds: [`S${i}`] });
      client.close();
    });
  }
  const node: Record<Side, number[]> = { A: [], B: [] };
  const store: Record<Side, number[]> = { A: [], B: [] };
  for (let round = 0; round <= ROUNDS; round++) {
    for (const side of round % 2 === 1 ? (['B', 'A'] as const) : SIDES) {
      const gateway = gateways[side];
      const [cpu0, redis0] = [processCpuMs(gateway.pid), await redisCpuMs(probe)];
      let restoredHolds = 0;
      await pool(USERS, CONCURRENCY, async (i) => {
        const client = new LeanClient({ url: gateway.url, token: tokens[side][i]! });
        const outcome = await client.connect();
        if ((outcome.session as { holds?: unknown[] } | undefined)?.holds?.length === 1) restoredHolds++;
        client.close();
      });
      // The closes' detaches (batched by the node) land within this.
      await new Promise((r) => setTimeout(r, 700));
      const nodeMs = (processCpuMs(gateway.pid) - cpu0) / USERS;
      const redisMs = ((await redisCpuMs(probe)) - redis0) / USERS;
      if (restoredHolds !== USERS)
        throw new Error(`${side}: ${restoredHolds} of ${USERS} restored their hold`);
      if (round > 0) {
        node[side].push(nodeMs);
        store[side].push(redisMs);
      }
      console.log(
        `round ${round} ${side}: node ${nodeMs.toFixed(3)} ms, redis ${redisMs.toFixed(3)} ms per restore and close${round === 0 ? ' (warm-up)' : ''}`,
      );
    }
  }
  const [a, b] = [median(node.A), median(node.B)];
  const [ra, rb] = [median(store.A), median(store.B)];
  console.log(
    `median CPU per restore and close: node A ${a.toFixed(3)} ms, B ${b.toFixed(3)} ms, B/A ${(b / a).toFixed(3)}; ` +
      `redis A ${ra.toFixed(3)} ms, B ${rb.toFixed(3)} ms, B/A ${(rb / ra).toFixed(3)}`,
  );
} finally {
  probe.disconnect();
  await gateways.A.kill('SIGTERM');
  await gateways.B.kill('SIGTERM');
  await redis.stop();
}
