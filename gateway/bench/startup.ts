/**
 * Benchmark, not a test: how long a gateway process takes from spawn to its "gateway listening" log line,
 * and how much memory it holds idle, for the two ways to run it side by side in one run:
 *   sources        node --import tsx gateway/src/main.ts        (what every start ran before `npm run build`;
 *                  tsx keeps its transforms in a disk cache, warm after the first start)
 *   sources-cold   the same with TSX_DISABLE_CACHE=1            (a fresh container or machine)
 *   compiled       node --enable-source-maps gateway/dist/main.js (the Docker image, NODE_ENV=production npm start)
 *
 *   node scripts/build.mjs --no-demo && node --import tsx gateway/bench/startup.ts [--rounds 7] [--idle-ms 2000] [--json]
 *
 * Rounds alternate the variants (one of each per round, starting with a different one), one process at a time,
 * on the embedded memory store. Idle memory is read from /proc/<pid>/status (VmRSS) `idle-ms` after the
 * listening line, with no client connected.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../dev/gateway-process.ts';
import { median } from './median.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    'idle-ms': { type: 'string', default: '2000' },
    json: { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds);
const idleMs = Number(values['idle-ms']);

const VARIANTS = {
  sources: ['--import', 'tsx', 'gateway/src/main.ts'],
  'sources-cold': ['--import', 'tsx', 'gateway/src/main.ts'],
  compiled: ['--enable-source-maps', 'gateway/dist/main.js'],
} as const;
const EXTRA_ENV: Partial<Record<keyof typeof VARIANTS, Record<string, string>>> = {
  'sources-cold': { TSX_DISABLE_CACHE: '1' },
};
type Variant = keyof typeof VARIANTS;

if (!existsSync(`${REPO_ROOT}/gateway/dist/main.js`)) {
  console.error(
    'gateway/dist/main.js is missing: run `npm run build` (or node scripts/build.mjs --no-demo) first.',
  );
  process.exit(1);
}

const secret = randomBytes(32).toString('base64url');
const rssKiB = (pid: number): number =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);

/** One start: ms to the listening line, and RSS (MiB) after idleMs. */
async function once(variant: Variant): Promise<{ startMs: number; idleRssMiB: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [...VARIANTS[variant]], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env['PATH'],
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      JWT_SECRET: secret,
      ...EXTRA_ENV[variant],
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const startMs = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('"msg":"gateway listening"')) resolve(performance.now() - started);
    });
    child.once('exit', (code) => reject(new Error(`${variant} exited with ${String(code)}:\n${output}`)));
  });
  await new Promise((r) => setTimeout(r, idleMs));
  const idleRssMiB = rssKiB(child.pid ?? -1) / 1024;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  return { startMs, idleRssMiB };
}

const variants = Object.keys(VARIANTS) as Variant[];
const samples = Object.fromEntries(variants.map((v) => [v, []])) as unknown as Record<
  Variant,
  { startMs: number; idleRssMiB: number }[]
>;
for (let round = 0; round < rounds; round++) {
  // Each round starts with a different variant, so drift on a shared machine lands on all alike.
  const order = variants.map((_, i) => variants[(i + round) % variants.length] as Variant);
  for (const variant of order) samples[variant].push(await once(variant));
}
const summary = Object.fromEntries(
  variants.map((v) => [
    v,
    {
      command: `${Object.entries(EXTRA_ENV[v] ?? {})
        .map(([k, x]) => `${k}=${x} `)
        .join('')}node ${VARIANTS[v].join(' ')}`,
      startMsMedian: Math.round(median(samples[v].map((s) => s.startMs))),
      startMsMin: Math.round(Math.min(...samples[v].map((s) => s.startMs))),
      idleRssMiBMedian: Number(median(samples[v].map((s) => s.idleRssMiB)).toFixed(1)),
    },
  ]),
);
const result = { node: process.version, cpus: cpus().length, rounds, idleMs, summary };
if (values.json) console.log(JSON.stringify(result, null, 2));
else {
  console.log(`node ${process.version}, ${cpus().length} cores, ${rounds} rounds, idle ${idleMs} ms`);
  for (const [variant, s] of Object.entries(summary)) {
    console.log(
      `${variant.padEnd(13)} start ${String(s.startMsMedian).padStart(5)} ms median (min ${s.startMsMin}), idle RSS ${s.idleRssMiBMedian} MiB   ${s.command}`,
    );
  }
}
