/**
 * The load tester's command line: `npm run loadtest -- <scenario> [options]`. Parses options (commander),
 * refuses any target that is not loopback, starts a local cluster when asked, runs the scenario, writes
 * the reports, and exits 1 when an SLO check fails (2 on error). Every process it started is ended by pid
 * on the way out, also on error and on Ctrl-C, and the whole run is bounded by --max-seconds.
 */
import { randomBytes } from 'node:crypto';
import { Command, InvalidArgumentError, Option } from 'commander';
import { defaultPolicy, type PolicyKind } from './backoff.ts';
import { startLocalCluster, type LocalCluster } from '../../dev/local-cluster.ts';
import { writeHtml } from './report/html.ts';
import { summaryText, writeJson, type Report } from './report/report.ts';
import { parseSlo } from './report/slo.ts';
import { ATTACKS, runAbuse, type AttackName } from './scenarios/abuse.ts';
import { runConnect } from './scenarios/connect.ts';
import { runContention } from './scenarios/contention.ts';
import type { Context } from './scenarios/context.ts';
import { runFanout } from './scenarios/fanout.ts';
import { runIdle } from './scenarios/idle.ts';
import { runReplay } from './scenarios/replay.ts';
import { runStorm, type StormMode } from './scenarios/storm.ts';
import { tokenSourceFromFile, type TokenSource } from './tokens.ts';

const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
};
const positive = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
};
const nonNegative = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number ≥ 0');
  return n;
};
const list = (v: string): number[] => v.split(',').map((x) => positive(x.trim()));
const strings = (v: string): string[] =>
  v
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
const attackList = (v: string): AttackName[] => {
  const names = strings(v);
  for (const n of names)
    if (!(ATTACKS as readonly string[]).includes(n))
      throw new InvalidArgumentError(`unknown attack "${n}"; known: ${ATTACKS.join(', ')}`);
  if (names.length === 0) throw new InvalidArgumentError('expected at least one attack');
  return names as AttackName[];
};
/** `POST /v1/publish,PUT /v1/events/x`: method and path pairs. */
const httpTargets = (v: string): { method: string; path: string }[] => {
  const targets = strings(v).map((t) => {
    const [method, path, ...rest] = t.split(/\s+/);
    if (!method || !/^[A-Z]+$/.test(method) || !path?.startsWith('/') || rest.length > 0)
      throw new InvalidArgumentError(`expected "METHOD /path", got "${t}"`);
    return { method, path };
  });
  if (targets.length === 0) throw new InvalidArgumentError('expected at least one target');
  return targets;
};
/** Load only ever targets this machine: 127.0.0.0/8, ::1 or localhost. */
export function isLoopback(host: string): boolean {
  return (
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
    host === 'localhost' ||
    host === '[::1]' ||
    host === '::1'
  );
}

interface CommonOptions {
  url: string[];
  startCluster?: number;
  clusterEnv: string[];
  plain: boolean;
  jwtSecret?: string;
  tokensFile?: string;
  tokenTtl: number;
  userPrefix?: string;
  policy: PolicyKind;
  baseMs?: number;
  capMs?: number;
  workers: number;
  sourceAddresses: string[];
  connectTimeoutMs: number;
  maxSeconds: number;
  serviceToken?: string;
  redisUrl?: string;
  pingIntervalMs?: number;
  pingTimeoutMs?: number;
  json?: string;
  html?: string;
  slo?: string;
  quiet: boolean;
}

function common(cmd: Command): Command {
  return cmd
    .option('--url <urls>', 'target node(s) or load balancer, comma-separated (loopback only)', strings, [
      'http://127.0.0.1:3000',
    ])
    .option(
      '--start-cluster <nodes>',
      'start redis-server + N gateway processes on 127.0.0.1 and target them',
      int,
    )
    .option('--cluster-env <K=V,...>', 'extra env for the started gateways', strings, [])
    .option(
      '--plain',
      'also start the plain socket.io baseline server (gateway/bench/plain-server.ts)',
      false,
    )
    .option('--jwt-secret <secret>', 'HS256 secret to mint tokens with (default: $JWT_SECRET)')
    .option('--tokens-file <path>', 'read tokens, one per line, instead of minting')
    .option('--token-ttl <seconds>', 'lifetime of minted tokens', int, 3600)
    .option('--user-prefix <prefix>', 'synthetic user ids are <prefix><n> (default lt-<random>-)')
    .addOption(
      new Option('--policy <policy>', 'reconnect behaviour')
        .choices(['sdk', 'socketio', 'none'])
        .default('sdk'),
    )
    .option('--base-ms <ms>', 'backoff base (sdk 500, socketio 1000)', int)
    .option('--cap-ms <ms>', 'backoff cap (sdk 10000, socketio 5000)', int)
    .option('--workers <n>', 'client worker processes (0 = one per 5,000 clients)', int, 0)
    .option(
      '--source-addresses <ips>',
      'bind clients to these 127.0.0.x source addresses, round-robin',
      strings,
      [],
    )
    .option('--connect-timeout-ms <ms>', 'give up one attempt after this long', int, 20_000)
    .option('--max-seconds <s>', 'hard bound on the whole run', int, 300)
    .option('--service-token <token>', 'SERVICE_TOKEN for /v1/publish (default: $SERVICE_TOKEN)')
    .option('--redis-url <url>', 'Redis to sample CPU from (INFO cpu); automatic with --start-cluster')
    .option(
      '--ping-interval-ms <ms>',
      'PING_INTERVAL_MS of the started gateways (and the heartbeat assumed)',
      int,
    )
    .option('--ping-timeout-ms <ms>', 'PING_TIMEOUT_MS of the started gateways', int)
    .option('--json <file>', 'write the JSON report here')
    .option('--html <file>', 'write the self-contained HTML report here')
    .option('--slo <checks>', 'thresholds, e.g. p99-restore-ms=2000,never-restored=0 (exit 1 when one fails)')
    .option('--quiet', 'no progress line', false);
}

type Runner = (
  ctx: Context,
  opts: CommonOptions & Record<string, unknown>,
  args: string[],
) => Promise<Report>;

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

async function execute(
  runner: Runner,
  opts: CommonOptions & Record<string, unknown>,
  args: string[],
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
      const env: Record<string, string> = {};
      for (const kv of opts.clusterEnv) {
        const [k, ...v] = kv.split('=');
        if (k) env[k] = v.join('=');
      }
      if (opts.pingIntervalMs !== undefined) env['PING_INTERVAL_MS'] = String(opts.pingIntervalMs);
      if (opts.pingTimeoutMs !== undefined) env['PING_TIMEOUT_MS'] = String(opts.pingTimeoutMs);
      if (!opts.quiet) console.error(`starting redis-server and ${opts.startCluster} gateway node(s)...`);
      cluster = await startLocalCluster({
        nodes: opts.startCluster,
        env,
        plain: opts.plain,
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
      workers: opts.workers,
      sourceAddresses: opts.sourceAddresses,
      connectTimeoutMs: opts.connectTimeoutMs,
      maxSeconds: opts.maxSeconds,
      serviceToken,
      redisUrl,
      progress: !opts.quiet,
      thresholds: parseSlo(opts.slo),
      command: `npm run loadtest -- ${process.argv.slice(2).join(' ')}`,
      onCleanup: (fn) => cleanups.push(fn),
    };
    const report = await runner(ctx, { ...opts, plainUrl }, args);
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

const program = new Command('loadtest')
  .description(
    'Stayline load tester: reconnect storms, restore checks, fan-out, contention, trace replay, abuse',
  )
  .showHelpAfterError();

common(program.command('connect').description('open-loop connect ramp: find the knee'))
  .option('--rates <list>', 'connects per second, one step each', list, [100, 200, 400, 800, 1600])
  .option('--step-seconds <s>', 'length of each step', positive, 5)
  .option('--bound-ms <ms>', 'p99 bound (attempt → session:restored) of a passing step', positive, 1000)
  .option(
    '--plain-url <url>',
    'ramp this plain socket.io server too (automatic with --start-cluster --plain)',
  )
  .option('--continue-after-fail', 'keep ramping after the first failing step', false)
  .action((opts: CommonOptions & Record<string, unknown>) =>
    execute(
      (ctx, o) =>
        runConnect(ctx, {
          rates: o['rates'] as number[],
          stepSeconds: o['stepSeconds'] as number,
          boundMs: o['boundMs'] as number,
          plainUrl: (o['plainUrl'] as string | undefined) ?? undefined,
          continueAfterFail: o['continueAfterFail'] === true,
        }),
      opts,
      [],
    ),
  );

common(
  program.command('storm').description('sessions with state, a storm, then restore timing and state checks'),
)
  .option('--clients <n>', 'sessions', int, 1000)
  .option('--kill', 'SIGKILL one node (needs --start-cluster)')
  .option('--drain', 'SIGTERM one node (needs --start-cluster)')
  .option('--drop', 'reset every client transport at once (TCP RST)')
  .option('--blackhole', 'stop reading and answering: only heartbeats notice')
  .option('--node <index>', 'which node to kill or drain (0-based)', int, 0)
  .option('--rooms-per-client <n>', 'rooms each session joins', int, 3)
  .option('--room-count <n>', 'distinct rooms (default clients/10)', int)
  .option('--event-id <id>', 'event for the queue place and seat hold', 'loadtest-event')
  .option('--ramp <per-second>', 'setup connects per second', positive, 1000)
  .option('--restore-timeout <s>', 'after this long a dropped client counts as never restored', int, 60)
  .option('--no-baseline', 'skip the fresh-connect baseline with the same arrival profile')
  .option('--no-claims', 'rooms only: no queue place, no seat hold')
  .addOption(
    new Option(
      '--stock <auth>',
      'with --kill: then storm as many stock Socket.IO nodes (plain-server.ts) the same way, for the ratio',
    ).choices(['none', 'jwt']),
  )
  .action((opts: CommonOptions & Record<string, unknown>) => {
    const modes = (['kill', 'drain', 'drop', 'blackhole'] as const).filter((m) => opts[m] === true);
    if (modes.length !== 1) {
      console.error('storm needs exactly one of --kill, --drain, --drop, --blackhole');
      process.exitCode = 2;
      return;
    }
    const mode: StormMode = modes[0] ?? 'drop';
    const clients = opts['clients'] as number;
    const heartbeatMs = (opts.pingIntervalMs ?? 25_000) + (opts.pingTimeoutMs ?? 20_000);
    return execute(
      (ctx) =>
        runStorm(ctx, {
          clients,
          mode,
          node: opts['node'] as number,
          roomsPerClient: opts['roomsPerClient'] as number,
          roomCount: (opts['roomCount'] as number | undefined) ?? Math.max(1, Math.ceil(clients / 10)),
          eventId: opts['eventId'] as string,
          rampPerSecond: opts['ramp'] as number,
          restoreTimeoutSeconds: opts['restoreTimeout'] as number,
          baseline: opts['baseline'] !== false,
          stock: opts['stock'] as 'none' | 'jwt' | undefined,
          claims: opts['claims'] !== false,
          heartbeatMs,
        }),
      opts,
      [],
    );
  });

common(program.command('fanout').description('room fan-out latency and delivery, optionally across a storm'))
  .option('--sizes <list>', 'members per room, one room each', list, [10, 100, 1000])
  .option('--rate <per-second>', 'publishes per second, all rooms together', positive, 50)
  .option('--duration <s>', 'seconds of publishing', positive, 10)
  .addOption(
    new Option('--storm <mode>', 'a storm during publishing')
      .choices(['none', 'kill', 'drop'])
      .default('none'),
  )
  .option('--storm-at <s>', 'seconds into publishing', positive, 5)
  .option('--storm-clients <n>', 'extra idle clients in the herd', int, 0)
  .option('--node <index>', 'node to kill (0-based)', int, 0)
  .option('--ramp <per-second>', 'setup connects per second', positive, 1000)
  .action((opts: CommonOptions & Record<string, unknown>) =>
    execute(
      (ctx) =>
        runFanout(ctx, {
          sizes: (opts['sizes'] as number[]).map(Math.round),
          rate: opts['rate'] as number,
          durationSeconds: opts['duration'] as number,
          storm: opts['storm'] as 'none' | 'kill' | 'drop',
          stormAtSeconds: opts['stormAt'] as number,
          stormClients: opts['stormClients'] as number,
          node: opts['node'] as number,
          rampPerSecond: opts['ramp'] as number,
        }),
      opts,
      [],
    ),
  );

common(program.command('contention').description('many users race for few seats and one queue'))
  .option('--clients <n>', 'racing users', int, 200)
  .option('--seats <n>', 'seats raced for', int, 10)
  .option('--event-id <id>', 'the event', 'loadtest-event')
  .option('--ramp <per-second>', 'connects per second before the race', positive, 1000)
  .action((opts: CommonOptions & Record<string, unknown>) =>
    execute(
      (ctx) =>
        runContention(ctx, {
          clients: opts['clients'] as number,
          seats: Math.max(1, opts['seats'] as number),
          eventId: opts['eventId'] as string,
          rampPerSecond: opts['ramp'] as number,
        }),
      opts,
      [],
    ),
  );

common(program.command('idle').description('hold N idle connections: memory per connection, and scale'))
  .option('--clients <n>', 'connections to hold', int, 5000)
  .option('--ramp <per-second>', 'connects per second', positive, 500)
  .option('--hold <s>', 'seconds to hold before measuring', positive, 3)
  .action((opts: CommonOptions & Record<string, unknown>) =>
    execute(
      (ctx, o) =>
        runIdle(ctx, {
          clients: opts['clients'] as number,
          rampPerSecond: opts['ramp'] as number,
          holdSeconds: opts['hold'] as number,
          plainUrl: (o['plainUrl'] as string | undefined) ?? undefined,
        }),
      opts,
      [],
    ),
  );

common(
  program
    .command('replay')
    .description('replay the connect/disconnect timing of recorded traces')
    .argument('<traces...>', 'trace.jsonl files'),
)
  .option('--speed <factor>', 'time compression (2 = twice as fast)', positive, 1)
  .option('--max-users <n>', 'replay at most this many users', int, 50_000)
  .action((files: string[], opts: CommonOptions & Record<string, unknown>) =>
    execute(
      (ctx) =>
        runReplay(ctx, { files, speed: opts['speed'] as number, maxUsers: opts['maxUsers'] as number }),
      opts,
      files,
    ),
  );

common(
  program
    .command('abuse')
    .description('hostile clients against a control group: does the control group’s p99 hold?'),
)
  .option('--control <n>', 'well-behaved clients, spread over the nodes', int, 200)
  .option(
    '--control-rate <per-second>',
    'requests per second per control client (room:join / room:leave in turn)',
    positive,
    2,
  )
  .option('--phase-seconds <s>', 'length of the baseline and of each attack phase', positive, 10)
  .option('--recovery-seconds <s>', 'measured pause after each attack (0 = none)', nonNegative, 5)
  .option('--attacks <list>', `attacks to run, in order (${ATTACKS.join(',')})`, attackList, [...ATTACKS])
  .option('--oversized-attackers <n>', 'authenticated clients sending oversized seat:hold', int, 4)
  .option('--oversized-seats <n>', 'seatIds per seat:hold (16,000 ≈ 32 KB)', int, 16_000)
  .option('--oversized-inflight <n>', 'requests each oversized attacker keeps in flight', int, 4)
  .option('--body-streams <n>', 'concurrent streams of unauthenticated JSON bodies', int, 4)
  .option('--body-mb <n>', 'size of each deeply nested JSON body (MB)', positive, 4)
  .option(
    '--body-targets <list>',
    'where the bodies go, "METHOD /path" comma-separated',
    httpTargets,
    httpTargets('POST /v1/publish,PUT /v1/events/x,POST /v1/events/x/admit'),
  )
  .option('--idle-sockets <n>', 'engine connections that never send the Socket.IO CONNECT', int, 500)
  .option('--ramp <per-second>', 'control connects per second at the start', positive, 200)
  .option(
    '--request-timeout-ms <ms>',
    'a request (control or attacker) without an answer after this long is an error',
    int,
    5000,
  )
  .option(
    '--max-p99-ratio <x>',
    'exit 1 when an attack phase’s control p99 is over x × the baseline p99',
    positive,
  )
  .option('--event-id <id>', 'the event the oversized seat:hold names (need not exist)', 'abuse-event')
  .action((opts: CommonOptions & Record<string, unknown>) =>
    execute(
      (ctx) =>
        runAbuse(ctx, {
          control: Math.max(1, opts['control'] as number),
          controlRate: opts['controlRate'] as number,
          phaseSeconds: opts['phaseSeconds'] as number,
          recoverySeconds: opts['recoverySeconds'] as number,
          attacks: opts['attacks'] as AttackName[],
          oversizedAttackers: opts['oversizedAttackers'] as number,
          oversizedSeats: opts['oversizedSeats'] as number,
          oversizedInflight: Math.max(1, opts['oversizedInflight'] as number),
          bodyStreams: opts['bodyStreams'] as number,
          bodyBytes: Math.round((opts['bodyMb'] as number) * 1024 * 1024),
          bodyTargets: opts['bodyTargets'] as { method: string; path: string }[],
          idleSockets: opts['idleSockets'] as number,
          rampPerSecond: opts['ramp'] as number,
          requestTimeoutMs: Math.max(1, opts['requestTimeoutMs'] as number),
          maxP99Ratio: opts['maxP99Ratio'] as number | undefined,
          eventId: opts['eventId'] as string,
        }),
      opts,
      [],
      'gateway',
    ),
  );

await program.parseAsync(process.argv);
