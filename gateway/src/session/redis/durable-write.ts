/**
 * Durable writes (REDIS_WAIT_REPLICAS, REDIS_WAIT_TIMEOUT_MS): a write of the claim store followed, on the
 * same connection and in the same tick, by `WAIT replicas timeoutMs`, so the wait costs no round trip of
 * its own. WAIT covers every write this connection sent before it, so it proves the write reached that many
 * replicas (and so survives a failover to one of them). Single Redis and Sentinel only: on a Cluster a
 * keyless WAIT could go to another shard (config refuses the combination).
 *
 * Redis blocks a connection that sent WAIT until it answers: every command behind it waits too. So these
 * writes go over lanes of their own (duplicates of the store's client, following it across a failover),
 * not the store's connection: seat maps, queue traffic and the sweeper never queue behind a WAIT, and
 * several WAITs run at once. On each lane the writes made while a WAIT is in flight share the next WAIT.
 */
import type { Redis } from 'ioredis';
import { GatewayError } from '../../errors/gateway-error.ts';
import type { Logger } from '../../infra/logger.ts';
import { closeRedisClient, watchConnection } from '../../infra/redis.ts';
import { defineScripts, type Scripts } from './scripts.ts';

/** The writes a wait policy covers. */
export type DurableOperation = 'hold' | 'release' | 'confirm';

/** What a write that fewer replicas than asked confirmed in time answers: retryable, never "yours". */
export function notDurableError(operation: DurableOperation, replicas: number, wanted: number): GatewayError {
  return new GatewayError(
    'STORE_UNAVAILABLE',
    `The ${operation} reached ${replicas} of ${wanted} replicas in time; retry`,
  );
}

/** How many replicas must acknowledge a hold, release or sale, and how long to wait for them. */
export interface WaitPolicy {
  /** 0 = off (acknowledge after the primary's write, as without replicas). */
  readonly replicas: number;
  readonly timeoutMs: number;
}

/** A write's reply, and how many replicas had it when WAIT answered. */
export interface WaitedWrite<T> {
  readonly reply: T;
  readonly replicas: number;
  /** `replicas` reached the policy's count. */
  readonly durable: boolean;
}

type Sendable = { name: string; reject: (err: Error) => void };
const refusedScripts = new WeakMap<Redis, { count: number }>();

/**
 * Counts, per client, the scripts Redis refused with NOSCRIPT (its script cache was flushed under a live
 * connection). ioredis then re-sends the script as EVAL, behind whatever was sent after it: behind our WAIT.
 */
function noScriptCounter(redis: Redis): { count: number } {
  let counter = refusedScripts.get(redis);
  if (counter !== undefined) return counter;
  const created = { count: 0 };
  counter = created;
  refusedScripts.set(redis, counter);
  const send = redis.sendCommand.bind(redis);
  // The one hook ioredis offers on a command's outcome before its own script retry swallows the error.
  redis.sendCommand = (command: Sendable, ...rest: unknown[]) => {
    if (command.name === 'evalsha') {
      const reject = command.reject;
      command.reject = (err: Error) => {
        if (err.message.includes('NOSCRIPT')) created.count += 1;
        reject.call(command, err);
      };
    }
    return (send as (...a: unknown[]) => unknown)(command, ...rest);
  };
  return counter;
}

/**
 * Group commit: one WAIT covers every write its connection sent before it, so writes made while a WAIT is
 * in flight share the next one instead of each queueing a WAIT of its own behind it. A lane then
 * acknowledges a whole group per replication round trip, not one write: with a lagging replica the durable
 * rate is bounded by the replica's throughput, not by lanes divided by its lag.
 */
class WaitGroups {
  private inFlight = false;
  private waiting: { resolve: (replicas: number) => void; reject: (err: unknown) => void }[] = [];

  constructor(
    private readonly redis: Redis,
    private readonly policy: WaitPolicy,
  ) {}

  /** Call right after the write's commands were sent: resolves with the replicas a WAIT sent after them saw. */
  afterSent(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.inFlight) this.send();
    });
  }

  private send(): void {
    const group = this.waiting;
    this.waiting = [];
    this.inFlight = true;
    // Sent now, on the writes' connection: behind every write of the group (ioredis keeps one order).
    this.redis.wait(this.policy.replicas, this.policy.timeoutMs).then(
      (replicas) => this.settle(() => group.forEach((w) => w.resolve(replicas))),
      (err: unknown) => this.settle(() => group.forEach((w) => w.reject(err))),
    );
  }

  private settle(answer: () => void): void {
    this.inFlight = false;
    answer();
    if (this.waiting.length > 0) this.send();
  }
}

const waitGroups = new WeakMap<Redis, WaitGroups>();

function waitGroupsOf(redis: Redis, policy: WaitPolicy): WaitGroups {
  let groups = waitGroups.get(redis);
  if (groups === undefined) {
    groups = new WaitGroups(redis, policy);
    waitGroups.set(redis, groups);
  }
  return groups;
}

/**
 * Runs `write` (commands on `redis`, sent in this tick) with a WAIT pipelined behind it, or shared with the
 * writes sent while the previous WAIT was in flight (group commit). ioredis keeps one connection's commands
 * in order, so that WAIT covers the write: unless Redis refused a script of it with NOSCRIPT and ioredis
 * re-sent it behind the WAIT; then a second WAIT, sent after it, is the one that counts. One connection
 * serves one policy (the store's).
 */
export async function writeThenWait<T>(
  redis: Redis,
  policy: WaitPolicy,
  write: () => Promise<T>,
): Promise<WaitedWrite<T>> {
  const noScript = noScriptCounter(redis);
  const refusedBefore = noScript.count;
  const groups = waitGroupsOf(redis, policy);
  const [reply, first] = await Promise.all([write(), groups.afterSent()]);
  // Any refusal on this connection meanwhile counts (it may have been ours): one more WAIT is always safe.
  const replicas = noScript.count === refusedBefore ? first : await groups.afterSent();
  return { reply, replicas, durable: replicas >= policy.replicas };
}

/** One connection for durable writes, with the scripts registered on it. */
export interface DurableLane {
  readonly redis: Redis;
  readonly scripts: Scripts;
}

/** Connections a node opens for durable writes when REDIS_WAIT_REPLICAS > 0. */
export const DURABLE_LANES = 4;

/** The lanes: opened at once (fail-fast clients, like the store's own), used in turn, closed with the store. */
export class DurableLanes {
  private readonly lanes: DurableLane[];
  private next = 0;

  constructor(base: Redis, logger: Logger, count = DURABLE_LANES) {
    this.lanes = Array.from({ length: count }, (_, i) => {
      // duplicate() keeps every option: fail-fast, timeouts, and for Sentinel where to find the primary.
      const redis = base.duplicate({ connectionName: `claim-store-wait-${i}` });
      watchConnection(redis, {
        logger,
        name: `claim-store-wait-${i}`,
        commandTimeoutMs: base.options.commandTimeout ?? 0,
      });
      return { redis, scripts: defineScripts(redis) };
    });
  }

  /** The next lane in turn. */
  pick(): DurableLane {
    const lane = this.lanes[this.next % this.lanes.length]!;
    this.next += 1;
    return lane;
  }

  /** Every lane answers: a hold can be served (part of the store's ping). */
  async ping(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.redis.ping()));
  }

  async close(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => closeRedisClient(lane.redis)));
  }
}
