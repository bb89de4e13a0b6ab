/**
 * Benchmark, not a test: microseconds per token verification, every case measured side by side in one
 * process. The baseline is jsonwebtoken with a raw string secret, which jsonwebtoken 9 first tries to
 * parse as a public key on every call (node-jsonwebtoken #1046); the gateway passes KeyObjects instead.
 *
 *   node --import tsx gateway/bench/jwt-verify.ts [--json] [--rounds 21] [--round-ms 50]
 *
 * Rounds are interleaved (each round runs every case once, starting at a different case) so drift on a
 * shared machine lands on all cases alike; ratios are taken per round, then the median.
 */
import { createSecretKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import jwt from 'jsonwebtoken';
import { createTokenVerifier } from '../src/auth/index.ts';
import { testAuthConfig } from '../../dev/tokens.ts';

interface Case {
  name: string;
  run: () => unknown;
}

interface CaseResult {
  name: string;
  medianUs: number;
  minUs: number;
  maxUs: number;
  verifiesPerSecond: number;
  /** Median over rounds of (baseline µs / this case's µs) in the same round. */
  speedupVsBaseline: number;
  iterationsPerRound: number;
}

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '21' },
    'round-ms': { type: 'string', default: '50' },
  },
});
const rounds = Number(values.rounds);
const roundMs = Number(values['round-ms']);
if (!Number.isInteger(rounds) || rounds < 3 || !(roundMs > 0)) {
  console.error('--rounds must be an integer >= 3 and --round-ms a positive number');
  process.exit(2);
}

// Keys generated per run: nothing secret is committed, and every case verifies a token of the same shape.
const secret = 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const secretKey = createSecretKey(Buffer.from(secret, 'utf8'));
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const claims = { sub: 'bench-user', role: 'agent' };
const hsToken = jwt.sign(claims, secretKey, { algorithm: 'HS256', expiresIn: 3600 });
const rsToken = jwt.sign(claims, rsa.privateKey, { algorithm: 'RS256', expiresIn: 3600 });
const esToken = jwt.sign(claims, ec.privateKey, { algorithm: 'ES256', expiresIn: 3600 });

const auth = testAuthConfig({ secret });
const hsVerifier = createTokenVerifier(auth);
// The RSA verifier goes through the real key-ring path: a PEM file read once at creation.
const keyDir = mkdtempSync(join(tmpdir(), 'stayline-bench-'));
writeFileSync(join(keyDir, 'rsa.pem'), rsa.publicKey.export({ type: 'spki', format: 'pem' }));
const rsVerifier = createTokenVerifier({
  ...auth,
  secret: undefined,
  publicKeyFile: join(keyDir, 'rsa.pem'),
});
rmSync(keyDir, { recursive: true, force: true });

const BASELINE = 'jwt.verify HS256, raw string secret (baseline)';
const cases: Case[] = [
  { name: BASELINE, run: () => jwt.verify(hsToken, secret, { algorithms: ['HS256'] }) },
  {
    name: 'jwt.verify HS256, KeyObject',
    run: () => jwt.verify(hsToken, secretKey, { algorithms: ['HS256'] }),
  },
  {
    name: 'jwt.verify RS256 (2048-bit), KeyObject',
    run: () => jwt.verify(rsToken, rsa.publicKey, { algorithms: ['RS256'] }),
  },
  {
    name: 'jwt.verify ES256 (P-256), KeyObject',
    run: () => jwt.verify(esToken, ec.publicKey, { algorithms: ['ES256'] }),
  },
  { name: 'verifier.verify HS256 (full gateway path)', run: () => hsVerifier.verify(hsToken) },
  { name: 'verifier.verify RS256 (full gateway path)', run: () => rsVerifier.verify(rsToken) },
];

// Every case must actually succeed, or we would be timing an exception path.
for (const c of cases) {
  const out = c.run() as { sub?: unknown; userId?: unknown };
  if (out.sub !== 'bench-user' && out.userId !== 'bench-user') throw new Error(`${c.name} did not verify`);
}

let sink = 0;
function timeBatch(c: Case, iterations: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) if (c.run() !== undefined) sink++;
  return Number(process.hrtime.bigint() - start) / 1000 / iterations;
}

// Warm up (JIT, OpenSSL caches), then size each case's batch to about roundMs.
const iterations = cases.map((c) => {
  let n = 8;
  let us = timeBatch(c, n);
  while (us * n < roundMs * 200) {
    n *= 2;
    us = timeBatch(c, n);
  }
  return Math.max(8, Math.round((roundMs * 1000) / us));
});

const samples: number[][] = cases.map(() => []);
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < cases.length; k++) {
    const i = (r + k) % cases.length;
    samples[i]!.push(timeBatch(cases[i]!, iterations[i]!));
  }
}
if (sink === 0) throw new Error('unreachable: keeps the verify results alive');

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const baseline = samples[0]!;
const results: CaseResult[] = cases.map((c, i) => {
  const xs = samples[i]!;
  const m = median(xs);
  return {
    name: c.name,
    medianUs: m,
    minUs: Math.min(...xs),
    maxUs: Math.max(...xs),
    verifiesPerSecond: 1e6 / m,
    speedupVsBaseline: median(xs.map((x, r) => baseline[r]! / x)),
    iterationsPerRound: iterations[i]!,
  };
});

const require = createRequire(import.meta.url);
const meta = {
  date: new Date().toISOString(),
  node: process.version,
  jsonwebtoken: (require('jsonwebtoken/package.json') as { version: string }).version,
  cpu: `${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}`,
  rounds,
  roundMs,
};

if (values.json) {
  console.log(JSON.stringify({ ...meta, results }, null, 2));
} else {
  const f = (x: number, digits = 1): string => x.toFixed(digits);
  console.log(
    `jwt verify, µs per call — ${meta.node}, jsonwebtoken ${meta.jsonwebtoken}, ${meta.cpu}, ` +
      `${rounds} interleaved rounds of ~${roundMs} ms per case, ${meta.date}\n`,
  );
  console.log('| case | µs/verify (median) | min – max | verifies/s | vs raw-string baseline |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of results) {
    const x = r.speedupVsBaseline;
    const ratio = r.name === BASELINE ? '1× (baseline)' : x >= 1 ? `${f(x)}× faster` : `${f(1 / x)}× slower`;
    console.log(
      `| ${r.name} | ${f(r.medianUs)} | ${f(r.minUs)} – ${f(r.maxUs)} | ${Math.round(r.verifiesPerSecond).toLocaleString('en-US')} | ${ratio} |`,
    );
  }
}
