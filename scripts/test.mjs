#!/usr/bin/env node
// `npm test`: provisions what the suite needs (Debian packages, installed with apt-get when missing and
// running as root; otherwise stops with a one-line hint), then typechecks, lints and runs every vitest
// project. Extra arguments go to vitest (`npm test -- gateway/test/integration/restore`).
import { spawnSync } from 'node:child_process';

/** Binaries the integration tests start, and the Debian package that provides each. */
const NEEDS = [
  { bin: 'redis-server', pkg: 'redis-server' },
  { bin: 'redis-cli', pkg: 'redis-tools' },
  { bin: 'redis-sentinel', pkg: 'redis-sentinel' },
  { bin: 'haproxy', pkg: 'haproxy' },
  { bin: 'chromium', pkg: 'chromium' },
  { bin: 'nginx', pkg: 'nginx-light' },
  // connect-writes.test.ts reads each connection's TCP segment count with `ss -ti`.
  { bin: 'ss', pkg: 'iproute2' },
];

const has = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  return r.status ?? 1;
};

const missing = NEEDS.filter((n) => !has(n.bin));
if (missing.length > 0) {
  const pkgs = [...new Set(missing.map((m) => m.pkg))];
  if (process.getuid?.() !== 0) {
    console.error(
      `npm test needs ${pkgs.join(', ')}: run \`sudo apt-get install -y ${pkgs.join(' ')}\` and try again.`,
    );
    process.exit(1);
  }
  console.log(`Installing ${pkgs.join(', ')} with apt-get ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (
    run('apt-get', ['update', '-qq'], { env }) !== 0 ||
    run('apt-get', ['install', '-y', '-qq', ...pkgs], { env }) !== 0
  ) {
    console.error(`apt-get could not install ${pkgs.join(', ')}; install them and run npm test again.`);
    process.exit(1);
  }
}

const extra = process.argv.slice(2);
if (extra.length === 0) {
  for (const [label, cmd, args] of [
    ['typecheck', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']],
    ['typecheck client-sdk (DOM, demo)', 'npx', ['tsc', '-p', 'client-sdk/tsconfig.json', '--noEmit']],
    ['lint', 'npx', ['eslint', '.']],
  ]) {
    console.log(`\n== ${label} ==`);
    if (run(cmd, args) !== 0) {
      console.error(`${label} failed`);
      process.exit(1);
    }
  }
}
console.log('\n== tests ==');
process.exit(run('npx', ['vitest', 'run', ...extra]));
