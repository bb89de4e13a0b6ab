/**
 * A real Redis Sentinel topology on free loopback ports: one primary, one replica and three sentinels
 * (quorum 2), with short detection and failover timeouts so that a failover takes a few seconds. Every
 * process is started here and stopped by pid (also when this process exits).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, installExitHook, spawnServer, spawnTracked, terminate, waitForPong } from './redis.ts';

const REDIS_SENTINEL = process.env['REDIS_SENTINEL_BIN'] ?? 'redis-sentinel';

/** One redis-server of the topology. */
export interface SentinelDataNode {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` (to talk to this very server, e.g. a test's WAIT or a readiness check). */
  readonly url: string;
  /** SIGKILL: a crash, as clients and sentinels see it. Resolves once exited. Idempotent. */
  kill(): Promise<void>;
}

/** A running topology started by startSentinelTopology. */
export interface SentinelTopology {
  /** The monitored name (`sentinel monitor <name> ...`): REDIS_SENTINEL_NAME. */
  readonly name: string;
  /** `127.0.0.1:<port>` of each sentinel: REDIS_SENTINELS. */
  readonly sentinels: readonly string[];
  /** The primary at start. */
  readonly primary: SentinelDataNode;
  /** The replica at start (the one a failover promotes). */
  readonly replica: SentinelDataNode;
  /** The port of the primary every sentinel names now; rejects while they disagree or do not answer. */
  primaryPort(): Promise<number>;
  /** Resolves once every sentinel names `port` as the primary and that server says it is one. */
  waitForPrimary(port: number, timeoutMs?: number): Promise<void>;
  /** Stops every process (SIGKILL) and removes the sentinels' config files. */
  stop(): Promise<void>;
}

/** Options of startSentinelTopology. */
export interface SentinelTopologyOptions {
  /** Default `mymaster`. */
  name?: string;
  /** Sentinel's `down-after-milliseconds`: how long a silent primary takes to be declared down. Default 1500. */
  downAfterMs?: number;
  /** Sentinel's `failover-timeout`. Default 3000 (a failed election is retried after twice this). */
  failoverTimeoutMs?: number;
  /**
   * Puts something in front of the primary (e.g. dev/delay-proxy.ts): called with the primary's own port
   * once it answers, it returns the port the primary is to be known by. The replica replicates from that
   * port and the sentinels monitor it (so `primaryPort()` names it until a failover). The caller owns and
   * stops what it started. Default: none, the primary is known by its own port.
   */
  primaryFront?: (primaryPort: number) => Promise<number>;
}

/** Runs `fn` on a short-lived client of `port`, closed whatever happens. */
async function ask<T>(port: number, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
    commandTimeout: 1000,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

/** Polls `check` until it returns true, every 50 ms; rejects naming `what` after `timeoutMs`. */
async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what} not reached in ${timeoutMs} ms${last instanceof Error ? `: ${last.message}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Starts a primary, a replica of it, and three sentinels monitoring the primary; resolves once the replica
 * is in sync and every sentinel knows the replica and the two other sentinels, i.e. once a failover can
 * happen. SIGKILL the primary and the sentinels promote the replica within roughly
 * `downAfterMs` + 1-3 s.
 */
export async function startSentinelTopology(
  options: SentinelTopologyOptions = {},
): Promise<SentinelTopology> {
  installExitHook();
  const name = options.name ?? 'mymaster';
  const dir = mkdtempSync(join(tmpdir(), 'stayline-sentinel-'));
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((child) => terminate(child, 'SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  };
  const dataNode = (port: number, child: ChildProcess): SentinelDataNode => ({
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: () => terminate(child, 'SIGKILL'),
  });
  try {
    const primaryPort = await freePort();
    // --dir: a primary writes its snapshot for a replica's full sync to disk, never into the caller's cwd.
    const primary = spawnServer(primaryPort, ['--dir', dir]);
    children.push(primary.child);
    await waitForPong(primaryPort, primary.child, primary.output);
    const knownPort = options.primaryFront ? await options.primaryFront(primaryPort) : primaryPort;
    const replicaPort = await freePort();
    const replica = spawnServer(replicaPort, ['--dir', dir, '--replicaof', '127.0.0.1', String(knownPort)]);
    children.push(replica.child);
    await waitForPong(replicaPort, replica.child, replica.output);
    await until(
      () => ask(replicaPort, async (r) => (await r.info('replication')).includes('master_link_status:up')),
      10_000,
      'replica in sync',
    );

    const sentinelPorts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const file = join(dir, `sentinel-${port}.conf`);
      // Sentinel rewrites its config file (the epoch, the replicas and sentinels it learnt): one each.
      writeFileSync(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'protected-mode no',
          `dir ${dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${knownPort} 2`,
          `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1500}`,
          `sentinel failover-timeout ${name} ${options.failoverTimeoutMs ?? 3000}`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      const sentinel = spawnTracked(REDIS_SENTINEL, [file]);
      children.push(sentinel.child);
      await waitForPong(port, sentinel.child, sentinel.output);
      sentinelPorts.push(port);
    }
    // A failover needs a replica to promote and a quorum that knows each other (hello messages every 2 s).
    await until(
      async () => {
        for (const port of sentinelPorts) {
          const ready = await ask(port, async (r) => {
            const replicas = (await r.call('SENTINEL', 'REPLICAS', name)) as unknown[];
            const others = (await r.call('SENTINEL', 'SENTINELS', name)) as unknown[];
            return replicas.length === 1 && others.length === 2;
          });
          if (!ready) return false;
        }
        return true;
      },
      20_000,
      'sentinels aware of the replica and of each other',
    );

    const primaryPortNow = async (): Promise<number> => {
      const named = await Promise.all(
        sentinelPorts.map((port) =>
          ask(port, async (r) => (await r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as string[]),
        ),
      );
      const ports = new Set(named.map((addr) => Number(addr[1])));
      const [only] = [...ports];
      if (ports.size !== 1 || only === undefined)
        throw new Error(`sentinels disagree: ${[...ports].join(', ')}`);
      return only;
    };
    return {
      name,
      sentinels: sentinelPorts.map((port) => `127.0.0.1:${port}`),
      primary: dataNode(primaryPort, primary.child),
      replica: dataNode(replicaPort, replica.child),
      primaryPort: primaryPortNow,
      waitForPrimary: (port, timeoutMs = 30_000) =>
        until(
          async () =>
            (await primaryPortNow()) === port &&
            (await ask(port, async (r) => (await r.info('replication')).includes('role:master'))),
          timeoutMs,
          `port ${port} promoted to primary`,
        ),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
