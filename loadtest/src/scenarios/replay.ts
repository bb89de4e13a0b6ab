/**
 * `replay <trace.jsonl...>`: replays the connect/disconnect timing of a recorded storm. Each anonymised
 * user of the trace becomes one synthetic user; its connects are opened and its disconnects dropped at the
 * recorded offsets (divided by `--speed`). The trace records when the server saw a connection, so the
 * replay opens it then: the herd arrives as it did, shifted by one handshake.
 */
import type { Report } from '../report/report.ts';
import { readTraces, scriptsByUser } from '../trace.ts';
import { buildReport, clientSpec, openRun, sleep, waitUntil, type Context } from './context.ts';
import { timeToFraction } from '../report/stats.ts';

export interface ReplayOptions {
  files: string[];
  speed: number;
  /** Replay at most this many users (the first ones to appear). */
  maxUsers: number;
}

export async function runReplay(ctx: Context, o: ReplayOptions): Promise<Report> {
  const events = readTraces(o.files);
  const scripts = [...scriptsByUser(events, o.speed)].slice(0, o.maxUsers);
  const lastAt = Math.max(0, ...scripts.flatMap(([, s]) => s.map((x) => x.at)));
  const connects = scripts.reduce((a, [, s]) => a + s.filter((x) => x.op === 'connect').length, 0);
  const run = await openRun(ctx, scripts.length);
  const lead = run.now() + 500;
  run.pool.add(
    scripts.map(([, script], i) => ({
      ...clientSpec(ctx, i, { label: 'replay', startAt: lead, reconnect: false }),
      script: script.map((s) => ({ at: lead + s.at, op: s.op })),
    })),
  );
  run.markers.push({ t: lead / 1000, label: 'trace t=0' });
  const { state } = run;
  await waitUntil(
    () =>
      run.now() > lead + lastAt + 500 &&
      state.attempts >= connects &&
      state.everUp.size + state.failed.size >= scripts.length,
    lastAt + ctx.connectTimeoutMs + 5000,
  );
  await sleep(500);
  await run.finish();
  const upTimes = [...state.firstUpAt.values(), ...state.restoredAt.values()];
  const sessions = state.timeline.samples().reduce((a, s) => a + s.restored, 0);
  const connectAll = state.connectLatency.get('replay').summary();
  return buildReport(run, {
    scenario: 'replay',
    options: { ...o, events: events.length, traceSeconds: lastAt / 1000 },
    clients: scripts.length,
    counts: {
      users: scripts.length,
      traceEvents: events.length,
      connectsInTrace: connects,
      attempts: state.attempts,
      sessionsRestored: sessions,
      failedUsers: state.failed.size,
      errors: state.errorCount(),
    },
    latency: { 'first connect (attempt → session:restored)': connectAll },
    metrics: {
      'p99-connect-ms': connectAll.p99,
      errors: state.errorCount(),
      ...(upTimes.length > 0
        ? { 'time-to-100-ms': timeToFraction(upTimes, upTimes.length, 1, lead) ?? NaN }
        : {}),
    },
    notes: [`Replayed ${o.files.join(', ')} at ${o.speed}× speed.`],
  });
}
