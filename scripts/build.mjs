#!/usr/bin/env node
// `npm run build`: the SDK library (client-sdk/dist: the gateway's compiled code imports its protocol from
// there) and the demo page, then the gateway compiled by tsc (gateway/tsconfig.build.json) into
// gateway/dist with its Lua scripts beside it. `NODE_ENV=production npm start` and the Docker image run
// gateway/dist/main.js: no TypeScript at run time.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const gateway = join(root, 'gateway');
const quiet = process.argv.includes('--quiet');
const say = (line) => quiet || console.log(line);
const run = (label, args, onFailure = () => undefined) => {
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    onFailure();
    console.error(`build failed: ${label}`);
    process.exit(1);
  }
};

// `--no-demo` (the Docker image) builds the SDK library only; `--gateway-only` skips the SDK.
if (!process.argv.includes('--gateway-only')) {
  run('client-sdk', [
    join(root, 'client-sdk/scripts/build.mjs'),
    ...(quiet ? ['--quiet'] : []),
    ...(process.argv.includes('--no-demo') ? ['--library-only'] : []),
  ]);
}

// Built aside, then swapped in, so a running test or process never reads a half-written dist.
const stage = join(gateway, `.dist-${process.pid}`);
rmSync(stage, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
// tsc writes its output even when it finds type errors: a failed build must not leave that stage behind
// (lint and the tests' file globs would then find a stray copy of the gateway).
run('gateway (tsc)', [tsc, '-p', join(gateway, 'tsconfig.build.json'), '--outDir', stage], () =>
  rmSync(stage, { recursive: true, force: true }),
);
const walk = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
const assets = walk(join(gateway, 'src')).filter((f) => f.endsWith('.lua'));
for (const file of assets) cpSync(file, join(stage, relative(join(gateway, 'src'), file)));
rmSync(join(gateway, 'dist'), { recursive: true, force: true });
renameSync(stage, join(gateway, 'dist'));
if (!existsSync(join(gateway, 'dist', 'main.js'))) {
  console.error('build failed: gateway/dist/main.js is missing');
  process.exit(1);
}
say(`gateway   -> ${join(gateway, 'dist')} (${assets.length} Lua scripts copied)`);
