/**
 * Origins in a real headless Chromium, where a websocket's HTTP 403 is invisible to the page: a page served
 * from another port (as a Vite dev server would) connects to a development gateway; the same page against
 * a gateway whose CORS_ORIGINS does not list it ends in the SDK's `forbidden` state with ORIGIN_FORBIDDEN
 * (not CLIENT_NETWORK) and stops trying; and with CORS_ORIGINS set, the gateway's own /demo still connects.
 */
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  baseEnv,
  startGateway,
  tokenFor,
  type RunningGateway,
} from '../../../gateway/test/support/gateway.ts';
import { buildDemoPage } from '../../../gateway/test/support/build-lock.ts';
import { launchChromium, type Browser } from '../support/chromium.ts';
import { serveStatic, type StaticServer } from '../support/static-server.ts';

const SDK_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The page: one client, its state in #state (data-status, data-error) and the error's summary as text. */
const PAGE_SCRIPT = `
import { createClient, ERROR_CATALOGUE, CLIENT_ERROR_CATALOGUE } from './src/index.ts';
const q = new URLSearchParams(location.search);
const client = createClient({ url: q.get('gw'), getToken: () => q.get('token') });
const el = document.getElementById('state');
const render = (s) => {
  el.dataset.status = s.status;
  el.dataset.error = s.lastError ?? '';
  const entry = s.lastError && (ERROR_CATALOGUE[s.lastError] ?? CLIENT_ERROR_CATALOGUE[s.lastError]);
  el.textContent = s.status + (entry ? ': ' + entry.summary : '');
};
client.onStateChange(render);
render(client.state);
`;

describe('origins in a real browser', () => {
  let browser: Browser;
  let site: StaticServer;
  let dev: RunningGateway;
  let strict: RunningGateway;
  const devEnv = baseEnv({ NODE_ENV: 'development' });
  const strictEnv = baseEnv({ CORS_ORIGINS: 'https://app.example' });

  beforeAll(async () => {
    await buildDemoPage();
    const bundle = await esbuild.build({
      stdin: { contents: PAGE_SCRIPT, resolveDir: SDK_ROOT, loader: 'ts' },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      logLevel: 'warning',
    });
    site = await serveStatic({
      '/': [
        'text/html',
        '<!doctype html><meta charset="utf-8"><p id="state"></p><script type="module" src="/app.js"></script>',
      ],
      '/app.js': ['text/javascript', Buffer.from(bundle.outputFiles[0]?.contents ?? new Uint8Array())],
    });
    [dev, strict] = await Promise.all([startGateway(devEnv), startGateway(strictEnv)]);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await dev?.stop();
    await strict?.stop();
  });

  const open = async (gateway: RunningGateway, env: Record<string, string | undefined>): Promise<Page> => {
    const page = await browser.context.newPage();
    const query = new URLSearchParams({ gw: gateway.url, token: tokenFor(env, 'alice') });
    await page.goto(`${site.url}/?${query.toString()}`);
    return page;
  };
  const status = (page: Page) => page.locator('#state').getAttribute('data-status');
  const refusals = async (gateway: RunningGateway): Promise<number> => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    // Refused handshakes count in stayline_handshakes_total, refused requests of a session (the probe
    // carries a sid) in stayline_transport_refusals_total: both are origin refusals.
    return text
      .split('\n')
      .filter(
        (l) =>
          (l.startsWith('stayline_handshakes_total') || l.startsWith('stayline_transport_refusals_total')) &&
          l.includes('ORIGIN_FORBIDDEN'),
      )
      .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
  };

  it('in development, a page on another localhost port connects', async () => {
    const page = await open(dev, devEnv);
    await expect.poll(() => status(page), { timeout: 15_000 }).toBe('connected');
    expect(await page.locator('#state').getAttribute('data-error')).toBe('');
  });

  it('a refused origin ends in "forbidden" with ORIGIN_FORBIDDEN naming CORS_ORIGINS, and is not retried', async () => {
    const before = await refusals(strict);
    const page = await open(strict, strictEnv);
    await expect.poll(() => status(page), { timeout: 15_000 }).toBe('forbidden');
    expect(await page.locator('#state').getAttribute('data-error')).toBe('ORIGIN_FORBIDDEN');
    expect(await page.locator('#state').textContent()).toContain('CORS_ORIGINS');
    // One websocket attempt and one probe, both refused.
    expect(await refusals(strict)).toBe(before + 2);

    // A second page goes the same way; by then the first one has tried nothing more.
    const second = await open(strict, strictEnv);
    await expect.poll(() => status(second), { timeout: 15_000 }).toBe('forbidden');
    expect(await refusals(strict)).toBe(before + 4);
    expect(await status(page)).toBe('forbidden');
  });

  it('with CORS_ORIGINS set, the gateway own /demo page still connects', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${strict.url}/demo/#token=${encodeURIComponent(tokenFor(strictEnv, 'bob'))}`);
    await expect
      .poll(() => page.locator('[data-testid="state"]').textContent(), { timeout: 15_000 })
      .toBe('connected');
  });
});
