/**
 * A real redis-server per test file, on a free port, with no persistence. Processes are tracked by pid
 * and killed when the test process exits, even if a test forgot to stop them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
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

function installExitHook(): void {
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

/** Resolves when a raw PING on `port` is answered with +PONG within `timeoutMs` of trying. */
async function waitForPong(
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

function spawnServer(port: number): { child: ChildProcess; output: () => string } {
  const child = spawn(
    REDIS_SERVER,
    [
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
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
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

async function terminate(child: ChildProcess, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = exited(child);
  child.kill('SIGCONT'); // a paused server cannot handle SIGTERM
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
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
    },
    resume: () => {
      current.child.kill('SIGCONT');
    },
  };
}

/**
 * Polls `check` until it resolves (returns without throwing; any value counts, unlike support/wait.ts's
 * truthy `waitFor`), then returns its value; rethrows the last failure after `timeoutMs`. Suits
 * `eventually(() => store.ping())` and `eventually(async () => expect(...))`.
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = 5000,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
