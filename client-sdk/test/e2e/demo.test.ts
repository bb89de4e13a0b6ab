/**
 * The demo page in a real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core):
 * two gateway processes on one Redis behind a small TCP proxy playing the load balancer. The page joins a
 * queue and holds seats, another user's tab sees them change live, the node the page is on is SIGKILLed:
 * the banner floats over the page without moving it, everything shown goes grey as stale, and the same
 * queue position and held seats come back from the other node. The page fits a 360 px phone.
 * Screenshots go to test-artifacts/; with STAYLINE_UPDATE_DOCS_IMAGES=1 the desktop, reconnecting and phone ones are
 * written to docs/images/ (the README shows them).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, tokenFor } from '../../../gateway/test/support/gateway.ts';
import { SERVICE_TOKEN, startCluster, type TestCluster } from '../../../gateway/test/support/cluster.ts';
import { createClient, type StaylineClient } from '../../src/index.ts';
import { buildDemoPage } from '../../../gateway/test/support/build-lock.ts';
import { launchChromium, type Browser } from '../support/chromium.ts';
import { untilStatus } from '../support/client-wait.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
const DOCS_IMAGES =
  process.env['STAYLINE_UPDATE_DOCS_IMAGES'] === '1' ? join(REPO_ROOT, 'docs', 'images') : ARTIFACTS;
const EVENT = 'e2e-show';
const SEATS = ['A', 'B', 'C'].flatMap((row) => Array.from({ length: 10 }, (_, i) => `${row}${i + 1}`));

describe('the demo page in a real browser', () => {
  let cluster: TestCluster;
  let proxy: TcpProxy;
  let browser: Browser;
  const others: StaylineClient[] = [];

  beforeAll(async () => {
    // Always rebuild: the page must run the SDK as it is now, not a stale build.
    await buildDemoPage();
    cluster = await startCluster({ nodes: 2, env: { QUEUE_PUSH_INTERVAL_MS: '200' } });
    proxy = await startTcpProxy(cluster.nodes.map((n) => n.port));
    const put = await fetch(`${cluster.nodes[0]?.url}/v1/events/${EVENT}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVICE_TOKEN}` },
      body: JSON.stringify({ seats: SEATS, admissionRatePerSecond: 0 }),
    });
    expect(put.status).toBeLessThan(300);
    mkdirSync(ARTIFACTS, { recursive: true });
    mkdirSync(DOCS_IMAGES, { recursive: true });
    browser = await launchChromium({ width: 1180, height: 900 });
  });
  afterAll(async () => {
    for (const c of others) c.close();
    await browser?.close();
    await proxy?.close();
    await cluster?.stop();
  });

  const openDemo = async (sub: string, viewport?: { width: number; height: number }): Promise<Page> => {
    const page = await browser.context.newPage();
    if (viewport !== undefined) await page.setViewportSize(viewport);
    const token = tokenFor(cluster.env, sub);
    await page.goto(`${proxy.url}/demo/?event=${EVENT}#token=${encodeURIComponent(token)}`);
    await expect.poll(() => page.getByTestId('state').textContent(), { timeout: 15_000 }).toBe('connected');
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
  const staleCards = (page: Page) => page.locator('section.card[data-stale="true"]').count();

  it('queues, holds seats live across tabs, goes stale without moving while reconnecting, and restores on another node after a SIGKILL', async () => {
    await queueOthers();
    const page = await openDemo('alice');
    // Connected: no banner, no error line, nothing stale; rows and a legend.
    expect(await page.getByRole('status').count()).toBe(0);
    expect(await page.getByTestId('last-error').count()).toBe(0);
    expect(await staleCards(page)).toBe(0);
    const rows = page.locator('[data-row]');
    // 'connected' comes before the seat map's first read answers: wait for the map, not for a guess.
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(3);
    expect(
      await Promise.all(
        Array.from({ length: await rows.count() }, (_, i) => rows.nth(i).getAttribute('data-row')),
      ),
    ).toEqual(['A', 'B', 'C']);
    expect((await page.locator('.legend li').allTextContents()).map((t) => t.trim())).toEqual([
      'Free',
      'Yours',
      'Held by someone',
      'Sold',
    ]);
    expect(await page.getByTestId('user').textContent()).toBe('alice');
    expect(await page.getByTestId('second-tab-hint').textContent()).toContain('second tab');

    await page.getByTestId('join-queue').click();
    await expect.poll(() => page.getByTestId('queue-position').textContent(), { timeout: 10_000 }).toBe('3');
    // The position moves live: admitting the first in line makes it 2, and the progress bar moves.
    const admit = await fetch(`${cluster.nodes[1]?.url}/v1/events/${EVENT}/admit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVICE_TOKEN}` },
      body: JSON.stringify({ count: 1 }),
    });
    expect(admit.status).toBe(200);
    await expect.poll(() => page.getByTestId('queue-position').textContent(), { timeout: 10_000 }).toBe('2');
    expect(Number(await page.getByTestId('queue-progress').getAttribute('aria-valuenow'))).toBeGreaterThan(0);

    // A second tab as another user sees the first user's seats turn held, and holds one of its own.
    const bob = await openDemo('bob');
    await expect.poll(() => seat(bob, 'A2').getAttribute('data-state'), { timeout: 10_000 }).toBe('free');
    await seat(page, 'A2').click();
    await expect.poll(() => seat(page, 'A2').getAttribute('data-state'), { timeout: 10_000 }).toBe('mine');
    await seat(page, 'A3').click();
    await expect.poll(() => page.getByTestId('held-seats').textContent(), { timeout: 10_000 }).toBe('A2, A3');
    await expect.poll(() => seat(bob, 'A2').getAttribute('data-state'), { timeout: 10_000 }).toBe('held');
    await expect.poll(() => seat(bob, 'A3').getAttribute('data-state'), { timeout: 10_000 }).toBe('held');
    await seat(bob, 'B5').click();
    await seat(bob, 'B6').click();
    await expect.poll(() => seat(page, 'B6').getAttribute('data-state'), { timeout: 10_000 }).toBe('held');

    // Kill the node the page is on. The proxy sends every connection to the first live upstream, so that is
    // the first node; new connections are refused for a moment so the banner is seen for certain.
    const victim = cluster.nodes[0];
    if (victim === undefined) throw new Error('no first node');
    expect(proxy.routed.every((port) => port === victim.port)).toBe(true);
    const layout = () =>
      Promise.all(['main', '.grid', '[data-seat="A1"]'].map((s) => page.locator(s).boundingBox()));
    const before = await layout();
    proxy.refuseNew = true;
    await victim.kill('SIGKILL');
    await expect
      .poll(() => page.getByRole('status').textContent(), { timeout: 10_000 })
      .toBe('reconnecting…');
    // The banner floats: the page does not move. What is shown is the last known state, greyed out.
    await expect.poll(() => page.getByTestId('problem').isVisible(), { timeout: 5_000 }).toBe(true);
    expect(await layout()).toEqual(before);
    await expect.poll(() => staleCards(page), { timeout: 5_000 }).toBe(2);
    expect(await page.getByTestId('last-error').textContent()).toBe('CLIENT_NETWORK');
    expect(await seat(page, 'A4').isDisabled()).toBe(true);
    await page.screenshot({ path: join(DOCS_IMAGES, 'demo-reconnecting.png'), fullPage: true });
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
    // Live again: no banner, nothing stale, and no "last error" beside a good connection.
    expect(await page.getByRole('status').count()).toBe(0);
    await expect.poll(() => staleCards(page), { timeout: 5_000 }).toBe(0);
    expect(await page.getByTestId('last-error').count()).toBe(0);
    // The page is now served by the surviving node.
    expect(proxy.routed.at(-1)).toBe(cluster.nodes[1]?.port);

    // The backend sells A3 with the fence of the restored hold: the other tab (reconnected too, its node
    // is gone as well) sees it turn sold, live.
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
    await expect.poll(() => seat(page, 'A3').getAttribute('data-state'), { timeout: 15_000 }).toBe('sold');
    expect(await page.getByTestId('held-seats').textContent()).toBe('A2');
    expect(await page.getByTestId('bought-seats').textContent()).toContain('A3');
    await page.screenshot({ path: join(DOCS_IMAGES, 'demo-desktop.png'), fullPage: true });
    await bob.screenshot({ path: join(ARTIFACTS, 'sdk-demo-other-tab.png'), fullPage: true });
  });

  it('fits a phone: no horizontal scrolling at 390 and 360 px, seats still tappable', async () => {
    proxy.refuseNew = false;
    const page = await openDemo('carol', { width: 390, height: 844 });
    await expect.poll(() => seat(page, 'A1').getAttribute('data-state'), { timeout: 10_000 }).toBeTruthy();
    for (const width of [390, 360]) {
      await page.setViewportSize({ width, height: 844 });
      const overflow = await page.evaluate<number>(
        'document.documentElement.scrollWidth - window.innerWidth',
      );
      expect(overflow, `${width} px`).toBeLessThanOrEqual(0);
      const box = await seat(page, 'C10').boundingBox();
      expect(box?.width, `${width} px`).toBeGreaterThanOrEqual(22);
      expect((box?.x ?? 0) + (box?.width ?? 0), `${width} px`).toBeLessThanOrEqual(width);
    }
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByTestId('join-queue').click();
    await expect
      .poll(() => page.getByTestId('queue-position').textContent(), { timeout: 10_000 })
      .toMatch(/^\d+$/);
    await seat(page, 'C4').click();
    await expect.poll(() => seat(page, 'C4').getAttribute('data-state'), { timeout: 10_000 }).toBe('mine');
    await page.screenshot({ path: join(DOCS_IMAGES, 'demo-phone.png'), fullPage: true });
  });
});
