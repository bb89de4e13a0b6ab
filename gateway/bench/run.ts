/**
 * `npm run bench`: runs every gateway benchmark in sequence, each in a child process of its own (so one
 * benchmark's JIT state, heap and sockets never colour the next), and prints their output as it comes.
 *
 *   npm run bench [-- [--only jwt-verify|connect-restore] [--json]
 *                     [--jwt-rounds N] [--jwt-round-ms MS]
 *                     [--restore-clients N] [--restore-concurrency N] [--restore-rounds N]]
 *
 * `--json` is passed to every benchmark; their reports are then collected into one JSON object on stdout,
 * keyed by benchmark name, with the machine the run took place on. The `--jwt-*` and `--restore-*` options
 * are passed to one benchmark each, without their prefix (both have a `--rounds`). The exit code is 1 when
 * any benchmark failed; the others still run.
 */
import { spawn } from 'node:child_process';
import { constants, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface Bench {
  name: string;
  script: string;
  /** This runner's option name -> the benchmark's own option name. */
  options: Readonly<Record<string, string>>;
}

const BENCHES: readonly Bench[] = [
  {
    name: 'jwt-verify',
    script: 'jwt-verify.ts',
    options: { 'jwt-rounds': 'rounds', 'jwt-round-ms': 'round-ms' },
  },
  {
    name: 'connect-restore',
    script: 'connect-restore.ts',
    options: {
      'restore-clients': 'clients',
      'restore-concurrency': 'concurrency',
      'restore-rounds': 'rounds',
    },
  },
];

const { values } = parseArgs({
  options: {
    only: { type: 'string', multiple: true },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
    ...Object.fromEntries(
      BENCHES.flatMap((b) => Object.keys(b.options)).map((name) => [name, { type: 'string' as const }]),
    ),
  },
});

const usage = `Usage: npm run bench -- [--only ${BENCHES.map((b) => b.name).join('|')}] [--json] ${BENCHES.flatMap(
  (b) => Object.keys(b.options).map((o) => `[--${o} V]`),
).join(' ')}`;

if (values.help) {
  console.log(usage);
  process.exit(0);
}

const only = values.only ?? BENCHES.map((b) => b.name);
const unknown = only.filter((name) => !BENCHES.some((b) => b.name === name));
if (unknown.length > 0) {
  console.error(`Unknown benchmark: ${unknown.join(', ')}\n${usage}`);
  process.exit(2);
}

const options = values as Record<string, unknown>;
/** The benchmark's own arguments, from this runner's prefixed options. */
function argsFor(bench: Bench): string[] {
  const args: string[] = values.json ? ['--json'] : [];
  for (const [ours, theirs] of Object.entries(bench.options)) {
    const value = options[ours];
    if (typeof value === 'string') args.push(`--${theirs}`, value);
  }
  return args;
}

/**
 * Runs one benchmark; resolves with its exit code (128 + the signal number when a signal ended it, as a
 * shell reports it) and, with --json, its stdout (else printed as it comes).
 */
function run(bench: Bench): Promise<{ code: number; stdout: string }> {
  const script = fileURLToPath(new URL(`./${bench.script}`, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...argsFor(bench)], {
    stdio: ['ignore', values.json ? 'pipe' : 'inherit', 'inherit'],
  });
  let stdout = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  return new Promise((resolve) => {
    child.once('error', (err) => {
      console.error(`${bench.name}: could not start (${err.message})`);
      resolve({ code: 1, stdout });
    });
    child.once('close', (code, signal) => {
      if (signal !== null) console.error(`${bench.name}: ended by ${signal}`);
      resolve({ code: code ?? 128 + (signal === null ? 0 : constants.signals[signal]), stdout });
    });
  });
}

const machine = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
};

const reports: Record<string, unknown> = {};
let failed = 0;
if (!values.json) {
  console.log(`Stayline benchmarks — ${machine.date}, ${machine.node}, ${machine.cores} x ${machine.cpu}`);
}
for (const bench of BENCHES.filter((b) => only.includes(b.name))) {
  const args = argsFor(bench);
  if (!values.json) {
    console.log(
      `\n== ${bench.name}: node --import tsx gateway/bench/${bench.script} ${args.join(' ')}`.trimEnd(),
    );
    console.log('');
  }
  const started = performance.now();
  const { code, stdout } = await run(bench);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) {
    failed++;
    console.error(`${bench.name} failed with exit code ${code} after ${seconds.toFixed(0)} s`);
  } else if (!values.json) {
    console.log(`\n(${bench.name}: ${seconds.toFixed(0)} s)`);
  }
  if (values.json) {
    try {
      reports[bench.name] = JSON.parse(stdout) as unknown;
    } catch {
      // A failed benchmark may have printed nothing, or half a report: keep the text instead of losing it.
      reports[bench.name] = { error: `exit code ${code}`, output: stdout };
    }
  }
}
if (values.json) console.log(JSON.stringify({ machine, benchmarks: reports }, null, 2));
process.exit(failed > 0 ? 1 : 0);
