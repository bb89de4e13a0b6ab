/**
 * Benchmark, not a test: Redis memory per user. Starts its own redis-server (dev/redis.ts) and drives the
 * real stores the way the gateway does for each of `users` users: attach a socket (RedisSessionStore, with
 * the node index and the claims index read), `room:join` twice and `queue:join` once through the request
 * ledger (begin, the store call, complete with the ack the gateway would record), and `seat:hold` of two
 * seats in another event with its request record folded in (RedisClaimStore.hold), every call carrying a
 * requestId as the SDK makes them (32 hex characters).
 *
 *   node --import tsx gateway/bench/redis-memory.ts [--users 10000] [--hold-calls 1] [--prefix stayline:] [--json]
 *
 * `--hold-calls 2` holds the two seats with two seat:hold calls (two request records) instead of one.
 * Prints `INFO memory` used_memory before and after (the events already defined, scripts loaded and a
 * few warm-up users done, so only what the users add is counted; the event-side structures they add are),
 * divided by users; keys per user (DBSIZE); and a breakdown per key kind from MEMORY USAGE (every key of a
 * per-event kind, SAMPLES 0; a sample of 200 of a per-user kind, times the count). MEMORY USAGE does not
 * see the keyspace's own tables, so the kinds add up to a little less than the used_memory delta. Last, the
 * request records (kept 120 s) are deleted and used_memory read again: what a user costs after that.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { startRedis } from '../../dev/redis.ts';
import { createRedisClient } from '../src/infra/redis.ts';
import { sessionCheckSeconds } from '../src/session/create-claim-store.ts';
import { RedisClaimStore } from '../src/session/redis-claim-store.ts';
import { RedisRequestLedger } from '../src/session/redis-request-ledger.ts';
import { RedisSessionStore } from '../src/session/redis-session-store.ts';
import { REQUEST_RESULT_TTL_MS } from '../src/session/request-ledger.ts';
import { claimsIndexTtlMs } from '../src/session/redis/user-keys.ts';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '10000' },
    'hold-calls': { type: 'string', default: '1' },
    prefix: { type: 'string', default: 'stayline:' },
    json: { type: 'boolean', default: false },
  },
});
const USERS = Number(values.users);
const HOLD_CALLS = Number(values['hold-calls']);
const PREFIX = values.prefix;
if (!Number.isInteger(USERS) || USERS < 1 || (HOLD_CALLS !== 1 && HOLD_CALLS !== 2)) {
  console.error('--users must be a positive integer and --hold-calls 1 or 2');
  process.exit(2);
}
/** Gateway defaults (docs/configuration.md). */
const SESSION_TTL_SECONDS = 3600;
const HOLD_SECONDS = 300;
const MAX_SOCKETS = 10;
const MAX_ROOMS = 100;
const WARM_UP_USERS = 20;
const CONCURRENCY = 200;
const QUEUE_EVENT = 'concert-2026-queue';
const HOLD_EVENT = 'concert-2026-seats';
/** Like the default NODE_ID: host name and pid. */
const NODE_ID = `${hostname()
  .replace(/[^A-Za-z0-9._-]/g, '-')
  .slice(0, 40)}-${process.pid}`;

const userId = (i: number): string => `user-${String(i).padStart(7, '0')}`;
const seatOf = (i: number, k: number): string => `R${Math.floor(i / 50) + 1}-${(i % 50) * 2 + k + 1}`;
/** Like the SDK's defaultRequestId. */
const requestId = (): string => randomBytes(16).toString('hex');
/** Like a socket.io id (base64id: 20 characters). */
const socketId = (): string => randomBytes(15).toString('base64url');

const logger = pino({ level: 'silent' });
const server = await startRedis();
const redis = createRedisClient(server.url, { commandTimeoutMs: 10_000, logger, name: 'bench' });
await new Promise((resolve) => redis.once('ready', resolve));
const sessions = new RedisSessionStore({
  redis,
  keyPrefix: PREFIX,
  sessionTtlSeconds: SESSION_TTL_SECONDS,
  deadAfterSeconds: 15,
  logger,
  claimsIndexTtlMs: claimsIndexTtlMs(SESSION_TTL_SECONDS, HOLD_SECONDS),
});
const claims = new RedisClaimStore({
  redis,
  keyPrefix: PREFIX,
  sessionTtlSeconds: SESSION_TTL_SECONDS,
  limits: {
    holdSeconds: HOLD_SECONDS,
    admissionTtlSeconds: 600,
    sessionCheckSeconds: sessionCheckSeconds(SESSION_TTL_SECONDS),
  },
  logger,
});
const ledger = new RedisRequestLedger({ redis, keyPrefix: PREFIX });

/** A request through the ledger as transport/requests/idempotency.ts runs it (begin, act, complete). */
async function viaLedger(user: string, event: string, act: () => Promise<unknown>): Promise<void> {
  const id = requestId();
  const entry = await ledger.begin(user, id, 4000);
  if (entry.state !== 'new') throw new Error(`ledger: ${entry.state}`);
  const ack = JSON.stringify({ ok: true, data: await act() });
  await ledger.complete(user, id, event, ack, REQUEST_RESULT_TTL_MS);
}

/** Everything one user does (see the module comment). */
async function actAs(i: number): Promise<void> {
  const user = userId(i);
  const attached = await sessions.attachSocket(user, socketId(), NODE_ID, MAX_SOCKETS, Date.now() / 1000);
  if (!attached.ok) throw new Error(`attach refused: ${attached.reason}`);
  for (const room of ['lobby', `chat-${i % 50}`]) {
    await viaLedger(user, 'room:join', async () => {
      const change = await sessions.joinRoom(user, room, MAX_ROOMS);
      return { room, rooms: change.rooms };
    });
  }
  await viaLedger(user, 'queue:join', async () => {
    const joined = await claims.joinQueue(user, QUEUE_EVENT);
    if (joined.kind !== 'queued') throw new Error('queue join: already admitted');
    return { eventId: QUEUE_EVENT, position: joined.position, size: joined.size };
  });
  const seats = [seatOf(i, 0), seatOf(i, 1)];
  const calls = HOLD_CALLS === 1 ? [seats] : seats.map((s) => [s]);
  for (const call of calls) {
    const held = await claims.hold(user, HOLD_EVENT, call, false, {
      requestId: requestId(),
      resultTtlMs: REQUEST_RESULT_TTL_MS,
    });
    if (!held.ok) throw new Error(`hold refused: ${JSON.stringify(held)}`);
  }
}

async function actAll(from: number, to: number): Promise<void> {
  let next = from;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < to) await actAs(next++);
    }),
  );
}

async function usedMemory(client: Redis): Promise<number> {
  const info = await client.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

/** A key's kind: the key with user ids, request ids, node ids and bucket numbers replaced. */
const kindOf = (key: string): string =>
  key
    .replace(/:\d+$/, ':<b>')
    .replace(/user-\d{7}/g, '<user>')
    .replace(/[0-9a-f]{32}/g, '<req>')
    .replace(/^\{node:[^}]*\}/, '{node:<id>}')
    .replace(/\{node:[^}]*\}/, '{node:<id>}');

/**
 * Request records: a user's record list `{u:<id>}:q`, an event's seat:hold records `{event:<id>}:reqs` (the
 * users' lists), and keys of one record each (`<req>` in the name).
 */
const isRecordKind = (kind: string): boolean =>
  kind.includes('<req>') || kind.endsWith('}:q') || kind.endsWith('}:reqs');

/** Every key, grouped by kind. */
async function keysByKind(client: Redis): Promise<Map<string, string[]>> {
  const kinds = new Map<string, string[]>();
  let cursor = '0';
  do {
    const [nextCursor, keys] = await client.scan(cursor, 'COUNT', 1000);
    cursor = nextCursor;
    for (const key of keys) {
      const kind = kindOf(key);
      const list = kinds.get(kind) ?? [];
      list.push(key);
      kinds.set(kind, list);
    }
  } while (cursor !== '0');
  return kinds;
}

/** Bytes of each kind: exact for kinds of few keys, else a sample of 200 scaled to the count. */
async function bytesByKind(client: Redis, kinds: Map<string, string[]>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [kind, keys] of kinds) {
    const sample = keys.length <= 200 ? keys : keys.filter((_, j) => j % Math.ceil(keys.length / 200) === 0);
    let sum = 0;
    for (const key of sample) sum += Number(await client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
    out.set(kind, (sum / sample.length) * keys.length);
  }
  return out;
}

async function encodings(client: Redis, kinds: Map<string, string[]>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [kind, keys] of kinds) {
    out.set(kind, `${await client.type(keys[0]!)}/${String(await client.object('ENCODING', keys[0]!))}`);
  }
  return out;
}

try {
  const seatCount = (WARM_UP_USERS + USERS) * 2;
  const seats = Array.from({ length: seatCount }, (_, j) => seatOf(Math.floor(j / 2), j % 2));
  for (const [eventId, requiresAdmission] of [
    [QUEUE_EVENT, true],
    [HOLD_EVENT, false],
  ] as const) {
    await claims.defineEvent(eventId, {
      seats: eventId === HOLD_EVENT ? seats : ['GA-1'],
      requiresAdmission,
      admissionRatePerSecond: 0,
      maxSeatsPerUser: 4,
      holdSeconds: HOLD_SECONDS,
    });
  }
  // Scripts loaded, dicts and clients warm: what follows counts only what users add.
  await actAll(USERS, USERS + WARM_UP_USERS);
  const kindsBefore = await keysByKind(redis);
  const bytesBefore = await bytesByKind(redis, kindsBefore);
  const keysBefore = await redis.dbsize();
  const before = await usedMemory(redis);
  const started = performance.now();
  await actAll(0, USERS);
  const seconds = (performance.now() - started) / 1000;
  const after = await usedMemory(redis);
  const keysAfter = await redis.dbsize();
  const kindsAfter = await keysByKind(redis);
  const bytesAfter = await bytesByKind(redis, kindsAfter);
  const encoding = await encodings(redis, kindsAfter);
  // Request records live REQUEST_RESULT_TTL_MS (120 s): what stays once they are gone.
  let records = 0;
  for (const [kind, keys] of kindsAfter) {
    if (!isRecordKind(kind)) continue;
    for (let j = 0; j < keys.length; j += 1000) records += await redis.unlink(...keys.slice(j, j + 1000));
  }
  // UNLINK frees a big key (an event's `reqs` hash) in Redis' background thread: wait until it is done.
  while (/lazyfree_pending_objects:(\d+)/.exec(await redis.info('memory'))?.[1] !== '0') {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const withoutRecords = await usedMemory(redis);
  const breakdown = [...kindsAfter.keys()].sort().map((kind) => ({
    kind,
    encoding: encoding.get(kind) ?? '',
    keysPerUser: ((kindsAfter.get(kind)?.length ?? 0) - (kindsBefore.get(kind)?.length ?? 0)) / USERS,
    bytesPerUser: ((bytesAfter.get(kind) ?? 0) - (bytesBefore.get(kind) ?? 0)) / USERS,
  }));
  const report = {
    users: USERS,
    holdCalls: HOLD_CALLS,
    prefix: PREFIX,
    redis: (/redis_version:(\S+)/.exec(await redis.info('server')) ?? [])[1],
    bytesPerUser: (after - before) / USERS,
    bytesPerUserAfterRecordsExpire: (withoutRecords - before) / USERS,
    recordKeysPerUser: records / USERS,
    keysPerUser: (keysAfter - keysBefore) / USERS,
    breakdownBytesPerUser: breakdown.reduce((sum, row) => sum + row.bytesPerUser, 0),
    seconds,
    breakdown,
  };
  if (values.json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    console.log(
      `Redis ${report.redis}, ${USERS} users (2 rooms, 1 queue place, 2 seats held in ${HOLD_CALLS} ` +
        `seat:hold call(s), every request with a requestId), prefix '${PREFIX}', ${seconds.toFixed(1)} s`,
    );
    console.log(`used_memory delta / users: ${report.bytesPerUser.toFixed(0)} B`);
    console.log(
      `... once the request records expired (${report.recordKeysPerUser.toFixed(2)} keys/user, 120 s): ` +
        `${report.bytesPerUserAfterRecordsExpire.toFixed(0)} B`,
    );
    console.log(`keys / user: ${report.keysPerUser.toFixed(2)}`);
    console.log(`MEMORY USAGE breakdown (sum ${report.breakdownBytesPerUser.toFixed(0)} B/user):\n`);
    console.log('| key kind | type/encoding | keys/user | B/user |');
    console.log('|---|---|---|---|');
    for (const row of breakdown) {
      if (row.keysPerUser === 0 && Math.abs(row.bytesPerUser) < 0.5) continue;
      console.log(
        `| \`${row.kind}\` | ${row.encoding} | ${row.keysPerUser.toFixed(2)} | ${row.bytesPerUser.toFixed(0)} |`,
      );
    }
  }
} finally {
  await Promise.all([sessions.close(), claims.close(), ledger.close()]);
  redis.disconnect();
  await server.stop();
}
