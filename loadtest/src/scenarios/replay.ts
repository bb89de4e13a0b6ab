/**
 * `replay <trace.jsonl...>`: replays the connect/disconnect timing of a recorded storm. Each anonymised
 * user of the trace becomes one synthetic user; its connects are opened and its disconnects dropped at the
 * recorded offsets (divided by `--speed`). The trace records when the server saw a connection, so the
 * replay opens it then: the herd arrives as it did, shifted by one handshake. A user's steps keep their
 * order: one whose handshake is slower than the recorded gap plays its next step late, never skips it.
 */
import type { Report } from '../report/report.ts';
import { readTraces, scriptsByUser } from '../trace.ts';
import { buildReport, clientSpec, openRun, waitUntil, type Context } from './context.ts';
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
  const mostConnects = Math.max(0, ...scripts.map(([, s]) => s.filter((x) => x.op === 'connect').length));
  // Every attempt ends in a session or a failed connect: the run is over when all of them have ended.
  let ended = 0;
  const run = await openRun(ctx, scripts.length, (r) => {
    if (r.k === 'up' || (r.k === 'err' && r.stage === 'connect')) ended++;
  });
  const lead = run.now() + 500;
  run.pool.add(
    scripts.map(([, script], i) => ({
      ...clientSpec(ctx, i, { label: 'replay', startAt: lead, reconnect: false }),
      script: script.map((s) => ({ at: lead + s.at, op: s.op })),
    })),
  );
  run.markers.push({ t: lead / 1000, label: 'trace t=0' });
  const { state } = run;
  // A user plays its steps in order, so a slow server delays its later connects (each bounded by the
  // connect timeout) rather than skipping them; waiting for every attempt to end replaces a fixed grace.
  await waitUntil(
    () => run.now() > lead + lastAt && state.attempts >= connects && ended >= state.attempts,
    lastAt + mostConnects * ctx.connectTimeoutMs + 5000,
  );
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
