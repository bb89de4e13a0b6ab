/**
 * Acknowledged holds across a Sentinel failover, under load (issue 16), shared by
 * gateway/bench/failover-holds.ts and gateway/test/cluster/failover-holds.test.ts: a primary whose
 * replication to its one replica is delayed by a proxy (dev/delay-proxy.ts), three sentinels, two real
 * gateway processes on REDIS_SENTINELS, and lean clients each sending `seat:hold` (with a requestId) at a
 * steady pace over several events. The primary is SIGKILLed mid-run; once the replica is promoted and both
 * nodes are ready again the load runs on for a while, then every hold a user was told "ok" is looked up on
 * the new primary, and every acknowledged fence is compared with the others.
 *
 * Each user keeps one hold group per event (one fence), adding a new seat of its own at each hold, so any
 * acknowledged seat must still be held by that user afterwards, and two users of one event must never be
 * handed the same fence. Everything started here is stopped by pid (SIGKILL) or closed, whatever happens.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createEventKeys } from '../gateway/src/session/redis/event-keys.ts';
import { LeanClient } from '../loadtest/src/lean-client.ts';
import { startDelayProxy, type DelayProxy } from './delay-proxy.ts';
import { baseEnv, startGatewayProcess, type GatewayProcess } from './gateway-process.ts';
import { spawnServer, terminate, waitForPong } from './redis.ts';
import { startSentinelTopology, type SentinelTopology } from './sentinel.ts';
import { signToken } from './tokens.ts';

const SERVICE_TOKEN = 'failover-holds-service-token-0123456789';
/** Seats each user may hold per event (the service API's maximum), i.e. holds per user per event. */
const SEATS_PER_USER = 100;
/** One event's keys (default prefix): its seat holders are in buckets of `holder` (issue 15). */
const eventKeys = createEventKeys('stayline:');

/** Options of runFailoverHolds. */
export interface FailoverHoldsOptions {
  /** Clients (one user each), spread over the two nodes. */
  holders: number;
  /** REDIS_WAIT_REPLICAS of both gateways. */
  waitReplicas: number;
  /** Replication delay through the proxy, ms. Default 150. */
  delayMs?: number;
  /** Events the holds are spread over. Default 4. */
  events?: number;
  /** Each client sends its next hold this long after the previous one was sent (or when it is answered, if later), ms. Default 100. */
  holdIntervalMs?: number;
  /** Load before the SIGKILL, ms. Default 3000. */
  loadBeforeKillMs?: number;
  /** Load after the promotion, once both nodes are ready again, ms. Default 3000. */
  loadAfterReadyMs?: number;
  /** REDIS_WAIT_TIMEOUT_MS. Default 1000 (REDIS_COMMAND_TIMEOUT_MS is twice that). */
  waitTimeoutMs?: number;
  /** Progress lines. Default none. */
  log?: (line: string) => void;
}

/** One acknowledged hold. */
export interface AckedHold {
  user: string;
  eventId: string;
  seatId: string;
  fence: number;
  /** Epoch ms the ack arrived. */
  at: number;
  /** From sending the hold to its ack, ms. */
  ms: number;
}

/** What runFailoverHolds counted. */
export interface FailoverHoldsResult {
  waitReplicas: number;
  delayMs: number;
  holders: number;
  /** Holds answered ok, all of them / before the SIGKILL / after it. */
  acked: number;
  ackedBeforeKill: number;
  ackedAfterKill: number;
  /** Refusals by code (`TIMEOUT` when no ack came within the client's timeout). */
  refused: Record<string, number>;
  /** Refusals answered before the SIGKILL (under WAIT: writes the replica did not confirm in time). */
  refusedBeforeKill: number;
  /** Acknowledged holds whose seat the new primary does not give to that user. */
  lost: AckedHold[];
  /** Fences handed to more than one user of the same event. */
  repeatedFences: number;
  /** Fences first handed out after the SIGKILL that are not above every fence of that event acked before it. */
  fencesNotAbove: number;
  /** Median and 99th percentile of the hold acks that arrived before the SIGKILL, ms. */
  ackMsBeforeKill: { p50: number; p99: number };
  /** SIGKILL to the sentinels naming the replica, and to both nodes' /readyz 200, ms. */
  promotedAfterMs: number;
  readyAfterMs: number;
}

/** Polls `check` every 100 ms until it returns true; rejects naming `what` after `timeoutMs`. */
async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const ready = async (node: GatewayProcess): Promise<boolean> =>
  (await fetch(`${node.url}/readyz`)).status === 200;

/** Runs the whole scenario once (its own topology, proxy and gateways) and counts. */
export async function runFailoverHolds(options: FailoverHoldsOptions): Promise<FailoverHoldsResult> {
  const delayMs = options.delayMs ?? 150;
  const eventCount = options.events ?? 4;
  const interval = options.holdIntervalMs ?? 100;
  const waitTimeoutMs = options.waitTimeoutMs ?? 1000;
  const log = options.log ?? (() => undefined);
  let proxy: DelayProxy | undefined;
  let topology: SentinelTopology | undefined;
  const nodes: GatewayProcess[] = [];
  const clients: LeanClient[] = [];
  let rejoined: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'stayline-failover-holds-'));
  try {
    topology = await startSentinelTopology({
      primaryFront: async (port) => {
        proxy = await startDelayProxy({ targetPort: port, delayMs });
        return proxy.port;
      },
    });
    const env = baseEnv({
      REDIS_SENTINELS: topology.sentinels.join(','),
      REDIS_SENTINEL_NAME: topology.name,
      SERVICE_TOKEN,
      REDIS_COMMAND_TIMEOUT_MS: String(2 * waitTimeoutMs),
      REDIS_WAIT_REPLICAS: String(options.waitReplicas),
      REDIS_WAIT_TIMEOUT_MS: String(waitTimeoutMs),
      EVENTS_PER_SECOND: '10000',
      EVENTS_BURST: '10000',
      HANDSHAKES_PER_SECOND: '10000',
      NODE_HEARTBEAT_SECONDS: '1',
      NODE_DEAD_AFTER_SECONDS: '5',
    });
    nodes.push(
      ...(await Promise.all(['fh-1', 'fh-2'].map((id) => startGatewayProcess({ ...env, NODE_ID: id })))),
    );
    for (const node of nodes) await until(() => ready(node), 20_000, `${node.url}/readyz 200`);
    const events = Array.from({ length: eventCount }, (_, e) => `fh${e}`);
    const seatOf = (i: number, j: number): string => `s${i}-${j}`;
    for (const eventId of events) {
      const seats = Array.from({ length: options.holders * SEATS_PER_USER }, (_, n) =>
        seatOf(Math.floor(n / SEATS_PER_USER), n % SEATS_PER_USER),
      );
      const res = await fetch(`${nodes[0]!.url}/v1/events/${eventId}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVICE_TOKEN}` },
        body: JSON.stringify({ seats, maxSeatsPerUser: SEATS_PER_USER, holdSeconds: 3600 }),
      });
      if (!res.ok) throw new Error(`defining ${eventId}: ${res.status} ${await res.text()}`);
    }
    for (let i = 0; i < options.holders; i++) {
      const token = signToken({ key: env['JWT_SECRET']!, sub: `h${i}`, expiresIn: 3600, nowMs: Date.now() });
      clients.push(new LeanClient({ url: nodes[i % nodes.length]!.url, token, events: new Set() }));
    }
    for (const client of clients) {
      const outcome = await client.connect(20_000);
      if (outcome.error) throw new Error(`connect refused: ${JSON.stringify(outcome.error)}`);
    }
    log(`${options.holders} holders connected to 2 nodes; WAIT ${options.waitReplicas}, delay ${delayMs} ms`);

    const acked: AckedHold[] = [];
    const refused: Record<string, number> = Object.create(null) as Record<string, number>;
    let stopping = false;
    let killedAt = Number.POSITIVE_INFINITY;
    let refusedBeforeKill = 0;
    const loops = clients.map(async (client, i) => {
      const started = Date.now();
      for (let k = 0; !stopping && k < eventCount * SEATS_PER_USER; k++) {
        const due = started + k * interval;
        if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
        if (stopping) break;
        const eventId = events[k % eventCount]!;
        const seatId = seatOf(i, Math.floor(k / eventCount));
        const payload = { eventId, seatIds: [seatId], requestId: `h${i}-${k}` };
        const sent = Date.now();
        const ack = (await client.request('seat:hold', payload, 5000).catch(() => undefined)) as
          { ok: true; data: { fence: number } } | { ok: false; error: { code: string } } | undefined;
        if (ack?.ok === true)
          acked.push({
            user: `h${i}`,
            eventId,
            seatId,
            fence: ack.data.fence,
            at: Date.now(),
            ms: Date.now() - sent,
          });
        else {
          const code = ack === undefined ? 'TIMEOUT' : ack.error.code;
          refused[code] = (refused[code] ?? 0) + 1;
          if (Date.now() <= killedAt) refusedBeforeKill += 1;
        }
      }
    });

    await new Promise((resolve) => setTimeout(resolve, options.loadBeforeKillMs ?? 3000));
    killedAt = Date.now();
    await topology.primary.kill();
    log(`primary SIGKILLed after ${acked.length} acked holds`);
    await topology.waitForPrimary(topology.replica.port, 30_000);
    const promotedAfterMs = Date.now() - killedAt;
    for (const node of nodes) await until(() => ready(node), 20_000, `${node.url}/readyz 200 again`);
    const readyAfterMs = Date.now() - killedAt;
    log(`replica promoted after ${promotedAfterMs} ms, both nodes ready after ${readyAfterMs} ms`);
    // The crashed host comes back empty, as a replica of the new primary (what Sentinel would make of it),
    // so that WAIT 1 can be satisfied again and fences handed out after the failover get compared too.
    const back = spawnServer(topology.primary.port, [
      '--dir',
      dir,
      '--replicaof',
      '127.0.0.1',
      String(topology.replica.port),
    ]);
    rejoined = back.child;
    await waitForPong(topology.primary.port, back.child, back.output);
    const promoted = new Redis(topology.replica.port, '127.0.0.1');
    const replica = new Redis(topology.primary.port, '127.0.0.1');
    try {
      // Redis 7 waits 5 s for more replicas before a diskless full sync: not here, there is one.
      await promoted.config('SET', 'repl-diskless-sync-delay', '0');
      await until(
        async () => (await replica.info('replication')).includes('master_link_status:up'),
        20_000,
        'the old primary back as a replica',
      );
    } finally {
      promoted.disconnect();
      replica.disconnect();
    }
    log(`old primary back as a replica ${Date.now() - killedAt} ms after the SIGKILL`);
    await new Promise((resolve) => setTimeout(resolve, options.loadAfterReadyMs ?? 3000));
    stopping = true;
    await Promise.all(loops);

    // Every acknowledged seat, looked up on the promoted server itself.
    const newPrimary = new Redis(topology.replica.port, '127.0.0.1');
    let holders: (string | null)[];
    try {
      // The holders' bucket count of each event (def field `nb`, fixed when the event was defined).
      const eventIds = [...new Set(acked.map((hold) => hold.eventId))];
      const counts = await Promise.all(eventIds.map((e) => newPrimary.hget(eventKeys(e).def, 'nb')));
      const buckets = new Map(eventIds.map((e, i) => [e, Number(counts[i] ?? 0)]));
      const pipeline = newPrimary.pipeline();
      for (const hold of acked) {
        const key = eventKeys(hold.eventId).bucket('holder', hold.seatId, buckets.get(hold.eventId) ?? 0);
        pipeline.hget(key, hold.seatId);
      }
      holders = ((await pipeline.exec()) ?? []).map(([err, value]) => {
        if (err) throw err;
        return value as string | null;
      });
    } finally {
      newPrimary.disconnect();
    }
    const lost = acked.filter((hold, n) => holders[n] !== hold.user);

    // Fences: per event, each fence belongs to one user; after the failover, above all earlier ones.
    const owners = new Map<string, Set<string>>();
    const maxBefore = new Map<string, number>();
    for (const hold of acked) {
      const key = `${hold.eventId}\u0000${hold.fence}`;
      owners.set(key, (owners.get(key) ?? new Set()).add(hold.user));
      if (hold.at <= killedAt)
        maxBefore.set(hold.eventId, Math.max(maxBefore.get(hold.eventId) ?? 0, hold.fence));
    }
    const repeatedFences = [...owners.values()].filter((users) => users.size > 1).length;
    // A group keeps its fence: only a fence first handed to a user after the SIGKILL is a new one.
    const seen = new Set<string>();
    let fencesNotAbove = 0;
    for (const hold of acked) {
      const key = `${hold.eventId}\u0000${hold.user}\u0000${hold.fence}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (hold.at > killedAt && hold.fence <= (maxBefore.get(hold.eventId) ?? 0)) fencesNotAbove += 1;
    }
    const before = acked
      .filter((h) => h.at <= killedAt)
      .map((h) => h.ms)
      .sort((a, b) => a - b);
    const at = (q: number): number =>
      before[Math.min(before.length - 1, Math.floor(q * before.length))] ?? NaN;
    return {
      ackMsBeforeKill: { p50: at(0.5), p99: at(0.99) },
      waitReplicas: options.waitReplicas,
      delayMs,
      holders: options.holders,
      acked: acked.length,
      ackedBeforeKill: acked.filter((h) => h.at <= killedAt).length,
      ackedAfterKill: acked.filter((h) => h.at > killedAt).length,
      refused: { ...refused },
      refusedBeforeKill,
      lost,
      repeatedFences,
      fencesNotAbove,
      promotedAfterMs,
      readyAfterMs,
    };
  } finally {
    for (const client of clients) client.close();
    await Promise.all(nodes.map((node) => node.kill('SIGKILL')));
    if (rejoined !== undefined) await terminate(rejoined, 'SIGKILL');
    await topology?.stop();
    await proxy?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
