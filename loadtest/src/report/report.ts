/**
 * The report every scenario produces: one JSON document (`--json`), rendered to a self-contained HTML page
 * (`--html`), summarised on stdout. Field meanings are documented in loadtest/README.md.
 */
import { writeFileSync } from 'node:fs';
import type { Limiter, ProbeSample } from '../probes.ts';
import type { SloCheck, SloMetric } from './slo.ts';
import type { LatencySummary, SecondSample } from './stats.ts';

export interface Table {
  title: string;
  columns: string[];
  rows: (string | number | null)[][];
}

export interface Report {
  tool: 'stayline-loadtest';
  version: 1;
  scenario: string;
  command: string;
  startedAt: string;
  durationSeconds: number;
  target: {
    urls: string[];
    /**
     * Nodes started with --start-cluster, and the admission limits they ran with (a value absent: the
     * gateway's own default). --start-cluster relaxes them unless --cluster-env names them.
     */
    localCluster: { nodes: number; limits: Partial<Record<AdmissionLimit, string>> } | null;
  };
  options: Record<string, unknown>;
  clients: { total: number; workers: number; peakConcurrent: number };
  /** Scenario counts (restored, neverRestored, mismatches ...). */
  counts: Record<string, number>;
  errorsByCode: Record<string, number>;
  /** Latency distributions in ms, by name. */
  latency: Record<string, LatencySummary>;
  /** The numbers SLO thresholds may name. */
  metrics: Partial<Record<SloMetric, number>>;
  slo: { checks: SloCheck[]; pass: boolean };
  timeline: SecondSample[];
  probes: ProbeSample[];
  limiter: Limiter;
  tables: Table[];
  /** Moments to mark on the charts (seconds since the run start). */
  markers: { t: number; label: string }[];
  notes: string[];
}

export function writeJson(path: string, report: Report): void {
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}

const fmt = (v: number | null | undefined): string =>
  v === null || v === undefined ? '—' : Number.isInteger(v) ? String(v) : v.toFixed(2);

/** A short plain-text summary for stdout. */
export function summaryText(report: Report): string {
  const lines = [
    `${report.scenario}: ${report.clients.total} clients, ${report.durationSeconds.toFixed(1)} s`,
  ];
  lines.push(
    `  counts: ${Object.entries(report.counts)
      .map(([k, v]) => `${k}=${fmt(v)}`)
      .join(' ')}`,
  );
  if (Object.keys(report.errorsByCode).length > 0)
    lines.push(
      `  errors: ${Object.entries(report.errorsByCode)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
  for (const [name, l] of Object.entries(report.latency)) {
    lines.push(
      `  ${name}: n=${l.count} p50=${fmt(l.p50)} p90=${fmt(l.p90)} p99=${fmt(l.p99)} p99.9=${fmt(l.p999)} max=${fmt(l.max)} ms`,
    );
  }
  for (const t of report.tables) {
    lines.push(`  ${t.title}`);
    lines.push(`    ${t.columns.join(' | ')}`);
    for (const row of t.rows)
      lines.push(`    ${row.map((c) => (typeof c === 'number' ? fmt(c) : (c ?? '—'))).join(' | ')}`);
  }
  lines.push(`  limited by: ${report.limiter.limitedBy}`);
  for (const c of report.slo.checks)
    lines.push(`  SLO ${c.pass ? 'pass' : 'FAIL'}: ${c.metric} ${fmt(c.actual)} ${c.op} ${c.threshold}`);
  for (const n of report.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}

/** The gateway settings that decide how fast a node admits handshakes and events. */
export const ADMISSION_LIMITS = ['HANDSHAKES_PER_SECOND', 'EVENTS_PER_SECOND', 'EVENTS_BURST'] as const;
export type AdmissionLimit = (typeof ADMISSION_LIMITS)[number];
