/**
 * Runs the load tester CLI as operators do (`node --import tsx loadtest/src/cli.ts ...`) in a child
 * process, with a JSON report in a temp dir; resolves with the exit code, the report and the output.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Report } from '../../src/report/report.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface CliResult {
  code: number | null;
  report: Report | undefined;
  html: string | undefined;
  output: string;
}

export async function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 55_000,
): Promise<CliResult> {
  const dir = mkdtempSync(join(tmpdir(), 'stayline-loadtest-'));
  const json = join(dir, 'report.json');
  const html = join(dir, 'report.html');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'loadtest/src/cli.ts',
      ...args,
      '--quiet',
      '--json',
      json,
      '--html',
      html,
      '--max-seconds',
      '40',
    ],
    { cwd: REPO_ROOT, env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  try {
    return {
      code,
      output,
      report: existsSync(json) ? (JSON.parse(readFileSync(json, 'utf8')) as Report) : undefined,
      html: existsSync(html) ? readFileSync(html, 'utf8') : undefined,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
