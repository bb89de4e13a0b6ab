/**
 * `abuse`: does a hostile client hurt the well-behaved ones? A control group (200 clients over the nodes by
 * default) sends `room:join` / `room:leave` in turn on a fixed schedule (open loop) for the whole run, and
 * its round trips are measured in phases of equal length: a baseline with no attack, then each attack
 * alone, each followed by a recovery phase. The attacks (src/attacks/) run in a child process of their own
 * and report what the server did to them (answers by code, refusals, disconnects, timeouts), whatever it
 * did. Reported per phase: control p50/p99, p99 ÷ baseline p99, errors, control drops; per attack, its
 * counts. `--max-p99-ratio x` fails the run when an attack phase's control p99 passes x × the baseline's.
 * Every phase ends by itself; the whole plan must fit in --max-seconds or the run does not start.
 */
import type { AttackName, AttackParams } from '../attacks/attacks.ts';
import { Latency } from '../report/stats.ts';
import type { Report, Table } from '../report/report.ts';
import { userToken } from '../tokens.ts';
import { AttackProcess } from '../workers/attack-process.ts';
import type { ClientRecord } from '../workers/messages.ts';
import { buildReport, clientSpec, openRun, sleep, waitUntil, type Context } from './context.ts';

export { ATTACKS, type AttackName } from '../attacks/attacks.ts';

export interface AbuseOptions {
  /** Well-behaved clients, spread over the nodes. */
  control: number;
  /** Requests per second per control client. */
  controlRate: number;
  /** Length of the baseline and of each attack phase. */
  phaseSeconds: number;
  /** Length of the recovery phase after each attack (0: none). */
  recoverySeconds: number;
  attacks: AttackName[];
  oversizedAttackers: number;
  oversizedSeats: number;
  oversizedInflight: number;
  bodyStreams: number;
  bodyBytes: number;
  bodyTargets: { method: string; path: string }[];
  idleSockets: number;
  /** Control connects per second at the start. */
  rampPerSecond: number;
  /** A control request (and an attacker's request or connect) without an answer after this long is an error. */
  requestTimeoutMs: number;
  /** Fail when an attack phase's control p99 is over this many times the baseline p99. */
  maxP99Ratio: number | undefined;
  /** The event named by the oversized `seat:hold` (it need not exist). */
  eventId: string;
}

type PhaseKind = 'baseline' | 'attack' | 'recovery';

interface Phase {
  name: string;
  kind: PhaseKind;
  attack: AttackName | undefined;
  /** ms since the run start. */
  start: number;
  end: number;
  latency: Latency;
  requests: number;
  errors: Map<string, number>;
  drops: number;
  attackCounts?: Record<string, number>;
  attackError?: string;
}

/** The part of a phase the verdict needs. */
export interface PhaseLatency {
  kind: PhaseKind;
  /** Round trips measured in the phase. */
  samples: number;
  p99: number;
}

/**
 * Each phase's control p99 divided by the baseline's. A phase in which no round trip completed counts as
 * Infinity (nothing came back); with no baseline sample there is nothing to compare with (undefined).
 * `worst` is the highest ratio over the attack phases (recovery phases are reported, not judged).
 */
export function p99Ratios(phases: readonly PhaseLatency[]): {
  ratios: (number | undefined)[];
  worst: number | undefined;
} {
  const baseline = phases.find((p) => p.kind === 'baseline');
  const base = baseline !== undefined && baseline.samples > 0 && baseline.p99 > 0 ? baseline.p99 : undefined;
  const ratios = phases.map((p) =>
    base === undefined ? undefined : p.samples === 0 ? Infinity : p.p99 / base,
  );
  const attackRatios = ratios.filter((_, i) => phases[i]?.kind === 'attack');
  const worst =
    attackRatios.length === 0 || attackRatios.some((r) => r === undefined)
      ? undefined
      : Math.max(...(attackRatios as number[]));
  return { ratios, worst };
}

/** `sent 12, answer: ok 3, RATE_LIMITED 9` — an attack's counts, grouped by the prefix before `:`. */
export function describeTally(counts: Readonly<Record<string, number>>): string {
  const plain: string[] = [];
  const groups = new Map<string, string[]>();
  for (const [key, n] of Object.entries(counts)) {
    const i = key.indexOf(':');
    if (i < 0) {
      plain.push(`${key} ${n}`);
      continue;
    }
    const group = key.slice(0, i);
    const items = groups.get(group) ?? [];
    items.push(`${key.slice(i + 1)} ${n}`);
    groups.set(group, items);
  }
  return [plain.join(', '), ...[...groups].map(([g, items]) => `${g}: ${items.join(', ')}`)]
    .filter((s) => s.length > 0)
    .join('; ');
}

function plan(o: AbuseOptions): Omit<Phase, 'start' | 'end'>[] {
  const phase = (name: string, kind: PhaseKind, attack?: AttackName): Omit<Phase, 'start' | 'end'> => ({
    name,
    kind,
    attack,
    latency: new Latency(),
    requests: 0,
    errors: new Map(),
    drops: 0,
  });
  const phases = [phase('baseline', 'baseline')];
  for (const a of o.attacks) {
    phases.push(phase(`attack:${a}`, 'attack', a));
    if (o.recoverySeconds > 0) phases.push(phase(`recovery:${a}`, 'recovery'));
  }
  return phases;
}

const lengthMs = (o: AbuseOptions, kind: PhaseKind): number =>
  (kind === 'recovery' ? o.recoverySeconds : o.phaseSeconds) * 1000;

export async function runAbuse(ctx: Context, o: AbuseOptions): Promise<Report> {
  const planned = plan(o);
  const phasesMs = planned.reduce((sum, p) => sum + lengthMs(o, p.kind), 0);
  const connectMs = (o.control / o.rampPerSecond) * 1000;
  // Start-up (workers, connects, warm-up) plus the phases plus the last requests' answers.
  const neededSeconds = Math.ceil((connectMs + phasesMs + o.requestTimeoutMs) / 1000) + 10;
  if (neededSeconds > ctx.maxSeconds)
    throw new Error(
      `abuse needs about ${neededSeconds} s for its phases: raise --max-seconds (${ctx.maxSeconds}) or shorten --phase-seconds / --recovery-seconds`,
    );
  const phases: Phase[] = [];
  const phaseAt = (t: number): Phase | undefined => phases.find((p) => t >= p.start && t < p.end);
  const collect = (r: ClientRecord): void => {
    if (r.label !== 'control') return;
    if (r.k === 'ack') {
      const p = phaseAt(r.t - r.ms);
      if (!p) return;
      p.requests++;
      p.latency.record(r.ms);
      if (!r.ok) p.errors.set(r.code ?? '?', (p.errors.get(r.code ?? '?') ?? 0) + 1);
    } else if (r.k === 'err' && r.stage === 'ack') {
      const p = phaseAt(r.t - (r.ms ?? 0));
      if (!p) return;
      p.requests++;
      p.errors.set(r.code, (p.errors.get(r.code) ?? 0) + 1);
      // A timeout enters the latency at what it waited (a lower bound); a request never sent does not.
      if (r.ms !== undefined && r.code !== 'NOT_CONNECTED') p.latency.record(r.ms);
    } else if (r.k === 'down') {
      const p = phaseAt(r.t);
      if (p) p.drops++;
    }
  };

  const attacker = await AttackProcess.start();
  ctx.onCleanup(() => attacker.close());
  const run = await openRun(ctx, o.control, collect);
  const { state } = run;
  const notes: string[] = [];

  // The control group: staggered schedules, so 200 clients do not all send in the same millisecond.
  const intervalMs = 1000 / o.controlRate;
  const t0 = run.now() + 200;
  run.pool.add(
    Array.from({ length: o.control }, (_, i) => {
      const room = `abuse-control-${i}`;
      return {
        ...clientSpec(ctx, i, {
          label: 'control',
          startAt: t0 + (i * 1000) / o.rampPerSecond,
          reconnect: true,
        }),
        loop: {
          actions: [
            { event: 'room:join' as const, payload: { room } },
            { event: 'room:leave' as const, payload: { room } },
          ],
          intervalMs,
          from: t0 + (i / o.control) * intervalMs,
          until: ctx.maxSeconds * 1000,
          timeoutMs: o.requestTimeoutMs,
        },
      };
    }),
  );
  const allUp = await waitUntil(() => state.everUp.size >= o.control, connectMs * 2 + 15_000);
  if (!allUp) notes.push(`only ${state.everUp.size} of ${o.control} control clients connected in time`);
  await sleep(1000); // warm-up: the loops are running, nothing is measured yet

  const token = (index: number): string =>
    userToken(ctx.tokens, `${ctx.userPrefix}attacker-`, o.control + index).token;
  const params: AttackParams = {
    urls: ctx.urls,
    timeoutMs: o.requestTimeoutMs,
    oversized: {
      tokens: Array.from({ length: o.oversizedAttackers }, (_, k) => token(k)),
      seats: o.oversizedSeats,
      inflight: o.oversizedInflight,
      eventId: o.eventId,
    },
    bodies: { streams: o.bodyStreams, bytes: o.bodyBytes, targets: o.bodyTargets },
    flood: { tokens: ctx.urls.map((_, k) => token(o.oversizedAttackers + k)) },
    idle: { sockets: o.idleSockets },
  };

  let t = run.now();
  for (const p of planned) {
    phases.push({ ...p, start: t, end: t + lengthMs(o, p.kind) });
    t += lengthMs(o, p.kind);
  }
  const reports: Promise<void>[] = [];
  for (const phase of phases) {
    await sleep(phase.start - run.now());
    run.markers.push({ t: phase.start / 1000, label: phase.name });
    const attack = phase.attack;
    if (attack !== undefined) {
      reports.push(
        attacker.run(attack, params, run.pool.runStartEpochMs + phase.end).then(
          (counts) => void (phase.attackCounts = counts),
          (err: unknown) => void (phase.attackError = err instanceof Error ? err.message : String(err)),
        ),
      );
    }
  }
  await sleep(t - run.now());
  run.markers.push({ t: t / 1000, label: 'end' });
  // The last phase's requests get their answers (or time out) before the clients are ended.
  await Promise.all([...reports, sleep(o.requestTimeoutMs + 300)]);
  run.pool.end('control');
  await run.finish();
  attacker.close();

  return report(run, o, phases, notes);
}

function report(
  run: Awaited<ReturnType<typeof openRun>>,
  o: AbuseOptions,
  phases: Phase[],
  notes: string[],
): Report {
  const { ctx, state } = run;
  const summaries = phases.map((p) => p.latency.summary());
  const { ratios, worst } = p99Ratios(
    phases.map((p, i) => ({ kind: p.kind, samples: p.latency.count, p99: summaries[i]?.p99 ?? 0 })),
  );
  const errorsOf = (p: Phase): number => [...p.errors.values()].reduce((a, b) => a + b, 0);
  const all = new Latency();
  for (const p of phases) all.add(p.latency);
  const rows: Table['rows'] = phases.map((p, i) => {
    const s = summaries[i];
    const ratio = ratios[i];
    return [
      p.name,
      (p.end - p.start) / 1000,
      p.requests,
      p.latency.count > 0 ? (s?.p50 ?? null) : null,
      p.latency.count > 0 ? (s?.p99 ?? null) : null,
      p.latency.count > 0 ? (s?.max ?? null) : null,
      ratio === undefined || !Number.isFinite(ratio) ? null : Math.round(ratio * 100) / 100,
      errorsOf(p),
      [...p.errors].map(([code, n]) => `${code} ${n}`).join(', ') || null,
      p.drops,
    ];
  });
  const attackRows: Table['rows'] = phases
    .filter((p) => p.attack !== undefined)
    .map((p) => [
      p.attack ?? '',
      p.name,
      p.attackCounts ? describeTally(p.attackCounts) : `no report: ${p.attackError ?? 'unknown'}`,
    ]);
  const attackCounts: Record<string, number> = {};
  for (const p of phases) {
    for (const [key, n] of Object.entries(p.attackCounts ?? {}))
      attackCounts[`${p.attack ?? '?'}:${key}`] = n;
  }
  for (const p of phases) if (p.attackError) notes.push(`attack ${p.attack ?? '?'}: ${p.attackError}`);
  const controlErrors = phases.reduce((sum, p) => sum + errorsOf(p), 0);
  return buildReport(run, {
    scenario: 'abuse',
    options: { ...o },
    clients: o.control,
    counts: {
      control: o.control,
      controlConnected: state.everUp.size,
      controlRequests: phases.reduce((sum, p) => sum + p.requests, 0),
      controlErrors,
      controlDrops: phases.reduce((sum, p) => sum + p.drops, 0),
      ...attackCounts,
    },
    latency: Object.fromEntries(phases.map((p) => [`control ${p.name}`, p.latency.summary()])),
    metrics: {
      ...(worst === undefined ? {} : { 'p99-ratio': worst }),
      'p99-ack-ms': all.summary().p99,
      errors: controlErrors,
    },
    tables: [
      {
        title: 'Control group round trips by phase (request sent → ack, ms)',
        columns: [
          'phase',
          'seconds',
          'requests',
          'p50 ms',
          'p99 ms',
          'max ms',
          'p99 / baseline p99',
          'errors',
          'error codes',
          'control drops',
        ],
        rows,
      },
      { title: 'What the attackers met', columns: ['attack', 'phase', 'counts'], rows: attackRows },
    ],
    notes: [
      ...notes,
      `Control: ${o.control} clients, room:join and room:leave in turn, ${o.controlRate}/s each on a fixed schedule (open loop); a request belongs to the phase in which it was sent. One without an ack within ${o.requestTimeoutMs} ms is an error and enters the latency at what it waited (a lower bound).`,
      'Attackers run in a process of their own on the same machine: on a shared 2-core machine the flood competes with the control clients and the nodes for the cores. Read the probes (tester CPU, node event-loop lag) and limiter.limitedBy before reading a ratio.',
      ...(ctx.cluster
        ? [
            'The started nodes keep the gateway’s own limits (EVENTS_PER_SECOND, EVENTS_BURST, HANDSHAKES_PER_SECOND defaults), unlike other scenarios: the defences under test are the shipped ones.',
          ]
        : []),
    ],
    defaultThresholds: o.maxP99Ratio === undefined ? [] : [['p99-ratio', o.maxP99Ratio]],
  });
}
