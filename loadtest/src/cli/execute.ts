/**
 * Runs one scenario for the CLI: refuses any target that is not loopback, starts a local cluster when
 * asked, builds the scenario's Context, writes the reports, and sets the exit code (1 when an SLO check
 * fails, 2 on error). Every process a run started is ended by pid on the way out, also on error and on
 * Ctrl-C, and the whole run is bounded by --max-seconds.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultPolicy } from '../backoff.ts';
import { startLocalCluster, type LocalCluster } from '../../../dev/local-cluster.ts';
import { writeHtml } from '../report/html.ts';
import { summaryText, writeJson, type Report } from '../report/report.ts';
import { parseSlo } from '../report/slo.ts';
import type { Context } from '../scenarios/context.ts';
import { tokenSourceFromFile, type TokenSource } from '../tokens.ts';
import type { CommonOptions } from './options.ts';

/**
 * The environment that preloads gateway/bench/cpu-profile.ts into the started gateways (Node 20 refuses
 * `--cpu-prof` in NODE_OPTIONS): each starts V8's profiler on its first SIGUSR2 and writes
 * `<dir>/<pid>.cpuprofile` on the second, or when it exits.
 */
function profilingEnv(dir: string): Record<string, string> {
  const absolute = resolve(dir);
  mkdirSync(absolute, { recursive: true });
  const preload = fileURLToPath(new URL('../../../gateway/bench/cpu-profile.ts', import.meta.url));
  // tsx resolves from the gateways' working directory, the repository root.
  return { NODE_OPTIONS: `--import tsx --import ${preload}`, CPU_PROFILE_DIR: absolute };
}

/** Load only ever targets this machine: 127.0.0.0/8, ::1 or localhost. */
export function isLoopback(host: string): boolean {
  return (
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
    host === 'localhost' ||
    host === '[::1]' ||
    host === '::1'
  );
}

/** What the CLI learnt while starting the run that a scenario may need beside its Context. */
export interface Started {
  /** The plain socket.io server started with --start-cluster --plain. */
  plainUrl: string | undefined;
}

/** A scenario run: its Context and what was started. */
export type Runner = (ctx: Context, started: Started) => Promise<Report>;

const cleanups: (() => void | Promise<void>)[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        console.error('cleanup failed:', err);
      }
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping everything this run started`);
    void cleanup().then(() => process.exit(130));
  });
}

/** Runs `runner` with the common options `opts`, then exits the process with the run's code. */
export async function execute(
  runner: Runner,
  opts: CommonOptions,
  /** Limits of the nodes --start-cluster starts (local-cluster.ts): relaxed unless the scenario tests them. */
  clusterLimits: 'relaxed' | 'gateway' = 'relaxed',
): Promise<void> {
  const hard = setTimeout(
    () => {
      console.error(`--max-seconds ${opts.maxSeconds} (+30 s) passed: stopping`);
      void cleanup().then(() => process.exit(2));
    },
    (opts.maxSeconds + 30) * 1000,
  );
  hard.unref();
  let cluster: LocalCluster | undefined;
  try {
    for (const a of opts.sourceAddresses)
      if (!isLoopback(a)) throw new Error(`source address ${a} is not loopback`);
    let urls = opts.url;
    let secret = opts.jwtSecret ?? process.env['JWT_SECRET'];
    let serviceToken = opts.serviceToken ?? process.env['SERVICE_TOKEN'];
    let redisUrl = opts.redisUrl;
    let plainUrl: string | undefined;
    if (opts.startCluster !== undefined) {
      const env: Record<string, string> = { ...opts.clusterEnv };
      if (opts.pingIntervalMs !== undefined) env['PING_INTERVAL_MS'] = String(opts.pingIntervalMs);
      if (opts.pingTimeoutMs !== undefined) env['PING_TIMEOUT_MS'] = String(opts.pingTimeoutMs);
      if (opts.profileNodes !== undefined) Object.assign(env, profilingEnv(opts.profileNodes));
      if (!opts.quiet) console.error(`starting redis-server and ${opts.startCluster} gateway node(s)...`);
      cluster = await startLocalCluster({
        nodes: opts.startCluster,
        env,
        plain: opts.plain,
        compiled: opts.compiled,
        limits: clusterLimits,
      });
      const started = cluster;
      cleanups.push(() => started.stop());
      urls = cluster.urls();
      secret = cluster.secret;
      serviceToken = cluster.serviceToken;
      redisUrl = cluster.redis.url;
      plainUrl = cluster.plain?.url;
    }
    for (const u of urls) {
      if (!isLoopback(new URL(u).hostname))
        throw new Error(`${u}: the load tester only targets loopback (127.0.0.0/8, ::1)`);
    }
    let tokens: TokenSource;
    if (opts.tokensFile !== undefined) tokens = tokenSourceFromFile(opts.tokensFile);
    else if (secret !== undefined) tokens = { kind: 'secret', secret, ttlSeconds: opts.tokenTtl };
    else throw new Error('no tokens: give --jwt-secret (or JWT_SECRET), --tokens-file, or --start-cluster');
    const base = defaultPolicy(opts.policy);
    const ctx: Context = {
      urls,
      cluster,
      tokens,
      userPrefix: opts.userPrefix ?? `lt-${randomBytes(3).toString('hex')}-`,
      policy: { kind: opts.policy, baseMs: opts.baseMs ?? base.baseMs, capMs: opts.capMs ?? base.capMs },
      client: opts.client,
      workers: opts.workers,
      sourceAddresses: opts.sourceAddresses,
      connectTimeoutMs: opts.connectTimeoutMs,
      maxSeconds: opts.maxSeconds,
      serviceToken,
      redisUrl,
      progress: !opts.quiet,
      thresholds: parseSlo(opts.slo),
      command: `npm run loadtest -- ${process.argv.slice(2).join(' ')}`,
      ...(opts.profileNodes !== undefined && cluster !== undefined
        ? { profileNodes: resolve(opts.profileNodes) }
        : {}),
      onCleanup: (fn) => cleanups.push(fn),
    };
    const report = await runner(ctx, { plainUrl });
    if (opts.json) writeJson(opts.json, report);
    if (opts.html) writeHtml(opts.html, report);
    console.log(summaryText(report));
    process.exitCode = report.slo.pass ? 0 : 1;
  } catch (err) {
    console.error(`loadtest failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 2;
  } finally {
    await cleanup();
    clearTimeout(hard);
  }
  // Anything still holding the loop (a half-started child) is ended by the support modules' exit hooks.
  process.exit(process.exitCode ?? 0);
}
