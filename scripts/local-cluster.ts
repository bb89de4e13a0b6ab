/**
 * A real Stayline cluster on one machine, without Docker: N gateway processes (the same start command the
 * tests and the Dockerfile use), one redis-server, and HAProxy in front with ALB-like cookie stickiness,
 * its config rendered from deploy/haproxy/haproxy.cfg.template. `npm run cluster` (scripts/cluster.ts),
 * the HAProxy end-to-end tests and the load tester all start clusters through `startLocalCluster`.
 *
 * It lives in scripts/ rather than gateway/test/support/ because it is a developer tool first (a CLI and
 * the load tester use it); it reuses the test support's `startGatewayProcess` and `startRedis` so there is
 * one way to start a node and one way to start Redis. Every process is stopped by its pid, never by name.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTokenSigner } from '../gateway/src/auth/index.ts';
import { loadConfig } from '../gateway/src/config/index.ts';
import { newSecret, startGatewayProcess, type GatewayProcess } from '../gateway/test/support/gateway.ts';
import { freePort, startRedis, type RedisProcess } from '../gateway/test/support/redis.ts';

/** The HAProxy template shared by the local cluster and deploy/haproxy/haproxy.cfg (docker compose). */
export const HAPROXY_TEMPLATE_FILE = fileURLToPath(
  new URL('../deploy/haproxy/haproxy.cfg.template', import.meta.url),
);

/** One `server` line of the HAProxy backend. */
export interface HaproxyServer {
  /** The server name, also the value of its stickiness cookie (the node id reads well in both). */
  name: string;
  /** `host:port` */
  address: string;
  /** Extra server options, e.g. `resolvers docker init-addr last,libc,none` under Docker. */
  options?: string;
}

/** The connection cap deploy/haproxy/haproxy.cfg (docker compose) is rendered with. */
export const COMPOSE_HAPROXY_MAXCONN = 50_000;

/**
 * Renders the HAProxy template: `bind` is the frontend's listen address (`127.0.0.1:8080`, `*:8080`),
 * `servers` the gateway nodes, `maxconn` the global and per-frontend connection cap. Throws when the
 * template lacks a placeholder (a renamed one would otherwise produce a config that balances to nothing).
 */
export function renderHaproxyConfig(
  input: { bind: string; servers: readonly HaproxyServer[]; maxconn: number },
  template: string = readFileSync(HAPROXY_TEMPLATE_FILE, 'utf8'),
): string {
  for (const placeholder of ['{{BIND}}', '{{SERVERS}}', '{{MAXCONN}}']) {
    if (!template.includes(placeholder)) throw new Error(`the HAProxy template has no ${placeholder}`);
  }
  if (input.servers.length === 0) throw new Error('an HAProxy backend needs at least one server');
  if (!Number.isInteger(input.maxconn) || input.maxconn < 1) throw new Error('maxconn must be positive');
  const lines = input.servers.map((s) =>
    `    server ${s.name} ${s.address} cookie ${s.name} ${s.options ?? ''}`.trimEnd(),
  );
  return template
    .replaceAll('{{BIND}}', input.bind)
    .replaceAll('{{MAXCONN}}', String(input.maxconn))
    .replaceAll('{{SERVERS}}', lines.join('\n'));
}

/** deploy/haproxy/haproxy.cfg, the docker-compose rendering of the template (a test keeps them equal). */
export const COMPOSE_HAPROXY_FILE = fileURLToPath(new URL('../deploy/haproxy/haproxy.cfg', import.meta.url));

/** The docker-compose rendering: services gateway-1..3 on port 3000, re-resolved through Docker's DNS. */
export function renderComposeHaproxyConfig(template?: string): string {
  const servers = [1, 2, 3].map((i) => ({
    name: `gateway-${i}`,
    address: `gateway-${i}:3000`,
    options: 'resolvers docker init-addr last,libc,none',
  }));
  const body = renderHaproxyConfig({ bind: '*:8080', servers, maxconn: COMPOSE_HAPROXY_MAXCONN }, template);
  return `# GENERATED from haproxy.cfg.template by \`npm run cluster -- --write-compose-haproxy\`: edit the template.\n${body}`;
}

/**
 * The largest maxconn HAProxy can honour here: each proxied connection holds two descriptors (client and
 * server side), and HAProxy refuses to start when `ulimit -Hn` cannot cover 2 x maxconn plus its own.
 */
export function localHaproxyMaxconn(): number {
  const hard = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  const limit = hard === 'unlimited' ? Infinity : Number(hard);
  if (!Number.isFinite(limit) || limit <= 0) return COMPOSE_HAPROXY_MAXCONN;
  return Math.max(100, Math.min(COMPOSE_HAPROXY_MAXCONN, Math.floor((limit - 1000) / 2)));
}

/** The HAProxy binary: HAPROXY_BIN, else `haproxy` on PATH, else Debian's /usr/sbin/haproxy. */
export function findHaproxy(): string | undefined {
  const fromEnv = process.env['HAPROXY_BIN'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  for (const candidate of ['haproxy', '/usr/sbin/haproxy', '/usr/local/sbin/haproxy']) {
    if (spawnSync(candidate, ['-v'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  return undefined;
}

/** Runs `haproxy -c -f <file>`; returns { ok, output } (output holds the warnings or errors). */
export function checkHaproxyConfig(file: string, bin = findHaproxy()): { ok: boolean; output: string } {
  if (bin === undefined) throw new Error('haproxy is not installed (apt-get install haproxy)');
  const result = spawnSync(bin, ['-c', '-f', file], { encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

/** Options of startLocalCluster. */
export interface LocalClusterOptions {
  /** Gateway nodes. Default 3. */
  nodes?: number;
  /** HAProxy's listen port. Default 0: a free port. */
  port?: number;
  /** HAProxy's listen address. Default `127.0.0.1`. */
  host?: string;
  /**
   * Extra gateway environment, the same for every node (names from gateway/src/config/schema.ts).
   * Default: none. JWT_SECRET defaults to one generated secret shared by all nodes; REDIS_URL to the
   * redis-server this cluster starts; PORT, HOST and NODE_ID are set per node and cannot be overridden.
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** Use this Redis instead of starting a redis-server. Default: start one on a free port. */
  redisUrl?: string;
  /** The HAProxy binary. Default: findHaproxy(). */
  haproxyBin?: string;
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
  /** Sends `signal` (default SIGKILL: a crash) and resolves with the exit code once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
  /** Starts a fresh process with the same NODE_ID on the same port (after kill()). */
  restart(): Promise<void>;
}

/** A running local cluster. */
export interface LocalCluster {
  /** HAProxy's address: what clients connect to. */
  readonly url: string;
  readonly port: number;
  readonly nodes: readonly LocalClusterNode[];
  /** The Redis every node uses: `stop`/`kill` are no-ops when `redisUrl` was given. */
  readonly redis: Pick<RedisProcess, 'url' | 'stop' | 'kill'>;
  readonly haproxy: { readonly pid: number; readonly configFile: string; readonly config: string };
  /** The environment every node started with (without PORT, HOST and NODE_ID). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** True when JWT_SECRET was generated here rather than given in `env`. */
  readonly generatedSecret: boolean;
  /** Signs a token every node accepts, for user `sub` (default lifetime 24 h). */
  token(sub: string, ttlSeconds?: number): string;
  /**
   * Stops HAProxy, every node and the Redis it started, each by pid. `signal` SIGKILL (the default, what
   * tests want) or SIGTERM (a graceful drain, escalated to SIGKILL after `timeoutMs`, default 30 s).
   * Idempotent.
   */
  stop(options?: { signal?: 'SIGTERM' | 'SIGKILL'; timeoutMs?: number }): Promise<void>;
}

function exitedOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Sends `signal`, escalates to SIGKILL after `timeoutMs`, resolves once the process has exited. */
async function stopChild(child: ChildProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  const exited = exitedOf(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

function forwardLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  let pending = '';
  stream?.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line !== '') onLine(line);
  });
}

const haproxyChildren = new Set<ChildProcess>();
process.on('exit', () => {
  // Synchronous last resort for a test process that ends without stop(); nodes and Redis have their own.
  for (const child of haproxyChildren) child.kill('SIGKILL');
});

async function startHaproxy(
  bin: string,
  configFile: string,
  url: string,
  timeoutMs: number,
  onLine: (line: string) => void,
): Promise<ChildProcess> {
  // -db: stay in the foreground, so the pid we hold is HAProxy itself and Ctrl-C reaches it.
  const child = spawn(bin, ['-db', '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  haproxyChildren.add(child);
  child.once('exit', () => haproxyChildren.delete(child));
  let tail = '';
  const keep = (line: string): void => {
    tail = `${tail}${line}\n`.slice(-4000);
    onLine(line);
  };
  forwardLines(child.stdout, keep);
  forwardLines(child.stderr, keep);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`haproxy exited during start (${child.exitCode ?? child.signalCode}):\n${tail}`);
    }
    // Through HAProxy to a node: proves the frontend listens and a backend server answers.
    const ok = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`haproxy did not answer on ${url} within ${timeoutMs} ms:\n${tail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Starts Redis (unless `redisUrl` is given), `nodes` gateway processes on free ports, and HAProxy in
 * front; resolves once a request through HAProxy reaches a node. On any failure everything already
 * started is stopped before the error is thrown.
 */
export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const count = options.nodes ?? 3;
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`nodes must be a positive integer, not ${count}`);
  const haproxyBin = options.haproxyBin ?? findHaproxy();
  if (haproxyBin === undefined) throw new Error('haproxy is not installed (apt-get install haproxy)');
  const host = options.host ?? '127.0.0.1';
  const timeoutMs = options.startTimeoutMs ?? 20_000;
  const onLog = options.onLog ?? ((): void => undefined);

  let ownRedis: RedisProcess | undefined;
  const processes: GatewayProcess[] = [];
  let haproxy: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'stayline-cluster-'));
  const cleanup = async (): Promise<void> => {
    if (haproxy) await stopChild(haproxy, 'SIGKILL', 1000);
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
    const given = options.env ?? {};
    const generatedSecret = given['JWT_SECRET'] === undefined;
    const env: Record<string, string | undefined> = {
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      ...given,
      JWT_SECRET: given['JWT_SECRET'] ?? newSecret(),
      REDIS_URL: redisUrl,
    };
    delete env['PORT'];
    delete env['HOST'];
    delete env['NODE_ID'];

    const spawnNode = async (id: string, port: number): Promise<GatewayProcess> => {
      const proc = await startGatewayProcess(
        { ...env, NODE_ID: id, HOST: '127.0.0.1', PORT: String(port) },
        timeoutMs,
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
        kill: (signal = 'SIGKILL') => current.kill(signal),
        async restart() {
          await current.kill('SIGKILL');
          current = await spawnNode(id, first.port);
        },
      };
    });

    const port = options.port === undefined || options.port === 0 ? await freePort() : options.port;
    const url = `http://${host}:${port}`;
    const config = renderHaproxyConfig({
      bind: `${host}:${port}`,
      servers: nodes.map((n) => ({ name: n.id, address: `127.0.0.1:${n.port}` })),
      maxconn: localHaproxyMaxconn(),
    });
    const configFile = join(dir, 'haproxy.cfg');
    writeFileSync(configFile, config);
    haproxy = await startHaproxy(haproxyBin, configFile, url, timeoutMs, (line) => onLog('haproxy', line));
    const haproxyChild = haproxy;

    const signer = createTokenSigner(loadConfig(env).auth);
    let stopped: Promise<void> | undefined;
    return {
      url,
      port,
      nodes,
      redis: {
        url: redisUrl,
        stop: () => ownRedis?.stop() ?? Promise.resolve(),
        kill: () => ownRedis?.kill() ?? Promise.resolve(),
      },
      haproxy: { pid: haproxyChild.pid ?? -1, configFile, config },
      env,
      generatedSecret,
      token: (sub, ttlSeconds = 24 * 3600) => signer.sign({ sub, ttlSeconds }),
      stop(stopOptions = {}) {
        stopped ??= (async () => {
          const signal = stopOptions.signal ?? 'SIGKILL';
          const graceMs = stopOptions.timeoutMs ?? 30_000;
          // The load balancer first, so nothing new reaches a node that is on its way out.
          await stopChild(haproxyChild, 'SIGTERM', 2000);
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
