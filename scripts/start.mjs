#!/usr/bin/env node
// `npm start`: one gateway node, configured by the environment (gateway/src/main.ts reads it).
// - NODE_ENV=production: the compiled JavaScript, gateway/dist/main.js (`npm run build`; built here first
//   when missing), in this process: no TypeScript at run time, as in the Docker image.
// - otherwise (development, test): the TypeScript sources through tsx, so a fresh clone needs no build;
//   the demo page is built first when missing.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'gateway', 'dist', 'main.js');
const build = (args) => {
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

if (process.env.NODE_ENV === 'production') {
  if (!existsSync(compiled)) {
    process.stderr.write('gateway/dist is missing: running `npm run build` first.\n');
    build([join(root, 'scripts', 'build.mjs'), '--quiet']);
  } else {
    // A build older than its sources runs old code: say so (the Docker image always builds fresh).
    const builtAt = statSync(compiled).mtimeMs;
    const walk = (dir) =>
      readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? walk(path) : [path];
      });
    const newer = walk(join(root, 'gateway', 'src')).filter((f) => statSync(f).mtimeMs > builtAt);
    if (newer.length > 0) {
      process.stderr.write(
        `warning: gateway/dist is older than ${newer.length} source file(s) (${newer[0]}): run \`npm run build\`.\n`,
      );
    }
  }
  await import(pathToFileURL(compiled).href);
} else {
  build([join(root, 'client-sdk', 'scripts', 'build.mjs'), '--if-missing', '--demo-only', '--quiet']);
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'gateway', 'src', 'main.ts')).href);
}
