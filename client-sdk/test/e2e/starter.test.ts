/**
 * examples/starter as a customer runs it: a copy of the app outside the repository, the SDK installed from
 * the tarball `npm pack -w @stayline/client-sdk` makes (with Vite, React and TypeScript from npm),
 * `npm run build` (tsc with Bundler resolution, then vite build), and the built page served from its own
 * origin against a real development gateway in headless Chromium: sign in with a dev token, join the
 * queue, hold a seat, receive a typed app event, see the banner when the gateway goes away.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, relative } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REPO_ROOT,
  baseEnv,
  startGateway,
  tokenFor,
  type RunningGateway,
} from '../../../gateway/test/support/gateway.ts';
import { withSdkBuildLock } from '../../../gateway/test/support/build-lock.ts';
import { launchChromium, type Browser } from '../support/chromium.ts';
import { serveStatic, type StaticServer } from '../support/static-server.ts';

const SERVICE_TOKEN = 'starter-test-service-token';
const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
};

function run(cmd: string, args: readonly string[], cwd: string): string {
  const result = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 240_000 });
  if (result.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${String(result.status)}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });

describe('the starter app (examples/starter) in a real browser', () => {
  let dir: string;
  let site: StaticServer;
  let gateway: RunningGateway;
  let browser: Browser;
  const env = baseEnv({ NODE_ENV: 'development', SERVICE_TOKEN });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stayline-starter-'));
    const app = join(dir, 'starter');
    cpSync(join(REPO_ROOT, 'examples', 'starter'), app, {
      recursive: true,
      filter: (src) => !/(^|\/)(node_modules|dist)(\/|$)|\.tgz$/.test(relative(REPO_ROOT, src)),
    });
    const packed = await withSdkBuildLock(() =>
      run('npm', ['pack', '-w', '@stayline/client-sdk', '--pack-destination', app, '--json'], REPO_ROOT),
    );
    // The app depends on `file:stayline-client-sdk-<version>.tgz`: point it at the tarball just packed.
    const [{ filename }] = JSON.parse(packed) as [{ filename: string }];
    const manifestFile = join(app, 'package.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(manifest.dependencies['@stayline/client-sdk']).toMatch(/^file:stayline-client-sdk-.+\.tgz$/);
    manifest.dependencies['@stayline/client-sdk'] = `file:${filename}`;
    writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], app);
    run('npm', ['run', 'build'], app);
    const built = join(app, 'dist');
    site = await serveStatic(
      Object.fromEntries(
        walk(built).map((file) => [
          `/${relative(built, file)}`.replace(/\/index\.html$/, '/'),
          [TYPES[extname(file)] ?? 'application/octet-stream', readFileSync(file)],
        ]),
      ),
    );
    gateway = await startGateway(env);
    const put = await fetch(`${gateway.url}/v1/events/demo`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVICE_TOKEN}` },
      body: JSON.stringify({ seats: ['A1', 'A2', 'A3', 'A4', 'B1', 'B2', 'B3', 'B4'] }),
    });
    expect(put.status).toBe(201);
    browser = await launchChromium({ width: 900, height: 800 });
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await gateway?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('signs in with a dev token, queues, holds a seat, gets a typed app event, and shows the banner when the gateway goes', async () => {
    const page: Page = await browser.context.newPage();
    await page.goto(`${site.url}/?gateway=${encodeURIComponent(gateway.url)}`);
    // Signed out: the form, no connection attempt, no banner.
    await page.getByTestId('token-input').fill(tokenFor(env, 'dana'));
    expect(await page.getByRole('status').count()).toBe(0);
    await page.getByTestId('sign-in').click();
    await expect.poll(() => page.getByTestId('status').textContent(), { timeout: 15_000 }).toBe('connected');

    await page.getByTestId('join').click();
    await expect
      .poll(() => page.getByTestId('queue').textContent(), { timeout: 10_000 })
      .toBe('You are number 1 of 1.');
    await page.locator('[data-seat="A3"]').click();
    await expect
      .poll(() => page.locator('[data-seat="A3"]').getAttribute('data-state'), { timeout: 10_000 })
      .toBe('mine');
    expect(await page.getByTestId('mine').textContent()).toBe('A3');

    const published = await fetch(`${gateway.url}/v1/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVICE_TOKEN}` },
      body: JSON.stringify({ userId: 'dana', event: 'announcement', data: { text: 'Doors open at 7' } }),
    });
    expect(published.status).toBe(202);
    await expect
      .poll(() => page.getByTestId('announcement').textContent(), { timeout: 10_000 })
      .toBe('Doors open at 7');

    await gateway.stop();
    await expect
      .poll(() => page.getByRole('status').textContent(), { timeout: 15_000 })
      .toBe('reconnecting…');
    expect(await page.getByTestId('status').textContent()).toBe('reconnecting');
  });
});
