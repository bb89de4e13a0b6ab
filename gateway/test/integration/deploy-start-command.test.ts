/**
 * The image starts the gateway exactly as the tests do: deploy/Dockerfile's CMD, run from its WORKDIR, is
 * compared with the command line and working directory of a real process started by the test support's
 * startGatewayProcess (read back from /proc, so it is what really ran, not what a source file says).
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { basename, posix, relative, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, baseEnv, startGatewayProcess, type GatewayProcess } from '../support/gateway.ts';

const dockerfile = readFileSync(resolve(REPO_ROOT, 'deploy/Dockerfile'), 'utf8').replace(/\\\r?\n/g, ' ');
const lastInstruction = (name: string): string | undefined =>
  dockerfile
    .split(/\r?\n/)
    .filter((l) => l.startsWith(`${name} `))
    .at(-1)
    ?.slice(name.length + 1)
    .trim();

let proc: GatewayProcess | undefined;
afterAll(async () => {
  await proc?.kill('SIGKILL');
});

describe.skipIf(process.platform !== 'linux')('the Dockerfile start command', () => {
  it('is the command and working directory startGatewayProcess runs, with /app as the repository root', async () => {
    const cmd = JSON.parse(lastInstruction('CMD') ?? 'null') as string[];
    const workdir = lastInstruction('WORKDIR') ?? '/';
    proc = await startGatewayProcess(baseEnv());
    const argv = readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((a) => a !== '');
    const cwd = readlinkSync(`/proc/${proc.pid}/cwd`);
    expect(resolve(cwd)).toBe(resolve(REPO_ROOT));

    // The test runs the Node binary by path; the image finds `node` on PATH.
    expect(basename(argv[0] ?? '')).toBe('node');
    expect(cmd[0]).toBe('node');
    // Paths in the test's argv are made relative to its cwd, then resolved from the image's WORKDIR.
    const portable = (arg: string, base: string): string =>
      arg.startsWith('/') ? posix.join(base, relative(cwd, arg)) : arg;
    expect(argv.slice(1).map((a) => portable(a, workdir))).toEqual(
      cmd.slice(1).map((a) => (a.startsWith('-') || !a.includes('/') ? a : posix.join(workdir, a))),
    );
    expect(cmd).toEqual(['node', '--import', 'tsx', 'gateway/src/main.ts']);
    expect(await fetch(`${proc.url}/healthz`).then((r) => r.status)).toBe(200);
  });
});
