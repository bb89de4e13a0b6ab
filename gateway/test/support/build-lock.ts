/**
 * One build of the SDK at a time across test processes: `npm pack -w @stayline/client-sdk` (whose prepack
 * rebuilds client-sdk/dist), `npm run build` and the demo build all write client-sdk/dist, and a pack
 * reads it; two of them at once could pack or serve a half-swapped dist. The lock is a directory created
 * atomically in the temporary directory (named after this checkout), holding the owner's pid, so a lock
 * left by a killed process is taken over.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../dev/gateway-process.ts';

const LOCK = join(
  tmpdir(),
  `stayline-sdk-build-${createHash('sha1').update(REPO_ROOT).digest('hex').slice(0, 12)}`,
);

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Runs `fn` holding the SDK build lock; waits up to `timeoutMs` for it. */
export async function withSdkBuildLock<T>(fn: () => T | Promise<T>, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
      let owner = NaN;
      try {
        owner = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
      } catch {
        // Just created, pid not written yet: wait.
      }
      if (Number.isInteger(owner) && owner > 0 && !alive(owner)) {
        rmSync(LOCK, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(`the SDK build lock ${LOCK} was not free in ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/**
 * Builds the /demo page from the SDK as it is now (never a stale build), holding the build lock; throws
 * with the build's stderr when it fails.
 */
export async function buildDemoPage(): Promise<void> {
  const build = await withSdkBuildLock(() =>
    spawnSync(process.execPath, ['client-sdk/scripts/build.mjs', '--demo-only', '--quiet'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    }),
  );
  if (build.status !== 0) throw new Error(`demo build failed:\n${build.stderr}`);
}
