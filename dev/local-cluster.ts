/**
 * dev/: the tooling that tests, scripts (`npm run cluster`), benchmarks (`npm run bench`) and the load
 * tester (`npm run loadtest`) share: redis-server and Redis Cluster on free ports (redis.ts), gateway
 * processes (gateway-process.ts), tokens (tokens.ts), HAProxy (haproxy.ts) and, here, the one local
 * cluster they all start. dev/ may import gateway/src (config, auth) and deploy/ files; it never imports
 * test code, and product code never imports dev/.
 *
 * A local cluster is a real Stayline cluster on one machine, without Docker: one redis-server (or a given
 * Redis), N gateway processes started the way the Dockerfile does, optionally HAProxy in front with
 * ALB-like cookie stickiness, and optionally the plain socket.io baseline of gateway/bench/plain-server.ts.
 * Everything listens on 127.0.0.1 and is stopped by its pid, never by name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTokenSigner } from '../gateway/src/auth/index.ts';
import { loadConfig } from '../gateway/src/config/index.ts';
import { envSchema } from '../gateway/src/config/schema.ts';
import { forwardLines, killAtExit, stopChild } from './child-process.ts';
import { newSecret, startGatewayProcess, type GatewayProcess } from './gateway-process.ts';
import { findHaproxy, localHaproxyMaxconn, renderHaproxyConfig, startHaproxy } from './haproxy.ts';
import { freePort, startRedis, type RedisProcess } from './redis.ts';

const PLAIN_SERVER = fileURLToPath(new URL('../gateway/bench/plain-server.ts', import.meta.url));

/** Options of startLocalCluster. */
export interface LocalClusterOptions {
  /** Gateway nodes. Default 3. */
  nodes?: number;
  /**
   * Extra gateway environment, the same for every node (names from gateway/src/config/schema.ts), over
   * the local defaults: NODE_ENV test, LOG_LEVEL info, NODE_HEARTBEAT_SECONDS 1 and
   * NODE_DEAD_AFTER_SECONDS 3 (a dead node is noticed in seconds), DRAIN_SECONDS 5, one generated
   * JWT_SECRET and SERVICE_TOKEN for all nodes, REDIS_URL the cluster's Redis. A variable set to
   * undefined falls back to the gateway's own default. PORT, HOST and NODE_ID are set per node.
   */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * `gateway` (default): the gateway's own admission limits. `relaxed`: HANDSHAKES_PER_SECOND 1,000,000,
   * EVENTS_PER_SECOND and EVENTS_BURST 1,000, so a load run measures the path, not the limit. `env` wins.
   */
  limits?: 'gateway' | 'relaxed';
  /** Use this Redis instead of starting a redis-server. Default: start one on a free port. */
  redisUrl?: string;
  /**
   * HAProxy in front of the nodes (`true`, or where it listens and which binary). Default none: clients
   * pick a node themselves. `port` 0 (the default) is a free port; `host` defaults to 127.0.0.1; `bin`
   * to findHaproxy().
   */
  haproxy?: boolean | { port?: number; host?: string; bin?: string };
  /** Also start the plain socket.io + redis-adapter server on the same Redis. Default false. */
  plain?: boolean;
  /**
   * Run the nodes' compiled JavaScript (gateway/dist, built first) instead of the TypeScript through tsx,
   * as production does (gateway-process.ts). Default false.
   */
  compiled?: boolean;
  /** Receives every output line of the nodes and HAProxy (`source` is the node id or `haproxy`). */
  onLog?: (source: string, line: string) => void;
  /** How long to wait for each node and for HAProxy to come up. Default 20 s. */
  startTimeoutMs?: number;
}

/** One gateway node of a local cluster. */
export interface LocalClusterNode {
  /** NODE_ID, also the HAProxy server name and cookie value: `node-1`, `node-2`... */
  readonly id: string;
  /** The node's own address, bypassing HAProxy. */
  readonly url: string;
  readonly port: number;
  /** The current process's pid (changes after restart()). */
  readonly pid: number;
  /** The current process. */
  readonly process: GatewayProcess;
  /** The current process's output so far (JSON log lines). */
  output(): string;
  /** Sends `signal` (default SIGKILL: a crash) and resolves with the exit code once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  /** Starts a fresh process with the same NODE_ID on the same port (after kill()). */
  restart(): Promise<void>;
}

/** A running local cluster. */
export interface LocalCluster {
  /** What clients connect to: HAProxy's address when it runs, else the first node's. */
  readonly url: string;
  readonly port: number;
  readonly nodes: readonly LocalClusterNode[];
  /** The Redis every node uses: `stop`/`kill` are no-ops when `redisUrl` was given. */
  readonly redis: Pick<RedisProcess, 'url' | 'stop' | 'kill'>;
  readonly haproxy:
    { readonly pid: number; readonly configFile: string; readonly config: string } | undefined;
  /** The plain socket.io baseline, when `plain` was asked for. */
  readonly plain: { readonly url: string; readonly child: ChildProcess } | undefined;
  /** The environment every node started with (without PORT, HOST and NODE_ID). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The JWT_SECRET every node shares. */
  readonly secret: string;
  /** True when JWT_SECRET was generated here rather than given in `env`. */
  readonly generatedSecret: boolean;
  /** The SERVICE_TOKEN every node shares (for /v1/publish and the other service calls). */
  readonly serviceToken: string;
  /** The nodes' own addresses, in node order. */
  urls(): string[];
  /** Signs a token every node accepts, for user `sub` (default lifetime 24 h). */
  token(sub: string, ttlSeconds?: number): string;
  /**
   * Stops HAProxy, the plain server, every node and the Redis it started, each by pid. `signal` SIGKILL
   * (the default, what tests want) or SIGTERM (a graceful drain, escalated to SIGKILL after `timeoutMs`,
   * default 30 s). Idempotent.
   */
  stop(options?: { signal?: 'SIGTERM' | 'SIGKILL'; timeoutMs?: number }): Promise<void>;
}

/**
 * Starts one plain socket.io server (stock Socket.IO with the Redis adapter) on `redisUrl`; with
 * `jwtSecret`, it checks tokens in `io.use` the way a hand-rolled setup does. Stop it by its pid.
 */
export function startPlain(
  redisUrl: string,
  jwtSecret?: string,
): Promise<{ url: string; child: ChildProcess }> {
  const child = killAtExit(
    spawn(process.execPath, ['--import', 'tsx', PLAIN_SERVER], {
      env: {
        PATH: process.env['PATH'],
        REDIS_URL: redisUrl,
        ...(jwtSecret === undefined ? {} : { JWT_SECRET: jwtSecret }),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', (chunk: Buffer) => {
      const { port } = JSON.parse(chunk.toString()) as { port: number };
      resolve({ url: `http://127.0.0.1:${port}`, child });
    });
    child.once('exit', (code) => reject(new Error(`plain server exited ${String(code)}`)));
  });
}

/** The nodes' environment: local defaults, then the limits, then what the caller gave. */
/** The admission limits of `limits: 'relaxed'`: far above what one node can serve. */
export const RELAXED_LIMITS = {
  HANDSHAKES_PER_SECOND: '1000000',
  EVENTS_PER_SECOND: '1000',
  EVENTS_BURST: '1000',
} as const;

/** The same limits as the gateway ships them (its config schema's defaults), to say what to pass instead. */
export const SHIPPED_LIMITS: Readonly<Record<keyof typeof RELAXED_LIMITS, string>> = {
  HANDSHAKES_PER_SECOND: String(envSchema.shape.HANDSHAKES_PER_SECOND.parse(undefined)),
  EVENTS_PER_SECOND: String(envSchema.shape.EVENTS_PER_SECOND.parse(undefined)),
  EVENTS_BURST: String(envSchema.shape.EVENTS_BURST.parse(undefined)),
};

function nodeEnv(options: LocalClusterOptions, redisUrl: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    NODE_HEARTBEAT_SECONDS: '1',
    NODE_DEAD_AFTER_SECONDS: '3',
    DRAIN_SECONDS: '5',
    ...(options.limits === 'relaxed' ? RELAXED_LIMITS : {}),
    ...options.env,
  };
  env['JWT_SECRET'] ??= newSecret();
  env['SERVICE_TOKEN'] ??= randomBytes(24).toString('base64url');
  env['REDIS_URL'] = redisUrl;
  delete env['PORT'];
  delete env['HOST'];
  delete env['NODE_ID'];
  return env;
}

/**
 * Starts Redis (unless `redisUrl` is given), `nodes` gateway processes on free ports, the plain server
 * and HAProxy when asked; resolves once every node listens (and a request through HAProxy reaches one).
 * On any failure everything already started is stopped before the error is thrown.
 */
export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const count = options.nodes ?? 3;
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`nodes must be a positive integer, not ${count}`);
  const proxy = options.haproxy === true ? {} : options.haproxy === false ? undefined : options.haproxy;
  const haproxyBin = proxy === undefined ? undefined : (proxy.bin ?? findHaproxy());
  if (proxy !== undefined && haproxyBin === undefined)
    throw new Error('haproxy is not installed (apt-get install haproxy)');
  const timeoutMs = options.startTimeoutMs ?? 20_000;
  const onLog = options.onLog ?? ((): void => undefined);

  let ownRedis: RedisProcess | undefined;
  const processes: GatewayProcess[] = [];
  let haproxy: ChildProcess | undefined;
  let plain: LocalCluster['plain'];
  const dir = mkdtempSync(join(tmpdir(), 'stayline-cluster-'));
  const cleanup = async (): Promise<void> => {
    if (haproxy) await stopChild(haproxy, 'SIGKILL', 1000);
    if (plain) await stopChild(plain.child, 'SIGKILL', 1000);
    await Promise.all(processes.map((p) => p.kill('SIGKILL')));
    await ownRedis?.stop();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    let redisUrl = options.redisUrl;
    if (redisUrl === undefined) {
      ownRedis = await startRedis();
      redisUrl = ownRedis.url;
    }
    const env = nodeEnv(options, redisUrl);
    const secret = env['JWT_SECRET'] ?? '';
    const serviceToken = env['SERVICE_TOKEN'] ?? '';

    const spawnNode = async (id: string, port: number): Promise<GatewayProcess> => {
      const proc = await startGatewayProcess(
        { ...env, NODE_ID: id, HOST: '127.0.0.1', PORT: String(port) },
        timeoutMs,
        { compiled: options.compiled === true },
      );
      processes.push(proc);
      forwardLines(proc.child.stdout, (line) => onLog(id, line));
      forwardLines(proc.child.stderr, (line) => onLog(id, line));
      return proc;
    };
    const started = await Promise.all(Array.from({ length: count }, (_, i) => spawnNode(`node-${i + 1}`, 0)));
    const nodes: LocalClusterNode[] = started.map((first, i) => {
      const id = `node-${i + 1}`;
      let current = first;
      return {
        id,
        url: first.url,
        port: first.port,
        get pid() {
          return current.pid;
        },
        get process() {
          return current;
        },
        output: () => current.output(),
        kill: (signal = 'SIGKILL') => current.kill(signal),
        async restart() {
          await current.kill('SIGKILL');
          current = await spawnNode(id, first.port);
        },
      };
    });
    if (options.plain === true) plain = await startPlain(redisUrl);

    let front: { url: string; port: number; haproxy: LocalCluster['haproxy'] } = {
      url: nodes[0]?.url ?? '',
      port: nodes[0]?.port ?? 0,
      haproxy: undefined,
    };
    if (proxy !== undefined && haproxyBin !== undefined) {
      const host = proxy.host ?? '127.0.0.1';
      const port = proxy.port === undefined || proxy.port === 0 ? await freePort() : proxy.port;
      const url = `http://${host}:${port}`;
      const config = renderHaproxyConfig({
        bind: `${host}:${port}`,
        servers: nodes.map((n) => ({ name: n.id, address: `127.0.0.1:${n.port}` })),
        maxconn: localHaproxyMaxconn(),
      });
      const configFile = join(dir, 'haproxy.cfg');
      writeFileSync(configFile, config);
      haproxy = await startHaproxy(haproxyBin, configFile, url, timeoutMs, (line) => onLog('haproxy', line));
      front = { url, port, haproxy: { pid: haproxy.pid ?? -1, configFile, config } };
    }
    const haproxyChild = haproxy;
    const plainChild = plain?.child;

    const signer = createTokenSigner(loadConfig(env).auth);
    let stopped: Promise<void> | undefined;
    return {
      ...front,
      nodes,
      redis: {
        url: redisUrl,
        stop: () => ownRedis?.stop() ?? Promise.resolve(),
        kill: () => ownRedis?.kill() ?? Promise.resolve(),
      },
      plain,
      env,
      secret,
      generatedSecret: options.env?.['JWT_SECRET'] === undefined,
      serviceToken,
      urls: () => nodes.map((n) => n.url),
      token: (sub, ttlSeconds = 24 * 3600) => signer.sign({ sub, ttlSeconds }),
      stop(stopOptions = {}) {
        stopped ??= (async () => {
          const signal = stopOptions.signal ?? 'SIGKILL';
          const graceMs = stopOptions.timeoutMs ?? 30_000;
          // The load balancer first, so nothing new reaches a node that is on its way out.
          if (haproxyChild) await stopChild(haproxyChild, 'SIGTERM', 2000);
          if (plainChild) await stopChild(plainChild, 'SIGKILL', 1000);
          await Promise.all(nodes.map((n) => stopChild(n.process.child, signal, graceMs)));
          await ownRedis?.stop();
          rmSync(dir, { recursive: true, force: true });
        })();
        return stopped;
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
