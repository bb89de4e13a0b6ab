/**
 * The load tester's command line: `npm run loadtest -- <scenario> [options]`. Declares the scenarios and
 * their flags (commander), parses each scenario's options with its schema (cli/options.ts: a bad value is
 * one line naming the flag, exit 2), and hands the run to cli/execute.ts, which starts what is needed,
 * writes the reports and ends every process it started.
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import type { z } from 'zod';
import { execute, type Runner } from './cli/execute.ts';
import {
  OptionError,
  abuseSchema,
  commonSchema,
  connectSchema,
  contentionSchema,
  fanoutSchema,
  idleSchema,
  parseOptions,
  replaySchema,
  stormSchema,
  type CommonOptions,
} from './cli/options.ts';
import { formatSeries, readStormRun, summarizeSeries, type StormRun } from './report/storm-series.ts';
import { ATTACKS, runAbuse } from './scenarios/abuse.ts';
import { runConnect } from './scenarios/connect.ts';
import { runContention } from './scenarios/contention.ts';
import { runFanout } from './scenarios/fanout.ts';
import { runIdle } from './scenarios/idle.ts';
import { runReplay } from './scenarios/replay.ts';
import { runStorm } from './scenarios/storm.ts';

type Raw = Record<string, unknown>;

function common(cmd: Command): Command {
  return cmd
    .option('--url <urls>', 'target node(s) or load balancer, comma-separated (loopback only)', [
      'http://127.0.0.1:3000',
    ])
    .option(
      '--start-cluster <nodes>',
      'start redis-server + N gateway processes on 127.0.0.1 and target them',
    )
    .option('--cluster-env <K=V,...>', 'extra env for the started gateways', [])
    .option(
      '--plain',
      'also start the plain socket.io baseline server (gateway/bench/plain-server.ts)',
      false,
    )
    .option(
      '--compiled',
      'run the started gateways from gateway/dist (built first), as production does, not through tsx',
      false,
    )
    .option(
      '--profile-nodes <dir>',
      'with --start-cluster: the gateways can write CPU profiles to <dir> (a storm profiles its survivors from the kill until every client is back)',
    )
    .option('--jwt-secret <secret>', 'HS256 secret to mint tokens with (default: $JWT_SECRET)')
    .option('--tokens-file <path>', 'read tokens, one per line, instead of minting')
    .option('--token-ttl <seconds>', 'lifetime of minted tokens', '3600')
    .option('--user-prefix <prefix>', 'synthetic user ids are <prefix><n> (default lt-<random>-)')
    .addOption(
      new Option('--client <client>', 'who carries the users: the lean client (scale) or the real SDK')
        .choices(['lean', 'sdk'])
        .default('lean'),
    )
    .addOption(
      new Option('--policy <policy>', 'reconnect behaviour of the lean client (the SDK follows its own)')
        .choices(['sdk', 'socketio', 'none'])
        .default('sdk'),
    )
    .option('--base-ms <ms>', 'backoff base (sdk 500, socketio 1000)')
    .option('--cap-ms <ms>', 'backoff cap (sdk 10000, socketio 5000)')
    .option('--workers <n>', 'client worker processes (0 = one per 5,000 clients)', '0')
    .option('--source-addresses <ips>', 'bind clients to these 127.0.0.x source addresses, round-robin', [])
    .option('--connect-timeout-ms <ms>', 'give up one attempt after this long', '20000')
    .option('--max-seconds <s>', 'hard bound on the whole run', '300')
    .option('--service-token <token>', 'SERVICE_TOKEN for /v1/publish (default: $SERVICE_TOKEN)')
    .option('--redis-url <url>', 'Redis to sample CPU from (INFO cpu); automatic with --start-cluster')
    .option('--ping-interval-ms <ms>', 'PING_INTERVAL_MS of the started gateways (and the heartbeat assumed)')
    .option('--ping-timeout-ms <ms>', 'PING_TIMEOUT_MS of the started gateways')
    .option('--json <file>', 'write the JSON report here')
    .option('--html <file>', 'write the self-contained HTML report here')
    .option('--slo <checks>', 'thresholds, e.g. p99-restore-ms=2000,never-restored=0 (exit 1 when one fails)')
    .option('--quiet', 'no progress line', false);
}

/**
 * Parses the common options and the scenario's own with `schema`, then runs `run`; a bad option ends the
 * process with one line on stderr and exit code 2, before anything starts.
 */
function action<S extends z.ZodTypeAny>(
  scenario: string,
  schema: S,
  run: (options: z.output<S>, common: CommonOptions) => Runner,
  clusterLimits?: 'relaxed' | 'gateway',
): (raw: Raw) => Promise<void> {
  return (raw) => {
    let common: CommonOptions;
    let options: z.output<S>;
    try {
      common = parseOptions(commonSchema, raw);
      options = parseOptions(schema, raw);
      if (common.client === 'sdk' && common.policy !== 'sdk')
        throw new OptionError(
          `--policy ${common.policy}: the SDK follows its own policy (use --client lean)`,
        );
      if (common.client === 'sdk' && scenario === 'replay')
        throw new OptionError(
          '--client sdk: replay drives the lean client only (traces script each connect)',
        );
      if (common.client === 'sdk' && raw['stock'] !== undefined)
        throw new OptionError('--stock: the stock Socket.IO comparison runs with the lean client only');
    } catch (err) {
      if (!(err instanceof OptionError)) throw err;
      console.error(`loadtest ${scenario}: ${err.message}`);
      process.exit(2);
    }
    return execute(run(options, common), common, clusterLimits);
  };
}

const program = new Command('loadtest')
  .description(
    'Stayline load tester: reconnect storms, restore checks, fan-out, contention, trace replay, abuse',
  )
  .showHelpAfterError();

common(program.command('connect').description('open-loop connect ramp: find the knee'))
  .option('--rates <list>', 'connects per second, one step each', '100,200,400,800,1600')
  .option('--step-seconds <s>', 'length of each step', '5')
  .option('--bound-ms <ms>', 'p99 bound (attempt → session:restored) of a passing step', '1000')
  .option(
    '--plain-url <url>',
    'ramp this plain socket.io server too (automatic with --start-cluster --plain)',
  )
  .option('--continue-after-fail', 'keep ramping after the first failing step', false)
  .option(
    '--warmup-seconds <s>',
    'an unmeasured step at the first rate on each target before the ramp (0: none)',
    '2',
  )
  .action(
    action(
      'connect',
      connectSchema,
      (o) => (ctx, started) => runConnect(ctx, { ...o, plainUrl: o.plainUrl ?? started.plainUrl }),
    ),
  );

common(
  program.command('storm').description('sessions with state, a storm, then restore timing and state checks'),
)
  .option('--clients <n>', 'sessions', '1000')
  .option('--kill', 'SIGKILL one node (needs --start-cluster)')
  .option('--drain', 'SIGTERM one node (needs --start-cluster)')
  .option('--drop', 'reset every client transport at once (TCP RST)')
  .option('--blackhole', 'stop reading and answering: only heartbeats notice')
  .option('--node <index>', 'which node to kill or drain (0-based)', '0')
  .option('--rooms-per-client <n>', 'rooms each session joins', '3')
  .option('--room-count <n>', 'distinct rooms (default clients/10)')
  .option('--event-id <id>', 'event for the queue place and seat hold', 'loadtest-event')
  .option('--ramp <per-second>', 'setup connects per second', '1000')
  .option('--restore-timeout <s>', 'after this long a dropped client counts as never restored', '60')
  .option('--no-baseline', 'skip the fresh-connect baseline with the same arrival profile')
  .option('--no-claims', 'rooms only: no queue place, no seat hold')
  .addOption(
    new Option(
      '--stock <auth>',
      'with --kill: then storm as many stock Socket.IO nodes (plain-server.ts) the same way, for the ratio',
    ).choices(['none', 'jwt']),
  )
  .action(
    action(
      'storm',
      stormSchema,
      (o, c) => (ctx) =>
        runStorm(ctx, { ...o, heartbeatMs: (c.pingIntervalMs ?? 25_000) + (c.pingTimeoutMs ?? 20_000) }),
    ),
  );

common(program.command('fanout').description('room fan-out latency and delivery, optionally across a storm'))
  .option('--sizes <list>', 'members per room, one room each', '10,100,1000')
  .option('--rate <per-second>', 'publishes per second, all rooms together', '50')
  .option('--duration <s>', 'seconds of publishing', '10')
  .addOption(
    new Option('--storm <mode>', 'a storm during publishing')
      .choices(['none', 'kill', 'drop'])
      .default('none'),
  )
  .option('--storm-at <s>', 'seconds into publishing', '5')
  .option('--storm-clients <n>', 'extra idle clients in the herd', '0')
  .option('--node <index>', 'node to kill (0-based)', '0')
  .option('--ramp <per-second>', 'setup connects per second', '1000')
  .addOption(
    new Option(
      '--baseline <kind>',
      'alternate passes with a baseline in one run: volatile publishes on the same nodes, or plain socket.io + redis-adapter nodes',
    )
      .choices(['none', 'volatile', 'plain'])
      .default('none'),
  )
  .option('--rounds <n>', 'passes of each side with --baseline', '3')
  .action(action('fanout', fanoutSchema, (o) => (ctx) => runFanout(ctx, o)));

common(program.command('contention').description('many users race for few seats and one queue'))
  .option('--clients <n>', 'racing users', '200')
  .option('--seats <n>', 'seats raced for', '10')
  .option('--event-id <id>', 'the event', 'loadtest-event')
  .option('--ramp <per-second>', 'connects per second before the race', '1000')
  .action(action('contention', contentionSchema, (o) => (ctx) => runContention(ctx, o)));

common(program.command('idle').description('hold N idle connections: memory per connection, and scale'))
  .option('--clients <n>', 'connections to hold', '5000')
  .option('--ramp <per-second>', 'connects per second', '500')
  .option('--hold <s>', 'seconds to hold before measuring', '3')
  .action(
    action('idle', idleSchema, (o) => (ctx, started) => runIdle(ctx, { ...o, plainUrl: started.plainUrl })),
  );

common(
  program
    .command('replay')
    .description('replay the connect/disconnect timing of recorded traces')
    .argument('<traces...>', 'trace.jsonl files'),
)
  .option('--speed <factor>', 'time compression (2 = twice as fast)', '1')
  .option('--max-users <n>', 'replay at most this many users', '50000')
  .action((files: string[], raw: Raw) =>
    action('replay', replaySchema, (o) => (ctx) => runReplay(ctx, { files, ...o }))(raw),
  );

common(
  program
    .command('abuse')
    .description('hostile clients against a control group: does the control group’s p99 hold?'),
)
  .option('--control <n>', 'well-behaved clients, spread over the nodes', '200')
  .option(
    '--control-rate <per-second>',
    'requests per second per control client (room:join / room:leave in turn)',
    '2',
  )
  .option('--phase-seconds <s>', 'length of the baseline and of each attack phase', '10')
  .option('--recovery-seconds <s>', 'measured pause after each attack (0 = none)', '5')
  .option('--attacks <list>', `attacks to run, in order (${ATTACKS.join(',')})`, ATTACKS.join(','))
  .option('--oversized-attackers <n>', 'authenticated clients sending oversized seat:hold', '4')
  .option('--oversized-seats <n>', 'seatIds per seat:hold (16,000 ≈ 32 KB)', '16000')
  .option('--oversized-inflight <n>', 'requests each oversized attacker keeps in flight', '4')
  .option('--body-streams <n>', 'concurrent streams of unauthenticated JSON bodies', '4')
  .option('--body-mb <n>', 'size of each deeply nested JSON body (MB)', '4')
  .option(
    '--body-targets <list>',
    'where the bodies go, "METHOD /path" comma-separated',
    'POST /v1/publish,PUT /v1/events/x,POST /v1/events/x/admit',
  )
  .option('--idle-sockets <n>', 'engine connections that never send the Socket.IO CONNECT', '500')
  .option('--ramp <per-second>', 'control connects per second at the start', '200')
  .option(
    '--request-timeout-ms <ms>',
    'a request (control or attacker) without an answer after this long is an error',
    '5000',
  )
  .option('--max-p99-ratio <x>', 'exit 1 when an attack phase’s control p99 is over x × the baseline p99')
  .option('--event-id <id>', 'the event the oversized seat:hold names (need not exist)', 'abuse-event')
  .action(action('abuse', abuseSchema, (o) => (ctx) => runAbuse(ctx, o), 'gateway'));

program
  .command('summarize')
  .description(
    'read kill-storm JSON reports (--json, with --stock) back: the p99 ratio to stock over the series',
  )
  .argument('<reports...>', 'storm reports, one file per run')
  .option('--target <x>', 'the ratio to judge the series against', '1.2')
  .option('--exit-code', 'exit 1 when the series does not show the target met', false)
  .action((files: string[], raw: { target: string; exitCode: boolean }) => {
    const target = Number(raw.target);
    if (!(target > 0)) {
      console.error(`loadtest summarize: --target must be a positive number, got ${raw.target}`);
      process.exit(2);
    }
    let runs: StormRun[];
    try {
      runs = files.map((file) => readStormRun(JSON.parse(readFileSync(file, 'utf8')) as unknown, file));
    } catch (err) {
      console.error(`loadtest summarize: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(2);
    }
    const summary = summarizeSeries(runs, target);
    console.log(formatSeries(runs, summary).join('\n'));
    if (raw.exitCode && !summary.met) process.exitCode = 1;
  });

await program.parseAsync(process.argv);
