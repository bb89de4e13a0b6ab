/**
 * A real gateway as a child process running the real entry point (`node --import tsx gateway/src/main.ts`,
 * the Dockerfile's command too), for tests (SIGKILL, SIGTERM, the start command), benchmarks and local
 * clusters. It takes environment variables exactly as operators write them and is stopped by its pid,
 * never by name; a process left running is killed when this process exits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

/** The repository's root directory (with a trailing slash). */
export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const MAIN = fileURLToPath(new URL('../gateway/src/main.ts', import.meta.url));
const COMPILED_MAIN = fileURLToPath(new URL('../gateway/dist/main.js', import.meta.url));
const BUILD = fileURLToPath(new URL('../scripts/build.mjs', import.meta.url));

let built = false;
/**
 * Builds gateway/dist from the current sources (`npm run build`, ~6 s), once per process: a compiled
 * gateway must never run code older than the checkout it is measured for.
 */
function buildOnce(): void {
  if (built) return;
  const result = spawnSync(process.execPath, [BUILD, '--quiet'], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`npm run build failed (exit ${String(result.status)})`);
  built = true;
}

/** A fresh HS256 secret (32 random bytes, base64url), generated per run and never committed. */
export const newSecret = (): string => randomBytes(32).toString('base64url');

/**
 * The env a throwaway gateway (a test's or a benchmark's) starts from: NODE_ENV test, 127.0.0.1 port 0,
 * silent logs, a fresh JWT_SECRET, a 2 s drain with no load-balancer grace. Callers override what they need.
 */
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

/** A gateway child process started by startGatewayProcess. */
export interface GatewayProcess {
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** All output so far (JSON log lines on stdout, the dev banner on stderr). */
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** Sends `signal` (default SIGTERM: a drain) and resolves with the exit code once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Spawns `node --import tsx gateway/src/main.ts` with `env` (plus PATH) and resolves once its "gateway
 * listening" log line tells the port; rejects when it exits first or after `timeoutMs` (default 20 s).
 * `compiled`: runs gateway/dist/main.js instead (built first, once per process), what production and the
 * Docker image run: benchmarks that compare CPU against plain socket.io use it, since tsx's transform
 * (esbuild `keepNames` wraps every named inner function) costs the gateway's own code CPU at run time.
 */
export async function startGatewayProcess(
  env: Record<string, string | undefined>,
  timeoutMs = 20_000,
  options: { compiled?: boolean } = {},
): Promise<GatewayProcess> {
  if (options.compiled === true) buildOnce();
  const args = options.compiled === true ? [COMPILED_MAIN] : ['--import', 'tsx', MAIN];
  const child = spawn(process.execPath, args, {
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
