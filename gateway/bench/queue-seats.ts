/**
 * Benchmark, not a test: seat holds under contention, queue join/leave and admission through one real
 * gateway process on one real Redis, each beside a raw Redis baseline of the same number of round trips
 * measured in the same run (the machine is shared and noisy: compare the ratio, not the absolute).
 *
 *   node --import tsx gateway/bench/queue-seats.ts [--clients 100] [--seats 20] [--seconds 5] [--queue 2000] [--batch 50]
 *     [--only hold] [--profile DIR]
 *
 * `--only hold` runs the `seat:hold` loops (gateway, claim store, raw Redis, stock Socket.IO) and nothing else;
 * `--profile DIR` starts the gateway with a CPU profiler (cpu-profile.ts) writing into DIR and stops it with
 * SIGTERM (a clean exit writes the profile) instead of SIGKILL. Neither changes what a loop measures.
 *
 * - seat:hold: `clients` lean clients in a closed loop, each holding a random one of `seats` seats
 *   (one per user, so most attempts conflict) and releasing it when it got it. Hold acks are timed. Every
 *   client follows the event (a hold joins its room): the changes reach all of them as coalesced seat:updates.
 *   Each hold carries a fresh `requestId`, as the SDK sends one with every call; a second loop sends none.
 *   Then the claim store alone (in this process, on the same Redis, no gateway): ClaimStore.hold with its
 *   request record folded in (two commands, one round trip), the same loop.
 *   Baseline: the same loops on one raw ioredis connection, `SET seat NX PX` then `DEL` when acquired
 *   (one round trip each, like the hold and the release).
 *   Then the ceiling of any Socket.IO server here, the same number of lean clients against stock Socket.IO
 *   (plain-server.ts, same Redis): an ack with no Redis work (`room:join`), and a hand-rolled hold, one
 *   `SET NX PX` (then `DEL` when acquired) with no auth per request, no validation, no request record, no
 *   seat map and no followers. The gateway's holds are also shown against that hand-rolled hold.
 * - queue:join: the same clients, join then leave one queue in a loop; join acks timed. Baseline: ZADD NX +
 *   ZRANK pipelined (one round trip), then ZREM.
 * - admission: `queue` users wait in a queue; `POST /v1/events/:id/admit { count: batch }` in a loop until
 *   it is empty (each admitted user is sent a signed token). Baseline: ZPOPMIN batch (one round trip, like
 *   the admit script).
 * Prints a markdown table.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { processCpuMs, redisCpuMs } from './cpu-usage.ts';
import { LeanClient } from '../../loadtest/src/lean-client.ts';
import { createRedisClient } from '../src/infra/redis.ts';
import { RedisClaimStore } from '../src/session/redis-claim-store.ts';
import { stopChild } from '../../dev/child-process.ts';
import { baseEnv, startGatewayProcess } from '../../dev/gateway-process.ts';
import { startPlain } from '../../dev/local-cluster.ts';
import { startRedis } from '../../dev/redis.ts';
import { signToken } from '../../dev/tokens.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '100' },
    seats: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '5' },
    queue: { type: 'string', default: '2000' },
    batch: { type: 'string', default: '50' },
    only: { type: 'string' },
    profile: { type: 'string' },
  },
});
const CLIENTS = Number(values.clients);
const SEATS = Array.from({ length: Number(values.seats) }, (_, i) => `S${i}`);
const DURATION_MS = Number(values.seconds) * 1000;
const QUEUE = Number(values.queue);
const BATCH = Number(values.batch);
const ONLY_HOLD = values.only === 'hold';
const PROFILE_DIR = values.profile;
const PROFILER = fileURLToPath(new URL('./cpu-profile.ts', import.meta.url));
const TOKEN = 'bench-service-token-0123456789abcdef';

interface Row {
  name: string;
  ops: number;
  seconds: number;
  latencies: number[];
  note: string;
}
const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
const stats = (r: Row) => {
  const sorted = [...r.latencies].sort((a, b) => a - b);
  return { perSecond: r.ops / r.seconds, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
};

/** Runs `loops` closed loops of `step` for DURATION_MS; `step` returns the latency of its timed part. */
async function closedLoop(loops: number, step: (i: number) => Promise<number | undefined>): Promise<Row> {
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + DURATION_MS;
  await Promise.all(
    Array.from({ length: loops }, async (_, i) => {
      while (performance.now() < deadline) {
        const ms = await step(i);
        if (ms !== undefined) latencies.push(ms);
      }
    }),
  );
  return {
    name: '',
    ops: latencies.length,
    seconds: (performance.now() - started) / 1000,
    latencies,
    note: '',
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const value = await fn();
  return [value, performance.now() - t];
}

/**
 * Redis commands per operation since the last CONFIG RESETSTAT (INFO commandstats), the costliest first:
 * `name calls-per-op × µs-per-call`. Commands a script runs (`redis.call`) are counted too, besides its
 * EVALSHA (whose µs include them).
 */
async function commandStats(redis: Redis, ops: number): Promise<string> {
  const info = await redis.info('commandstats');
  return [...info.matchAll(/cmdstat_(\w+):calls=(\d+),usec=(\d+),usec_per_call=([0-9.]+)/g)]
    .filter((m) => m[1] !== 'info' && m[1] !== 'config')
    .sort((a, b) => Number(b[3]) - Number(a[3]))
    .slice(0, 10)
    .map((m) => `${m[1]} ${(Number(m[2]) / Math.max(1, ops)).toFixed(2)}× ${m[4]} µs`)
    .join(', ');
}

/** What one loop cost each process, per operation: filled in by `costOf`, printed after the table. */
const costs: string[] = [];

function printTable(rows: [Row, Row][]): void {
  const f = (n: number, d = 0) => n.toFixed(d);
  const lines = [
    `| Operation | ops/s | p50 ms | p99 ms | Baseline in the same run | ops/s | p50 ms | p99 ms | ops/s ÷ baseline's | Notes |`,
    `|---|---:|---:|---:|---|---:|---:|---:|---:|---|`,
  ];
  for (const [g, r] of rows) {
    const a = stats(g);
    const b = stats(r);
    lines.push(
      `| ${g.name} | ${f(a.perSecond)} | ${f(a.p50, 2)} | ${f(a.p99, 2)} | ${r.name} | ${f(b.perSecond)} | ${f(b.p50, 2)} | ${f(b.p99, 2)} | ${f(a.perSecond / b.perSecond, 2)} | ${g.note}; baseline: ${r.note} |`,
    );
  }
  console.log(
    `\nqueue-seats: ${CLIENTS} clients, ${SEATS.length} seats, ${DURATION_MS / 1000} s per closed loop, admission of ${QUEUE} in batches of ${BATCH}\n`,
  );
  console.log(lines.join('\n'));
  console.log(
    `\nCPU per operation (gateway process, Redis, this bench process) and Redis commands per loop:\n`,
  );
  console.log(costs.join('\n'));
}

async function main(): Promise<void> {
  const redisServer = await startRedis();
  const env = baseEnv({
    REDIS_URL: redisServer.url,
    SERVICE_TOKEN: TOKEN,
    EVENTS_PER_SECOND: '100000',
    EVENTS_BURST: '100000',
    HANDSHAKES_PER_SECOND: '10000',
    REDIS_COMMAND_TIMEOUT_MS: '5000',
  });
  const gw = await startGatewayProcess({
    ...env,
    NODE_ID: 'bench',
    LOG_LEVEL: 'info',
    // Node 20 refuses --cpu-prof in NODE_OPTIONS: a preload runs the profiler (cpu-profile.ts).
    ...(PROFILE_DIR === undefined
      ? {}
      : { NODE_OPTIONS: `--import tsx --import ${PROFILER}`, CPU_PROFILE_DIR: PROFILE_DIR }),
  });
  const raw = new Redis(redisServer.url);
  const rows: [Row, Row][] = [];
  /**
   * Runs one loop and records what it cost each process per operation (CPU read before and after), and
   * Redis' per-command counts and µs per call (INFO commandstats after a CONFIG RESETSTAT): the closed
   * loop's throughput says which process is the limit only with these beside it.
   */
  const costOf = async (name: string, loop: () => Promise<Row>, server = gw.pid): Promise<Row> => {
    await raw.config('RESETSTAT');
    const before = { server: processCpuMs(server), redis: await redisCpuMs(raw), bench: process.cpuUsage() };
    const row = await loop();
    const redisMs = (await redisCpuMs(raw)) - before.redis;
    const benchUs = process.cpuUsage(before.bench);
    const per = (ms: number) => ((1000 * ms) / Math.max(1, row.ops)).toFixed(1);
    costs.push(
      `- ${name}: ${row.ops} ops; µs CPU per op: server ${per(processCpuMs(server) - before.server)}, Redis ${per(redisMs)}, bench ${per((benchUs.user + benchUs.system) / 1000)}; Redis: ${await commandStats(raw, row.ops)}`,
    );
    return row;
  };
  const api = (method: string, path: string, body: unknown) =>
    fetch(`${gw.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(body),
    });
  const token = (sub: string) =>
    signToken({ key: env['JWT_SECRET']!, sub, expiresIn: 3600, nowMs: Date.now() });
  const openClients = async (count: number, prefix: string): Promise<LeanClient[]> => {
    const clients = Array.from(
      { length: count },
      (_, i) => new LeanClient({ url: gw.url, token: token(`${prefix}${i}`) }),
    );
    for (let i = 0; i < clients.length; i += 100)
      await Promise.all(clients.slice(i, i + 100).map((c) => c.connect()));
    return clients;
  };
  try {
    await api('PUT', '/v1/events/bench', { seats: SEATS, maxSeatsPerUser: 1 });
    const clients = await openClients(CLIENTS, 'u');
    const pick = () => SEATS[Math.floor(Math.random() * SEATS.length)]!;

    // ---- seat holds under contention ----
    let requestSeq = 0;
    const holdLoop = async (eventId: string, withRequestId: boolean) => {
      let wins = 0;
      const row = await costOf(`seat:hold ${withRequestId ? 'with' : 'without'} requestId`, () =>
        closedLoop(CLIENTS, async (i) => {
          const seat = pick();
          const payload = withRequestId
            ? { eventId, seatIds: [seat], requestId: `bench-${++requestSeq}` }
            : { eventId, seatIds: [seat] };
          const [ack, ms] = await timed(() => clients[i]!.request('seat:hold', payload));
          if ((ack as { ok: boolean }).ok) {
            wins += 1;
            await clients[i]!.request('seat:release', { eventId, seatIds: [seat] });
          }
          return ms;
        }),
      );
      return { row, wins };
    };
    // Every holder follows the event (seat:hold joins its room), so all clients watch every change; the
    // changes reach them coalesced (at most one seat:update per socket per SEAT_UPDATE_INTERVAL_MS).
    // The profiler covers the hold loops only (cpu-profile.ts starts it on SIGUSR2).
    if (PROFILE_DIR !== undefined) process.kill(gw.pid, 'SIGUSR2');
    const loud = await holdLoop('bench', true);
    const hold = loud.row;
    hold.name = `seat:hold with requestId, ${CLIENTS} watching (gateway)`;
    hold.note = `${((100 * loud.wins) / hold.ops).toFixed(0)}% held, each win released; changes reach the ${CLIENTS} sockets as coalesced seat:updates`;
    const bare = await holdLoop('bench', false);
    bare.row.name = `seat:hold without requestId, ${CLIENTS} watching (gateway)`;
    bare.row.note = `${((100 * bare.wins) / bare.row.ops).toFixed(0)}% held`;
    // The claim store alone: what a hold costs in Redis once the request record is folded into the script.
    const storeClient = createRedisClient(redisServer.url, {
      commandTimeoutMs: 5000,
      logger: pino({ level: 'silent' }),
      name: 'bench',
    });
    await new Promise((resolve) => storeClient.once('ready', resolve));
    const store = new RedisClaimStore({
      redis: storeClient,
      ownsClient: true,
      keyPrefix: 'stayline:',
      sessionTtlSeconds: 120,
      limits: { holdSeconds: 300, admissionTtlSeconds: 60, sessionCheckSeconds: 30 },
      logger: pino({ level: 'silent' }),
    });
    let storeWins = 0;
    const storeHold = await costOf('ClaimStore.hold', () =>
      closedLoop(CLIENTS, async (i) => {
        const seat = pick();
        const request = { requestId: `store-${++requestSeq}`, resultTtlMs: 120_000 };
        const [result, ms] = await timed(() => store.hold(`u${i}`, 'bench', [seat], false, request));
        if (result.ok) {
          storeWins += 1;
          await store.release(`u${i}`, 'bench', [seat]);
        }
        return ms;
      }),
    );
    await store.close();
    storeHold.name = 'ClaimStore.hold with request record (in-process, no gateway)';
    storeHold.note = `${((100 * storeWins) / storeHold.ops).toFixed(0)}% held, each win released`;
    let rawWins = 0;
    const rawHold = await costOf('raw SET NX / DEL', () =>
      closedLoop(CLIENTS, async (i) => {
        const key = `raw:seat:${pick()}`;
        const [got, ms] = await timed(() => raw.set(key, `u${i}`, 'PX', 300_000, 'NX'));
        if (got === 'OK') {
          rawWins += 1;
          await raw.del(key);
        }
        return ms;
      }),
    );
    rawHold.name = 'SET NX PX / DEL (raw Redis)';
    rawHold.note = `${((100 * rawWins) / rawHold.ops).toFixed(0)}% held`;
    rows.push([hold, rawHold], [bare.row, rawHold], [storeHold, rawHold]);

    // ---- the ceiling: stock Socket.IO, same clients, same machine ----
    // What any Socket.IO server can do with these clients here: an ack with no Redis at all (`room:join`),
    // and a hand-rolled hold (`SET NX PX`, then `DEL`; plain-server.ts) with no auth check per request, no
    // validation, no request record, no seat map and no followers. A gateway hold cannot beat the first.
    const plain = await startPlain(redisServer.url);
    try {
      const pid = plain.child.pid!;
      const plainClients = await Promise.all(
        clients.map(async () => {
          const c = new LeanClient({ url: plain.url });
          await c.connect();
          return c;
        }),
      );
      const echo = await costOf(
        'stock Socket.IO ack (room:join, no Redis)',
        () =>
          closedLoop(CLIENTS, async (i) => {
            const [, ms] = await timed(() => plainClients[i]!.request('room:join', { room: 'r' }));
            return ms;
          }),
        pid,
      );
      echo.name = 'stock Socket.IO: an ack, no Redis (`room:join`)';
      echo.note = 'the ceiling of any request over Socket.IO with these clients';
      let plainWins = 0;
      const plainHold = await costOf(
        'stock Socket.IO seat:hold (SET NX PX / DEL)',
        () =>
          closedLoop(CLIENTS, async (i) => {
            const payload = { eventId: 'plain', seatIds: [pick()] };
            const [ack, ms] = await timed(() => plainClients[i]!.request('seat:hold', payload));
            if ((ack as { ok: boolean }).ok) {
              plainWins += 1;
              await plainClients[i]!.request('seat:release', payload);
            }
            return ms;
          }),
        pid,
      );
      plainHold.name = 'stock Socket.IO: hand-rolled `seat:hold` (`SET NX PX` / `DEL`)';
      plainHold.note = `${((100 * plainWins) / plainHold.ops).toFixed(0)}% held; no auth, validation, record, map or followers`;
      rows.push([echo, rawHold], [plainHold, rawHold], [hold, plainHold], [bare.row, plainHold]);
      for (const c of plainClients) c.close();
    } finally {
      await stopChild(plain.child, 'SIGTERM', 5000);
    }
    if (ONLY_HOLD) {
      for (const c of clients) c.close();
      printTable(rows);
      return;
    }

    // ---- queue join (then leave) ----
    await api('PUT', '/v1/events/benchq', { seats: [] });
    const join = await closedLoop(CLIENTS, async (i) => {
      const [, ms] = await timed(() => clients[i]!.request('queue:join', { eventId: 'benchq' }));
      await clients[i]!.request('queue:leave', { eventId: 'benchq' });
      return ms;
    });
    join.name = 'queue:join (gateway)';
    join.note = 'each followed by queue:leave';
    let seq = 0;
    const rawJoin = await closedLoop(CLIENTS, async (i) => {
      const [, ms] = await timed(() =>
        raw.pipeline().zadd('raw:queue', 'NX', ++seq, `u${i}`).zrank('raw:queue', `u${i}`).exec(),
      );
      await raw.zrem('raw:queue', `u${i}`);
      return ms;
    });
    rawJoin.name = 'ZADD NX + ZRANK / ZREM (raw Redis)';
    rawJoin.note = 'each followed by ZREM';
    rows.push([join, rawJoin]);
    for (const c of clients) c.close();

    // ---- admission ----
    await api('PUT', '/v1/events/benchadm', { seats: [] });
    const waiting = await openClients(QUEUE, 'w');
    for (let i = 0; i < waiting.length; i += 200)
      await Promise.all(
        waiting.slice(i, i + 200).map((c) => c.request('queue:join', { eventId: 'benchadm' })),
      );
    const admitLat: number[] = [];
    let admitted = 0;
    const admitStarted = performance.now();
    for (;;) {
      const [res, ms] = await timed(() => api('POST', '/v1/events/benchadm/admit', { count: BATCH }));
      const body = (await res.json()) as { data: { admitted: string[] } };
      if (body.data.admitted.length === 0) break;
      admitted += body.data.admitted.length;
      admitLat.push(ms);
    }
    const admit: Row = {
      name: `admit ${BATCH}/call (gateway, HTTP)`,
      ops: admitted,
      seconds: (performance.now() - admitStarted) / 1000,
      latencies: admitLat,
      note: `${QUEUE} queued; users/s; latency per call`,
    };
    for (const c of waiting) c.close();
    await raw.zadd('raw:adm', ...Array.from({ length: QUEUE }, (_, i) => [i, `w${i}`]).flat());
    const rawLat: number[] = [];
    let rawAdmitted = 0;
    const rawStarted = performance.now();
    for (;;) {
      const [res, ms] = await timed(async () => {
        const popped = (await raw.zpopmin('raw:adm', BATCH)).filter((_, j) => j % 2 === 0);
        return popped;
      });
      if (res.length === 0) break;
      // One round trip, as the admit script is (the script also records the admissions, in the same trip).
      rawAdmitted += res.length;
      rawLat.push(ms);
    }
    const rawAdmit: Row = {
      name: `ZPOPMIN ${BATCH} (raw Redis)`,
      ops: rawAdmitted,
      seconds: (performance.now() - rawStarted) / 1000,
      latencies: rawLat,
      note: 'users/s; latency per call',
    };
    rows.push([admit, rawAdmit]);
  } finally {
    raw.disconnect();
    await gw.kill(PROFILE_DIR === undefined ? 'SIGKILL' : 'SIGTERM');
    await redisServer.stop();
  }

  printTable(rows);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
