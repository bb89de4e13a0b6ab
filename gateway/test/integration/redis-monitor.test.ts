/**
 * The tests' and benchmarks' MONITOR helper (dev/redis-monitor.ts) against a real Redis: arguments come back exactly as
 * sent, whatever bytes they hold, and starting MONITOR while another connection floods Redis with commands
 * never mistakes a command line for a reply (what ioredis' `monitor()` does when one shares a packet with
 * MONITOR's +OK).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMonitor, type MonitoredCommand } from '../../../dev/redis-monitor.ts';
import { startRedis, type RedisProcess } from '../support/redis.ts';

describe('the tests` MONITOR helper', () => {
  let server: RedisProcess;
  let raw: Redis;
  beforeAll(async () => {
    server = await startRedis();
    raw = new Redis(server.url);
  });
  afterAll(async () => {
    raw.disconnect();
    await server.stop();
  });

  it('reports each command with its arguments byte for byte and its source', async () => {
    const key = 'monitor:key with "quotes"';
    const seen: MonitoredCommand[] = [];
    // Only this test's commands (the client's own ready check may still be on its way).
    const monitor = await startMonitor(server.url, (c) => c.args.includes(key) && seen.push(c));
    const value = Buffer.from([0x22, 0x5c, 0x0a, 0x0d, 0x09, 0x07, 0x08, 0x00, 0xe9, 0x41, 0x20, 0x7f]);
    try {
      await raw.set(key, value);
      await raw.eval("return redis.call('GET', KEYS[1])", 1, key);
      await expect.poll(() => seen.length).toBeGreaterThanOrEqual(3);
    } finally {
      monitor.stop();
    }
    expect(seen[0]?.args).toEqual(['set', key, value.toString('latin1')]);
    expect(seen[0]?.source).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(seen[1]?.args[0]).toBe('eval');
    expect(seen[2]).toEqual({ args: ['GET', key], source: 'lua' });
  });

  it('starts cleanly while another connection keeps Redis busy', async () => {
    const flood = raw.duplicate();
    let flooding = true;
    const pump = (async () => {
      while (flooding) await Promise.all(Array.from({ length: 50 }, (_, i) => flood.incr(`monitor:n${i}`)));
    })();
    try {
      for (let round = 0; round < 30; round++) {
        let count = 0;
        const monitor = await startMonitor(server.url, () => (count += 1));
        await expect.poll(() => count).toBeGreaterThan(0);
        monitor.stop();
      }
    } finally {
      flooding = false;
      await pump;
      flood.disconnect();
    }
  });
});
