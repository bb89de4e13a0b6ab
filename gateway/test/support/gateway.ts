/**
 * Starting real gateways for tests: in-process (`startGateway`, fast, for most integration tests) or as
 * a child process running the real entry point (`startGatewayProcess`, for SIGKILL, SIGTERM and the start
 * command itself). Both take environment variables exactly as operators write them, bind port 0 on
 * 127.0.0.1, and are stopped by the returned handle (processes by pid, never by name).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { loadConfig } from '../../src/config/index.ts';
import { buildGateway, type Gateway } from '../../src/gateway.ts';
import { signToken } from './tokens.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

/** A fresh HS256 secret for one test file (never committed). */
export const newSecret = (): string => randomBytes(32).toString('base64url');

/** The env every test gateway starts from; tests override what they need. */
export function baseEnv(
  overrides: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    JWT_SECRET: newSecret(),
    DRAIN_SECONDS: '2',
    // No load balancer in most tests: nothing to wait for before the first batch (tests that have one set it).
    DRAIN_GRACE_SECONDS: '0',
    ...overrides,
  };
}

export interface RunningGateway {
  url: string;
  port: number;
  gateway: Gateway;
  stop(): Promise<void>;
}

/** Builds and starts a gateway in this process. */
export async function startGateway(env: Record<string, string | undefined>): Promise<RunningGateway> {
  const config = loadConfig(env);
  const gateway = buildGateway(config, { logger: pino({ level: config.log.level }) });
  const { port } = await gateway.listen();
  return { url: `http://127.0.0.1:${port}`, port, gateway, stop: () => gateway.close() };
}

export interface GatewayProcess {
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** All output so far (JSON log lines on stdout, the dev banner on stderr). */
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Spawns `node --import tsx gateway/src/main.ts` and waits for its "gateway listening" log line. */
export async function startGatewayProcess(
  env: Record<string, string | undefined>,
  timeoutMs = 20_000,
): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: REPO_ROOT,
    // The "gateway listening" line is how we learn the port, so the log level is at least info.
    env: {
      PATH: process.env['PATH'],
      ...env,
      LOG_LEVEL: env['LOG_LEVEL'] === 'silent' || env['LOG_LEVEL'] === undefined ? 'info' : env['LOG_LEVEL'],
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let output = '';
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      live.delete(child);
      resolve(code);
    }),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`gateway did not start in ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /"port":(\d+)[^\n]*"msg":"gateway listening"/.exec(output);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${String(code)} before listening:\n${output}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    child,
    output: () => output,
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** A socket.io-client connect_error from the gateway: `data` is the wire error of a refused handshake. */
export interface ConnectError extends Error {
  data?: import('@stayline/client-sdk/protocol').WireError;
}

/** Options every test client uses: no automatic reconnection unless a test asks for it. */
export type ClientOptions = Partial<ManagerOptions & SocketOptions>;

/** Opens a socket.io-client connection (websocket by default) with `token`. */
export function connect(url: string, token: string | undefined, options: ClientOptions = {}): Socket {
  return io(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(token === undefined ? {} : { auth: { token } }),
    ...options,
  });
}

/**
 * Client options for a client that retries refusals itself, as the SDK does: retryable handshake refusals
 * then arrive as `connect_error` with their code (a stock client sees its transport closed instead).
 */
export const retriesRefusals = (token: string): ClientOptions => ({
  auth: { token, retryableConnectErrors: true },
});

/** A token signed now with `secret` (the env's JWT_SECRET), for user `sub`. */
export function tokenFor(
  env: Record<string, string | undefined>,
  sub: string,
  options: { expiresIn?: number; claims?: Record<string, unknown> } = {},
): string {
  const secret = env['JWT_SECRET'];
  if (secret === undefined) throw new Error('tokenFor needs JWT_SECRET in the env');
  return signToken({
    key: secret,
    sub,
    expiresIn: options.expiresIn ?? 3600,
    nowMs: Date.now(),
    ...(options.claims ? { claims: options.claims } : {}),
  });
}
