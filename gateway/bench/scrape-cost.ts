/**
 * Benchmark, not a test: what one `/metrics` scrape costs a node, full and filtered (`?name[]=`, the three
 * families the load tester reads), with `clients` idle websocket connections open. Starts its own
 * redis-server and one compiled gateway, opens the connections (lean clients), then alternates `scrapes`
 * full and `scrapes` filtered scrapes, one at a time, twice, and prints the node's CPU per scrape
 * (/proc/<pid>/stat, 10 ms ticks: hence many scrapes per figure).
 *
 *   node --import tsx gateway/bench/scrape-cost.ts [--clients 5000] [--scrapes 40]
 */
import { parseArgs } from 'node:util';
import { LeanClient } from '../../loadtest/src/lean-client.ts';
import { SCRAPED_QUERY } from '../../loadtest/src/probes.ts';
import { baseEnv, startGatewayProcess } from '../../dev/gateway-process.ts';
import { startRedis } from '../../dev/redis.ts';
import { signToken } from '../../dev/tokens.ts';
import { processCpuMs } from './cpu-usage.ts';

const { values } = parseArgs({
  options: { clients: { type: 'string', default: '5000' }, scrapes: { type: 'string', default: '40' } },
});
const clients = Number(values.clients);
const scrapes = Number(values.scrapes);

const redis = await startRedis();
const env = baseEnv({ REDIS_URL: redis.url, HANDSHAKES_PER_SECOND: '1000000', LOG_LEVEL: 'info' });
const gw = await startGatewayProcess(env, undefined, { compiled: true });
const open: LeanClient[] = [];
try {
  const key = env['JWT_SECRET'];
  if (key === undefined) throw new Error('baseEnv gave no JWT_SECRET');
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < clients) {
        const client = new LeanClient({
          url: gw.url,
          token: signToken({ key, sub: `scrape-${next++}`, nowMs: Date.now() }),
        });
        await client.connect();
        open.push(client);
      }
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const perScrape = async (query: string): Promise<{ cpuMs: number; bytes: number }> => {
    let bytes = 0;
    const before = processCpuMs(gw.pid);
    for (let i = 0; i < scrapes; i++) {
      const text = await fetch(`${gw.url}/metrics${query}`).then((r) => r.text());
      bytes = text.length;
    }
    return { cpuMs: (processCpuMs(gw.pid) - before) / scrapes, bytes };
  };
  for (let round = 1; round <= 2; round++) {
    const full = await perScrape('');
    const filtered = await perScrape(`?${SCRAPED_QUERY}`);
    console.log(
      `round ${round}, ${open.length} sockets: full scrape ${full.cpuMs.toFixed(1)} ms CPU (${full.bytes} bytes), filtered ${filtered.cpuMs.toFixed(1)} ms (${filtered.bytes} bytes)`,
    );
  }
} finally {
  for (const client of open) client.drop();
  await gw.kill('SIGKILL');
  await redis.stop();
}
