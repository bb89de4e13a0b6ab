/**
 * A tiny `abuse` run through the real CLI against a real gateway it starts: the report has every phase
 * with control round trips in each, each attack ran and its counts add up (every request, body and socket
 * ended in exactly one counted way, whatever the server did to it), and `--max-p99-ratio` gates the exit
 * code. The ratio itself is not judged here (that is the benchmark's job, on an idle machine).
 */
import { describe, expect, it } from 'vitest';
import { runCli } from './support/run-cli.ts';

const sumOf = (counts: Record<string, number>, prefix: string): number =>
  Object.entries(counts)
    .filter(([k]) => k.startsWith(prefix))
    .reduce((a, [, v]) => a + v, 0);

describe('loadtest abuse (tiny scale, a real gateway)', () => {
  it('runs every attack in its phase, counts what the server did to each, and fails an unmeetable p99 ratio', async () => {
    const r = await runCli([
      'abuse',
      '--start-cluster',
      '1',
      '--control',
      '10',
      '--phase-seconds',
      '2',
      '--recovery-seconds',
      '1',
      '--oversized-attackers',
      '2',
      '--oversized-seats',
      '2000',
      '--body-streams',
      '2',
      '--body-mb',
      '1',
      '--idle-sockets',
      '20',
      '--request-timeout-ms',
      '2000',
      '--max-p99-ratio',
      '0.001',
    ]);
    const report = r.report;
    if (!report) throw new Error(`no report:\n${r.output}`);
    // Exit 1: the only check, the ratio, failed (no attack phase can be 1000× faster than the baseline).
    expect(r.code, r.output).toBe(1);
    expect(report.slo.checks).toMatchObject([{ metric: 'p99-ratio', threshold: 0.001, pass: false }]);
    expect(report.metrics['p99-ratio']).toBeGreaterThan(0.001);
    // The abuse scenario's nodes keep the gateway's own limits: nothing relaxed, nothing to warn about.
    expect(report.target.localCluster?.limits).toEqual({});
    expect(report.notes.join(' ')).not.toContain('relaxed admission');

    const phases = report.tables[0]?.rows ?? [];
    expect(phases.map((row) => row[0])).toEqual([
      'baseline',
      'attack:oversized',
      'recovery:oversized',
      'attack:bodies',
      'recovery:bodies',
      'attack:flood',
      'recovery:flood',
      'attack:idle',
      'recovery:idle',
    ]);
    // Control requests were sent (and answered or counted as errors) in every phase.
    for (const row of phases) expect(Number(row[2]), String(row[0])).toBeGreaterThan(0);
    expect(report.latency['control baseline']?.count).toBeGreaterThan(0);

    const c = report.counts;
    expect(c).toMatchObject({ control: 10, controlConnected: 10 });
    const of = (attack: string): Record<string, number> =>
      Object.fromEntries(
        Object.entries(c)
          .filter(([k]) => k.startsWith(`${attack}:`))
          .map(([k, v]) => [k.slice(attack.length + 1), v]),
      );

    // Oversized: each request sent ended exactly one way, and the server reacted to some (answer, refusal, close).
    const oversized = of('oversized');
    expect(oversized['attackers']).toBe(2);
    expect(oversized['sent'] ?? 0).toBe(sumOf(oversized, 'answer:') + (oversized['unanswered-at-end'] ?? 0));
    expect(
      sumOf(oversized, 'answer:') -
        (oversized['answer:timeout'] ?? 0) +
        sumOf(oversized, 'refused:') +
        sumOf(oversized, 'disconnected:'),
    ).toBeGreaterThan(0);

    // Bodies: every request ended in an HTTP status, a connection error, or the deadline; some by the server.
    const bodies = of('bodies');
    expect(bodies['requests']).toBeGreaterThan(0);
    expect(bodies['requests']).toBe(
      sumOf(bodies, 'status:') + sumOf(bodies, 'error:') + (bodies['cut-at-end'] ?? 0),
    );
    expect(sumOf(bodies, 'status:') + sumOf(bodies, 'error:')).toBeGreaterThan(0);

    // Flood: one flooder for the one node; it sent, and the server reacted.
    const flood = of('flood');
    expect(flood['flooders']).toBe(1);
    expect(flood['sent']).toBeGreaterThan(0);
    expect(
      sumOf(flood, 'answer:') + sumOf(flood, 'refused:') + sumOf(flood, 'disconnected:'),
    ).toBeGreaterThan(0);

    // Idle engines: every attempt ended one way, every opened socket was closed by the server or held to the end.
    const idle = of('idle');
    expect(idle['sockets']).toBe(20);
    expect(idle['attempts']).toBeGreaterThanOrEqual(20);
    expect(idle['attempts']).toBe(
      (idle['opened'] ?? 0) +
        sumOf(idle, 'refused:') +
        sumOf(idle, 'error:') +
        (idle['closed-before-open'] ?? 0) +
        (idle['cut-at-end'] ?? 0),
    );
    expect(idle['opened'] ?? 0).toBe((idle['closed-by-server'] ?? 0) + (idle['held-at-end'] ?? 0));

    // The per-attack table says the same, one row per attack.
    expect(report.tables[1]?.rows.map((row) => row[0])).toEqual(['oversized', 'bodies', 'flood', 'idle']);
    expect(r.html).toContain('<svg');
  });
});
