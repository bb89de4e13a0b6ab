/**
 * The demo page in a real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core):
 * two gateway processes on one Redis behind a small TCP proxy playing the load balancer. The page joins a
 * queue and holds seats, the node it is on is SIGKILLed, the banner says "reconnecting…", and the same
 * queue position and held seats come back from the other node. Screenshots go to test-artifacts/.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, tokenFor } from '../../../gateway/test/support/gateway.ts';
import { SERVICE_TOKEN, startCluster, type TestCluster } from '../../../gateway/test/support/cluster.ts';
import { createClient, type StaylineClient } from '../../src/index.ts';
import { untilStatus } from '../support/client-wait.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
const EVENT = 'e2e-show';
const SEATS = Array.from(
  { length: 20 },
  (_, i) => `${String.fromCharCode(65 + Math.floor(i / 10))}${(i % 10) + 1}`,
);

describe('the demo page in a real browser', () => {
  let cluster: TestCluster;
  let proxy: TcpProxy;
  let context: BrowserContext;
  let userDataDir: string;
  const others: StaylineClient[] = [];

  beforeAll(async () => {
    // Always rebuild: the page must run the SDK as it is now, not a stale build.
    const build = spawnSync(process.execPath, ['client-sdk/scripts/build.mjs', '--demo-only', '--quiet'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    if (build.status !== 0) throw new Error(`demo build failed:\n${build.stderr}`);
    cluster = await startCluster({ nodes: 2, env: { QUEUE_PUSH_INTERVAL_MS: '200' } });
    proxy = await startTcpProxy(cluster.nodes.map((n) => n.port));
    const put = await fetch(`${cluster.nodes[0]?.url}/v1/events/${EVENT}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVICE_TOKEN}` },
      body: JSON.stringify({ seats: SEATS, admissionRatePerSecond: 0 }),
    });
    expect(put.status).toBeLessThan(300);
    userDataDir = mkdtempSync(join(tmpdir(), 'stayline-chromium-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 900, height: 820 },
    });
  });
  afterAll(async () => {
    for (const c of others) c.close();
    await context?.close();
    if (userDataDir !== undefined) rmSync(userDataDir, { recursive: true, force: true });
    await proxy?.close();
    await cluster?.stop();
  });

  const openDemo = async (sub: string): Promise<Page> => {
    const page = await context.newPage();
    const token = tokenFor(cluster.env, sub);
    await page.goto(`${proxy.url}/demo/?event=${EVENT}#token=${encodeURIComponent(token)}`);
    return page;
  };
  /** Two users queue first (straight to the second node), so the page's place is 3. */
  const queueOthers = async (): Promise<void> => {
    for (const sub of ['early-1', 'early-2']) {
      const client = createClient({
        url: cluster.nodes[1]?.url ?? '',
        getToken: () => tokenFor(cluster.env, sub),
      });
      others.push(client);
      await untilStatus(client, 'connected');
      await client.joinQueue(EVENT);
    }
  };
  const seat = (page: Page, id: string) => page.locator(`[data-seat="${id}"]`);

  it('connects, queues, holds seats live across browsers, and restores them on another node after a SIGKILL', async () => {
    await queueOthers();
    const page = await openDemo('alice');
    await expect.poll(() => page.getByTestId('state').textContent(), { timeout: 15_000 }).toBe('connected');
    // Connected: the banner shows nothing.
    expect(await page.getByRole('status').count()).toBe(0);

    await page.getByTestId('join-queue').click();
    await expect.poll(() => page.getByTestId('queue-position').textContent(), { timeout: 10_000 }).toBe('3');
    // The position moves live: admitting the first in line makes it 2.
    const admit = await fetch(`${cluster.nodes[1]?.url}/v1/events/${EVENT}/admit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVICE_TOKEN}` },
      body: JSON.stringify({ count: 1 }),
    });
    expect(admit.status).toBe(200);
    await expect.poll(() => page.getByTestId('queue-position').textContent(), { timeout: 10_000 }).toBe('2');

    // A second browser tab as another user sees the first user's seats turn held.
    const bob = await openDemo('bob');
    await expect.poll(() => bob.getByTestId('state').textContent(), { timeout: 15_000 }).toBe('connected');
    await expect.poll(() => seat(bob, 'A2').getAttribute('data-state'), { timeout: 10_000 }).toBe('free');
    await seat(page, 'A2').click();
    await expect.poll(() => seat(page, 'A2').getAttribute('data-state'), { timeout: 10_000 }).toBe('mine');
    await seat(page, 'A3').click();
    await expect.poll(() => page.getByTestId('held-seats').textContent(), { timeout: 10_000 }).toBe('A2, A3');
    await expect.poll(() => seat(bob, 'A2').getAttribute('data-state'), { timeout: 10_000 }).toBe('held');
    await expect.poll(() => seat(bob, 'A3').getAttribute('data-state'), { timeout: 10_000 }).toBe('held');

    // Kill the node the page is on. The proxy sends every connection to the first live upstream, so that is
    // the first node; new connections are refused for a moment so the banner is seen for certain.
    const victim = cluster.nodes[0];
    if (victim === undefined) throw new Error('no first node');
    expect(proxy.routed.every((port) => port === victim.port)).toBe(true);
    proxy.refuseNew = true;
    await victim.kill('SIGKILL');
    await expect
      .poll(() => page.getByRole('status').textContent(), { timeout: 10_000 })
      .toBe('reconnecting…');
    await page.screenshot({ path: join(ARTIFACTS, 'sdk-demo-reconnecting.png'), fullPage: true });
    proxy.refuseNew = false;

    await expect.poll(() => page.getByTestId('state').textContent(), { timeout: 20_000 }).toBe('connected');
    await expect
      .poll(() => page.getByTestId('restored').getAttribute('data-restores'), { timeout: 10_000 })
      .toBe('2');
    expect(await page.getByTestId('restored').getAttribute('data-recovered')).toBe('true');
    expect(await page.getByTestId('restored-queues').textContent()).toBe(`${EVENT} #2`);
    expect(await page.getByTestId('restored-holds').textContent()).toBe('A2, A3');
    expect(await page.getByTestId('restored-lost').textContent()).toBe('Nothing was lost.');
    expect(await page.getByTestId('queue-position').textContent()).toBe('2');
    expect(await page.getByTestId('held-seats').textContent()).toBe('A2, A3');
    await expect.poll(() => seat(page, 'A2').getAttribute('data-state'), { timeout: 10_000 }).toBe('mine');
    expect(await page.getByRole('status').count()).toBe(0);
    // The page is now served by the surviving node.
    const survivor = cluster.nodes[1]?.port;
    expect(proxy.routed.at(-1)).toBe(survivor);
    await page.screenshot({ path: join(ARTIFACTS, 'sdk-demo-restored.png'), fullPage: true });

    // The backend sells A3 with the fence of the restored hold: the other browser (reconnected too, its
    // node is gone as well) sees it turn sold, live.
    const fence = await page.evaluate<number>(
      "globalThis.staylineClient.session.holds.find((h) => h.seatIds.includes('A3')).fence",
    );
    const sale = await fetch(`${cluster.nodes[1]?.url}/v1/events/${EVENT}/seats/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVICE_TOKEN}` },
      body: JSON.stringify({ userId: 'alice', seatIds: ['A3'], fence }),
    });
    expect(sale.status).toBe(200);
    await expect.poll(() => seat(bob, 'A3').getAttribute('data-state'), { timeout: 15_000 }).toBe('sold');
    await bob.screenshot({ path: join(ARTIFACTS, 'sdk-demo-other-browser.png'), fullPage: true });
  });
});
