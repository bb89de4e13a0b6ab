/**
 * `node --import tsx gateway/bench/history-publish.ts`: the cost of message history on POST /v1/publish
 * and the Redis memory it keeps. Two gateway processes on one redis-server, one member of the room on each
 * node; rounds alternate history on (default) and `volatile: true` (the adapter's broadcast, as before
 * history) with the same concurrency, so both run on the same machine state. Then fills 50 streams to
 * HISTORY_SIZE (100) and reports Redis `MEMORY USAGE` per 1,000 retained messages; between them, the nodes'
 * sequencer counters (gap waits, repaired, duplicates dropped). Prints one JSON line per
 * measurement. BENCH_PUBLISHES, BENCH_CONCURRENCY, BENCH_ROUNDS tune it.
 */
import { Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import { baseEnv, startGatewayProcess } from '../../dev/gateway-process.ts';
import { startRedis } from '../../dev/redis.ts';
import { signToken } from '../../dev/tokens.ts';

const SERVICE_TOKEN = 'bench-service-token-0123456789';
const PUBLISHES = Number(process.env['BENCH_PUBLISHES'] ?? 4000);
const CONCURRENCY = Number(process.env['BENCH_CONCURRENCY'] ?? 32);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);

async function main(): Promise<void> {
  const redis = await startRedis();
  const env = baseEnv({
    REDIS_URL: redis.url,
    SERVICE_TOKEN,
    HISTORY_SIZE: '100',
    EVENTS_PER_SECOND: '100000',
  });
  const nodes = await Promise.all(['b1', 'b2'].map((id) => startGatewayProcess({ ...env, NODE_ID: id })));
  const admin = new Redis(redis.url);
  const members: Socket[] = [];
  let received = 0;
  let duplicates = 0;
  try {
    for (const [i, node] of nodes.entries()) {
      const token = signToken({ key: env['JWT_SECRET']!, sub: `m${i}`, expiresIn: 3600, nowMs: Date.now() });
      const socket = io(node.url, { transports: ['websocket'], auth: { token }, reconnection: false });
      await new Promise((resolve) => socket.once('session:restored', resolve));
      await socket.timeout(5000).emitWithAck('room:join', { room: 'bench' });
      // Exactly once: every position a member sees is counted, and one seen twice is a duplicate.
      const seen = new Set<number>();
      socket.on('tick', (_data: unknown, position?: { offset: number }) => {
        received++;
        if (position === undefined) return;
        if (seen.has(position.offset)) duplicates++;
        seen.add(position.offset);
      });
      members.push(socket);
    }
    const publish = (volatile: boolean, n: number): Promise<Response> =>
      fetch(`${nodes[n % 2]!.url}/v1/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVICE_TOKEN}` },
        body: JSON.stringify({ room: 'bench', event: 'tick', data: { n, pad: 'x'.repeat(100) }, volatile }),
      });
    const round = async (volatile: boolean): Promise<number> => {
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < PUBLISHES) {
            const res = await publish(volatile, next++);
            if (res.status !== 202) throw new Error(`publish answered ${res.status}`);
          }
        }),
      );
      return PUBLISHES / ((performance.now() - started) / 1000);
    };
    const settle = async (before: number): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (received - before < PUBLISHES * 2 && Date.now() < deadline)
        await new Promise((x) => setTimeout(x, 20));
    };
    // Warm-up of both paths, wholly delivered before the first measured round (a path's first round on
    // fresh processes was always its slowest: 0.63-0.65 for history when only the volatile path was warm).
    for (const volatile of [true, false]) {
      const warm = received;
      await round(volatile);
      await settle(warm);
    }
    for (let r = 0; r < ROUNDS; r++) {
      for (const volatile of [false, true]) {
        const before = received;
        const perSecond = await round(volatile);
        await settle(before);
        console.log(
          JSON.stringify({
            measure: 'publish',
            history: !volatile,
            round: r,
            perSecond: Math.round(perSecond),
            duplicates,
            delivered: received - before,
            expected: PUBLISHES * 2,
          }),
        );
      }
    }
    // What the nodes' sequencers did meanwhile: gap waits (a jump held for the whole wait, then a history
    // read) and messages repaired from history. Concurrent publishes through two nodes race the append
    // replies against the other node's Pub/Sub messages, so jumps happen; waits should not.
    const counters: Record<string, number> = {};
    for (const node of nodes) {
      const text = await (await fetch(`${node.url}/metrics`)).text();
      for (const m of text.matchAll(
        /^(stayline_history_(?:gap_waits|repaired_messages|duplicates_dropped)_total)(?:\{[^}]*\})? (\d+)/gm,
      ))
        counters[m[1]!] = (counters[m[1]!] ?? 0) + Number(m[2]);
    }
    console.log(JSON.stringify({ measure: 'sequencer', ...counters }));
    // Redis memory per 1,000 retained messages (about 120 bytes of JSON data each): 50 streams filled to
    // HISTORY_SIZE, MEMORY USAGE of their keys summed.
    const streams = 50;
    for (let r = 0; r < streams; r++) {
      for (let n = 0; n < 100; n++) {
        const res = await fetch(`${nodes[0]!.url}/v1/publish`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVICE_TOKEN}` },
          body: JSON.stringify({ room: `mem-${r}`, event: 'tick', data: { n, pad: 'x'.repeat(100) } }),
        });
        if (res.status !== 202) throw new Error(`publish answered ${res.status}`);
      }
    }
    let bytes = 0;
    for (let r = 0; r < streams; r++)
      for (const part of ['hlog', 'hmeta'])
        bytes += Number(await admin.memory('USAGE', `stayline:{room:mem-${r}}:${part}`, 'SAMPLES', '0'));
    console.log(
      JSON.stringify({
        measure: 'memory',
        retained: streams * 100,
        bytesPer1000: Math.round((bytes / (streams * 100)) * 1000),
      }),
    );
  } finally {
    for (const s of members) s.close();
    admin.disconnect();
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
    await redis.stop();
  }
}

await main();
