/**
 * Benchmark, not a test: a 100,000-seat event through one real gateway process on one real Redis (issue 15).
 * Times `PUT /v1/events/:id` (define, then redefine with one section replaced) and `seat:map` reads, and
 * measures each read's wire size (the JSON of the ack, as socket.io sends it): the whole map, one section,
 * one section compact, the whole map compact, and a `since` read after a few holds.
 *
 *   node --import tsx gateway/bench/stadium.ts [--sections 100] [--per-section 1000] [--reads 5]
 *
 * Seat ids look like `S042-R12-07` (section `S042`, separator `-`). MAX_OUTBOUND_BUFFER_BYTES is raised to
 * 8 MiB: the whole map is about 2 MB, over the default 1 MiB bound, which would cut the socket.
 * Prints a markdown table (median of `reads` reads; the define timings are single runs).
 */
import { parseArgs } from 'node:util';
import { LeanClient } from '../../loadtest/src/lean-client.ts';
import { baseEnv, startGatewayProcess } from '../../dev/gateway-process.ts';
import { startRedis } from '../../dev/redis.ts';
import { signToken } from '../../dev/tokens.ts';
import { median } from './median.ts';

const { values } = parseArgs({
  options: {
    sections: { type: 'string', default: '100' },
    'per-section': { type: 'string', default: '1000' },
    reads: { type: 'string', default: '5' },
  },
});
const SECTIONS = Number(values.sections);
const PER_SECTION = Number(values['per-section']);
const READS = Number(values.reads);
const TOKEN = 'stadium-bench-service-token-0123456789';

const pad = (n: number, w: number) => String(n).padStart(w, '0');
const seatsOf = (prefix: string, sections: number) =>
  Array.from({ length: sections * PER_SECTION }, (_, k) => {
    const s = Math.floor(k / PER_SECTION);
    const i = k % PER_SECTION;
    return `${prefix}${pad(s, 3)}-R${pad(Math.floor(i / 50), 2)}-${pad(i % 50, 2)}`;
  });

const redisServer = await startRedis();
const env = baseEnv({
  REDIS_URL: redisServer.url,
  SERVICE_TOKEN: TOKEN,
  MAX_OUTBOUND_BUFFER_BYTES: String(8 * 1024 * 1024),
  REDIS_COMMAND_TIMEOUT_MS: '10000',
});
const gw = await startGatewayProcess({ ...env, NODE_ID: 'stadium', LOG_LEVEL: 'info' });
const put = async (body: unknown): Promise<number> => {
  const t = performance.now();
  const res = await fetch(`${gw.url}/v1/events/arena`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`PUT ${res.status}: ${await res.text()}`);
  return performance.now() - t;
};
const client = new LeanClient({
  url: gw.url,
  token: signToken({ key: env['JWT_SECRET']!, sub: 'fan', expiresIn: 3600, nowMs: Date.now() }),
});
try {
  const seats = seatsOf('S', SECTIONS);
  const defineMs = await put({ seats, sectionSeparator: '-' });
  const changed = [...seats.slice(0, (SECTIONS - 1) * PER_SECTION), ...seatsOf('T', 1)];
  const redefineMs = await put({ seats: changed, sectionSeparator: '-' });
  const outcome = await client.connect(30_000);
  if (outcome.error) throw new Error(JSON.stringify(outcome.error));
  const read = async (payload: object) => {
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < READS; i++) {
      const t = performance.now();
      const ack = (await client.request('seat:map', { eventId: 'arena', ...payload }, 60_000)) as {
        ok: boolean;
      };
      times.push(performance.now() - t);
      if (!ack.ok) throw new Error(`seat:map refused: ${JSON.stringify(ack)}`);
      bytes = Buffer.byteLength(JSON.stringify(ack));
    }
    return { ms: median(times), bytes };
  };
  const rows: [string, { ms: number; bytes: number }][] = [
    ['whole map, full', await read({})],
    ['whole map, compact', await read({ format: 'compact' })],
    ['one section, full', await read({ section: 'S042' })],
    ['one section, compact', await read({ section: 'S042', format: 'compact' })],
  ];
  const version = (
    (await client.request('seat:map', { eventId: 'arena', section: 'S042' }, 60_000)) as {
      data: { version: number };
    }
  ).data.version;
  for (let i = 0; i < 10; i++)
    await client.request('seat:hold', { eventId: 'arena', seatIds: [`S042-R00-${pad(i, 2)}`] });
  rows.push(['one section, since (10 holds later)', await read({ section: 'S042', since: version })]);
  console.log(
    `\n${SECTIONS * PER_SECTION} seats in ${SECTIONS} sections; define ${defineMs.toFixed(0)} ms, redefine (one section replaced) ${redefineMs.toFixed(0)} ms\n`,
  );
  console.log('| seat:map read | wire bytes | ms (median) |');
  console.log('|---|---:|---:|');
  for (const [name, r] of rows)
    console.log(`| ${name} | ${r.bytes.toLocaleString('en')} | ${r.ms.toFixed(1)} |`);
} finally {
  client.close();
  await gw.kill('SIGKILL');
  await redisServer.stop();
}
