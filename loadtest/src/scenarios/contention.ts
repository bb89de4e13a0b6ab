/**
 * `contention`: many users race, in the same instant, for a few seats and one queue. Correct means: each
 * seat won by at most one user (every other try answered SEAT_UNAVAILABLE), and queue positions 1..n with
 * no gap and no repeat. Also reports ack latency per request. A server without the queue/seat handlers
 * is reported as such (every ack UNKNOWN_EVENT), not as a pass.
 */
import type { Report } from '../report/report.ts';
import {
  buildReport,
  clientSpec,
  defineEvent,
  openRun,
  probeFeatures,
  sleep,
  waitUntil,
  type Context,
} from './context.ts';
import { userToken } from '../tokens.ts';

export interface ContentionOptions {
  clients: number;
  seats: number;
  eventId: string;
  rampPerSecond: number;
}

export async function runContention(ctx: Context, o: ContentionOptions): Promise<Report> {
  const defined = await defineEvent(
    ctx.urls[0] ?? '',
    ctx.serviceToken,
    o.eventId,
    Array.from({ length: o.seats }, (_, i) => `C${i}`),
  );
  const probeUser = userToken(ctx.tokens, `${ctx.userPrefix}probe-`, 0);
  const features = await probeFeatures(ctx.urls[0] ?? '', probeUser.token, o.eventId, 'probe-seat');
  const run = await openRun(ctx, o.clients);
  const { state } = run;
  state.keepAcks = true;
  const connectSpan = (o.clients / o.rampPerSecond) * 1000;
  const raceAt = run.now() + connectSpan + 2000;
  run.markers.push({ t: raceAt / 1000, label: 'race' });
  run.pool.add(
    Array.from({ length: o.clients }, (_, i) => ({
      ...clientSpec(ctx, i, {
        label: 'racer',
        startAt: 200 + run.now() + (i * 1000) / o.rampPerSecond,
        reconnect: false,
      }),
      race: {
        at: raceAt,
        actions: [
          { event: 'seat:hold' as const, payload: { eventId: o.eventId, seatIds: [`C${i % o.seats}`] } },
          { event: 'queue:join' as const, payload: { eventId: o.eventId } },
        ],
      },
    })),
  );
  const expectedAcks = o.clients * 2;
  const answered = (): number =>
    state.acks.length + (state.errors.get('ACK_TIMEOUT') ?? 0) + (state.errors.get('ACK_LOST') ?? 0);
  await waitUntil(
    () => run.now() > raceAt && answered() >= expectedAcks - state.failed.size * 2,
    connectSpan + 40_000,
  );
  await sleep(300);
  await run.finish();

  const holds = state.acks.filter((a) => a.event === 'seat:hold');
  const joins = state.acks.filter((a) => a.event === 'queue:join');
  const winners = new Map<string, number>();
  for (const a of holds.filter((h) => h.ok)) {
    for (const seat of (a.data as { seatIds?: string[] } | undefined)?.seatIds ?? [])
      winners.set(seat, (winners.get(seat) ?? 0) + 1);
  }
  const duplicateSeats = [...winners.values()].filter((n) => n > 1).length;
  const positions = joins
    .filter((j) => j.ok)
    .map((j) => (j.data as { position?: number } | undefined)?.position ?? -1)
    .sort((a, b) => a - b);
  const positionErrors = positions.filter((p, k) => p !== k + 1).length;
  const byCode = (list: typeof holds): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const a of list) out[a.ok ? 'ok' : (a.code ?? '?')] = (out[a.ok ? 'ok' : (a.code ?? '?')] ?? 0) + 1;
    return out;
  };
  const holdCodes = byCode(holds);
  const joinCodes = byCode(joins);
  const supported = features.seats && features.queue;
  const latency = Object.fromEntries(
    [...state.ackLatency.byLabel].map(([k, v]) => [`ack ${k}`, v.summary()]),
  );
  const p99Ack = Math.max(0, ...Object.values(latency).map((l) => l.p99));
  return buildReport(run, {
    scenario: 'contention',
    options: { ...o, features },
    clients: o.clients,
    counts: {
      clients: o.clients,
      connected: state.everUp.size,
      seatHoldAcks: holds.length,
      seatsWon: [...winners.keys()].length,
      duplicateSeats,
      queueJoinAcks: joins.length,
      queuePositions: positions.length,
      queuePositionErrors: positionErrors,
      ...Object.fromEntries(Object.entries(holdCodes).map(([k, v]) => [`seat:hold ${k}`, v])),
      ...Object.fromEntries(Object.entries(joinCodes).map(([k, v]) => [`queue:join ${k}`, v])),
    },
    latency,
    metrics: {
      ...(supported ? { 'duplicate-seats': duplicateSeats, 'queue-position-errors': positionErrors } : {}),
      'p99-ack-ms': p99Ack,
      errors: state.errorCount(),
    },
    notes: supported
      ? [
          defined,
          `${o.clients} users raced for ${o.seats} seats and one queue at the same instant (t=${(raceAt / 1000).toFixed(1)} s).`,
        ]
      : [
          defined,
          `The target does not serve ${!features.seats ? `seat:hold (${features.why.seats ?? '?'})` : ''}${!features.seats && !features.queue ? ' and ' : ''}${!features.queue ? `queue:join (${features.why.queue ?? '?'})` : ''}: correctness NOT checked; counts show what it answered.`,
        ],
    defaultThresholds: supported
      ? [
          ['duplicate-seats', 0],
          ['queue-position-errors', 0],
        ]
      : [],
  });
}
