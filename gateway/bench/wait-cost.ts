/**
 * The cost of REDIS_WAIT_REPLICAS=1 on seat:hold through the whole gateway, for bench/failover-holds.ts
 * (`--only cost`): one primary with one real replica (no delay), a gateway process with WAIT 1 and one
 * with WAIT 0 on it side by side, and `clients` lean clients on each, in a closed loop: hold the user's
 * own seat (with a requestId, as the SDK sends), then release it. Every hold is a real write, so every one
 * waits for the replica under WAIT 1 (and so does every release). The two gateways are measured in
 * alternating rounds (0, 1, 0, 1) so that the shared machine's noise falls on both.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { LeanClient } from '../../loadtest/src/lean-client.ts';
import { baseEnv, startGatewayProcess, type GatewayProcess } from '../../dev/gateway-process.ts';
import { freePort, spawnServer, startRedis, terminate, waitForPong } from '../../dev/redis.ts';
import { signToken } from '../../dev/tokens.ts';

const TOKEN = 'wait-cost-service-token-0123456789abcdef';

/** Options of runWaitCost. */
export interface WaitCostOptions {
  /** Clients per gateway. */
  clients: number;
  /** Seconds per round (two rounds per gateway). */
  seconds: number;
  log?: (line: string) => void;
}

const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

/** Runs the comparison; resolves with a markdown table. */
export async function runWaitCost(options: WaitCostOptions): Promise<string> {
  const log = options.log ?? (() => undefined);
  const primary = await startRedis();
  const replicaPort = await freePort();
  // --dir: a replica writes the snapshot of its full sync to disk, never into the caller's cwd.
  const dir = mkdtempSync(join(tmpdir(), 'stayline-wait-cost-'));
  const replica = spawnServer(replicaPort, ['--dir', dir, '--replicaof', '127.0.0.1', String(primary.port)]);
  const nodes: GatewayProcess[] = [];
  const clients: LeanClient[][] = [];
  try {
    await waitForPong(replicaPort, replica.child, replica.output);
    const check = new Redis(replicaPort, '127.0.0.1');
    for (let i = 0; !(await check.info('replication')).includes('master_link_status:up'); i++) {
      if (i > 200) throw new Error('replica not in sync');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    check.disconnect();
    const env = baseEnv({
      REDIS_URL: primary.url,
      SERVICE_TOKEN: TOKEN,
      EVENTS_PER_SECOND: '100000',
      EVENTS_BURST: '100000',
      HANDSHAKES_PER_SECOND: '10000',
      REDIS_COMMAND_TIMEOUT_MS: '5000',
      REDIS_WAIT_TIMEOUT_MS: '2000',
    });
    for (const wait of [0, 1]) {
      const node = await startGatewayProcess({
        ...env,
        NODE_ID: `wait-${wait}`,
        REDIS_WAIT_REPLICAS: `${wait}`,
      });
      nodes.push(node);
      const seats = Array.from({ length: options.clients }, (_, i) => `s${i}`);
      const res = await fetch(`${node.url}/v1/events/cost${wait}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ seats, maxSeatsPerUser: 1 }),
      });
      if (!res.ok) throw new Error(`define: ${res.status}`);
      const set = Array.from(
        { length: options.clients },
        (_, i) =>
          new LeanClient({
            url: node.url,
            token: signToken({
              key: env['JWT_SECRET']!,
              sub: `c${wait}-${i}`,
              expiresIn: 3600,
              nowMs: Date.now(),
            }),
            events: new Set(),
          }),
      );
      for (const c of set) await c.connect(20_000);
      clients.push(set);
    }
    const totals = [0, 1].map(() => ({ holds: 0, seconds: 0, refused: 0, latencies: [] as number[] }));
    let seq = 0;
    for (const round of [0, 1]) {
      for (const wait of [0, 1]) {
        const total = totals[wait]!;
        const started = performance.now();
        const deadline = started + options.seconds * 1000;
        await Promise.all(
          clients[wait]!.map(async (client, i) => {
            const eventId = `cost${wait}`;
            const seatIds = [`s${i}`];
            while (performance.now() < deadline) {
              const t = performance.now();
              const ack = (await client.request('seat:hold', {
                eventId,
                seatIds,
                requestId: `r${++seq}`,
              })) as {
                ok: boolean;
              };
              if (!ack.ok) {
                total.refused += 1;
                continue;
              }
              total.latencies.push(performance.now() - t);
              total.holds += 1;
              await client.request('seat:release', { eventId, seatIds, requestId: `r${++seq}` });
            }
          }),
        );
        total.seconds += (performance.now() - started) / 1000;
        log(`round ${round + 1}, WAIT ${wait}: ${total.holds} holds so far`);
      }
    }
    const lines = [
      `wait-cost: ${options.clients} clients per gateway, hold own seat then release, 2 alternating rounds of ${options.seconds} s each, one replica (no delay)`,
      '',
      '| REDIS_WAIT_REPLICAS | holds/s | hold p50 ms | hold p99 ms | holds refused | holds/s vs WAIT 0 |',
      '|---:|---:|---:|---:|---:|---:|',
    ];
    const perSecond = totals.map((t) => t.holds / t.seconds);
    totals.forEach((t, wait) => {
      const sorted = [...t.latencies].sort((a, b) => a - b);
      lines.push(
        `| ${wait} | ${perSecond[wait]!.toFixed(0)} | ${quantile(sorted, 0.5).toFixed(2)} | ${quantile(sorted, 0.99).toFixed(2)} | ${t.refused} | ${(perSecond[wait]! / perSecond[0]!).toFixed(2)} |`,
      );
    });
    return lines.join('\n');
  } finally {
    for (const set of clients) for (const c of set) c.close();
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
    await terminate(replica.child, 'SIGKILL');
    await primary.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
