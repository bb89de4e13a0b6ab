/**
 * A real redis-server on a free port, with no persistence (one per test file, benchmark or local cluster),
 * and a real Redis Cluster on free ports. Processes are tracked by pid and killed when this process
 * exits, even if a caller forgot to stop them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, createServer } from 'node:net';

const REDIS_SERVER = process.env['REDIS_SERVER_BIN'] ?? '/usr/bin/redis-server';

/** A running redis-server started by startRedis. */
export interface RedisProcess {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Graceful stop (SIGTERM), resolves once the process has exited. Idempotent. */
  stop(): Promise<void>;
  /** Hard kill (SIGKILL): what a crash looks like to clients. Resolves once exited. Idempotent. */
  kill(): Promise<void>;
  /** Starts a fresh, empty server on the same port (after stop or kill) and waits until it answers. */
  restart(): Promise<void>;
  /** SIGSTOP: the server keeps its connections but answers nothing (a hung Redis / network black hole). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills every process started here (by pid) when this process exits. Idempotent. */
export function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: SIGKILL needs nothing more (it also ends a SIGSTOPped server).
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** A TCP port nobody listens on right now (listen on 0, read the port, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('no port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/** True when nothing listens on `port` right now (listen on it, close). */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free port whose cluster bus port (the port + 10000, which redis-server binds too) is free as well;
 * a taken bus port made a cluster node exit at start ("Failed listening on port ... (cluster)").
 */
async function freeClusterPort(taken: readonly number[]): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port + 10000 > 65535 || taken.some((t) => t === port || t === port + 10000 || t + 10000 === port))
      continue;
    if (await isFree(port + 10000)) return port;
  }
  throw new Error('no free port with a free cluster bus port');
}

/** Resolves when a raw PING on `port` is answered with +PONG within `timeoutMs` of trying. */
export async function waitForPong(
  port: number,
  child: ChildProcess,
  output: () => string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `redis-server exited during start (${child.exitCode ?? child.signalCode}):\n${output()}`,
      );
    }
    if (await pingOnce(port)) return;
    if (Date.now() > deadline)
      throw new Error(`redis-server on port ${port} did not answer PING:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/** A redis-server on `port` (loopback, no persistence), with `extraArgs`; tracked for the exit hook. */
export function spawnServer(
  port: number,
  extraArgs: readonly string[] = [],
): { child: ChildProcess; output: () => string } {
  return spawnTracked(REDIS_SERVER, [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--protected-mode',
    'no',
    ...extraArgs,
  ]);
}

/** Spawns `bin` with `args`, tracked (by pid) for the exit hook, its output kept for error messages. */
export function spawnTracked(
  bin: string,
  args: readonly string[],
): { child: ChildProcess; output: () => string } {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.on('exit', () => running.delete(child));
  // Keep the last few KB of output for error messages, and keep the pipes drained.
  let log = '';
  const keep = (chunk: Buffer): void => {
    log = (log + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => log };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Sends `signal` to `child` (SIGKILL after 5 s if still there) and resolves once it has exited. */
export async function terminate(child: ChildProcess, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = exited(child);
  // A paused server cannot handle SIGTERM; SIGKILL needs no SIGCONT (which would let a paused server
  // answer what it had received, as a crash never does).
  if (signal === 'SIGTERM') child.kill('SIGCONT');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}

/**
 * SIGSTOP is delivered asynchronously: on a busy machine the server could still answer one more command.
 * Waits (briefly, synchronously) until the kernel reports the process stopped (state T in /proc).
 */
function waitUntilStopped(pid: number | undefined): void {
  if (pid === undefined) return;
  const deadline = Date.now() + 2000;
  while (Date.now() < deadline) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (/\) T /.test(stat)) return;
    } catch {
      return;
    }
  }
}

/** Starts `redis-server` on a free port (no persistence) and resolves once it answers PING. */
export async function startRedis(): Promise<RedisProcess> {
  installExitHook();
  const port = await freePort();
  let current = spawnServer(port);
  await waitForPong(port, current.child, current.output);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => terminate(current.child, 'SIGTERM'),
    kill: () => terminate(current.child, 'SIGKILL'),
    async restart() {
      await terminate(current.child, 'SIGTERM');
      current = spawnServer(port);
      await waitForPong(port, current.child, current.output);
    },
    pause: () => {
      current.child.kill('SIGSTOP');
      waitUntilStopped(current.child.pid);
    },
    resume: () => {
      current.child.kill('SIGCONT');
    },
  };
}

export interface RedisClusterProcess {
  /** `host:port` of every primary, the seeds for REDIS_CLUSTER_NODES. */
  readonly seeds: string[];
  stop(): Promise<void>;
}

/**
 * A real three-primary Redis Cluster on free ports (`redis-server --cluster-enabled yes` and
 * `redis-cli --cluster create`), stopped by pid.
 */
export async function startRedisCluster(primaries = 3): Promise<RedisClusterProcess> {
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), 'stayline-redis-cluster-'));
  const ports: number[] = [];
  for (let i = 0; i < primaries; i++) ports.push(await freeClusterPort(ports));
  const servers = ports.map((port) =>
    spawnServer(port, [
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, `nodes-${port}.conf`),
      '--cluster-node-timeout',
      '2000',
      '--dir',
      dir,
    ]),
  );
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => terminate(s.child, 'SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(servers.map((s, i) => waitForPong(ports[i] ?? 0, s.child, s.output)));
    const seeds = ports.map((p) => `127.0.0.1:${p}`);
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...seeds, '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0)
      throw new Error(`redis-cli --cluster create failed:\n${create.stdout}${create.stderr}`);
    // Every node must agree that all slots are served before clients may rely on it.
    const deadline = Date.now() + 20_000;
    for (const port of ports) {
      for (;;) {
        const info = spawnSync('redis-cli', ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8' });
        if (info.stdout.includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error(`cluster on ${port} not ok:\n${info.stdout}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    return { seeds, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
