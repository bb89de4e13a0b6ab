/**
 * One self-contained HTML page per report: tables and inline SVG line charts drawn here (no script, no
 * CDN), so the file can be mailed, attached to CI or opened offline.
 */
import { writeFileSync } from 'node:fs';
import type { Report, Table } from './report.ts';

const esc = (s: unknown): string =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

interface Series {
  name: string;
  color: string;
  points: [number, number][];
}

const W = 720;
const H = 220;
const PAD = { l: 56, r: 12, t: 24, b: 28 };

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= v) ?? v;
}

/** A line chart of `series` over seconds, with vertical `markers`. */
export function lineChart(title: string, unit: string, series: Series[], markers: Report['markers']): string {
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xMax = Math.max(1, ...xs);
  const yMax = niceMax(Math.max(0, ...ys));
  const x = (v: number): number => PAD.l + (v / xMax) * (W - PAD.l - PAD.r);
  const y = (v: number): number => H - PAD.b - (v / yMax) * (H - PAD.t - PAD.b);
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const v = yMax * f;
      return `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e7eb"/><text x="${PAD.l - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11" fill="#6b7280">${esc(+v.toPrecision(3))}</text>`;
    })
    .join('');
  const xTicks = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (f) =>
        `<text x="${x(xMax * f)}" y="${H - 8}" text-anchor="middle" font-size="11" fill="#6b7280">${(xMax * f).toFixed(0)}s</text>`,
    )
    .join('');
  const lines = series
    .filter((s) => s.points.length > 0)
    .map(
      (s) =>
        `<polyline fill="none" stroke="${s.color}" stroke-width="1.8" points="${s.points.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ')}"/>`,
    )
    .join('');
  const marks = markers
    .map(
      (m) =>
        `<line x1="${x(m.t)}" x2="${x(m.t)}" y1="${PAD.t}" y2="${H - PAD.b}" stroke="#dc2626" stroke-dasharray="4 3"/><text x="${x(m.t) + 4}" y="${PAD.t + 10}" font-size="11" fill="#dc2626">${esc(m.label)}</text>`,
    )
    .join('');
  const legend = series
    .map(
      (s, i) =>
        `<rect x="${PAD.l + i * 150}" y="6" width="10" height="10" fill="${s.color}"/><text x="${PAD.l + i * 150 + 14}" y="15" font-size="12">${esc(s.name)}</text>`,
    )
    .join('');
  return `<figure><figcaption>${esc(title)} <small>(${esc(unit)})</small></figcaption><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${grid}${xTicks}${lines}${marks}${legend}</svg></figure>`;
}

function table(t: Table): string {
  const cell = (c: string | number | null): string =>
    c === null ? '—' : typeof c === 'number' ? (Number.isInteger(c) ? String(c) : c.toFixed(2)) : esc(c);
  return `<h3>${esc(t.title)}</h3><table><thead><tr>${t.columns.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${t.rows
    .map((r) => `<tr>${r.map((c) => `<td>${cell(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

export function renderHtml(report: Report): string {
  const tl = report.timeline;
  const pts = (f: (s: (typeof tl)[number]) => number): [number, number][] => tl.map((s) => [s.t, f(s)]);
  const probes = report.probes;
  const nodeUrls = [...new Set(probes.flatMap((p) => p.nodes.map((n) => n.url)))];
  const palette = ['#2563eb', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#be123c'];
  const charts = [
    lineChart(
      'Connected clients',
      'clients',
      [{ name: 'connected', color: '#2563eb', points: pts((s) => s.connected) }],
      report.markers,
    ),
    lineChart(
      'Handshakes and restores per second',
      'per second',
      [
        { name: 'handshake attempts', color: '#ea580c', points: pts((s) => s.handshakes) },
        { name: 'sessions restored', color: '#16a34a', points: pts((s) => s.restored) },
      ],
      report.markers,
    ),
    lineChart(
      'Connect / restore latency of sessions completed each second',
      'ms',
      [
        { name: 'p50', color: '#2563eb', points: pts((s) => s.p50) },
        { name: 'p99', color: '#9333ea', points: pts((s) => s.p99) },
        { name: 'max', color: '#9ca3af', points: pts((s) => s.max) },
      ],
      report.markers,
    ),
    lineChart(
      'Errors per second',
      'per second',
      [{ name: 'errors', color: '#dc2626', points: pts((s) => s.errors) }],
      report.markers,
    ),
    lineChart(
      'CPU',
      'cores',
      [
        { name: 'tester', color: '#ea580c', points: probes.map((p) => [p.t, p.testerCores]) },
        ...nodeUrls.map((url, i) => ({
          name: url.replace('http://', ''),
          color: palette[i % palette.length] ?? '#000',
          points: probes.flatMap((p) =>
            p.nodes.filter((n) => n.url === url).map((n): [number, number] => [p.t, n.cores]),
          ),
        })),
        ...(probes.some((p) => p.redisCores !== undefined)
          ? [
              {
                name: 'redis',
                color: '#dc2626',
                points: probes.map((p): [number, number] => [p.t, p.redisCores ?? 0]),
              },
            ]
          : []),
      ],
      report.markers,
    ),
    lineChart(
      'Gateway event-loop lag p99',
      'ms',
      nodeUrls.map((url, i) => ({
        name: url.replace('http://', ''),
        color: palette[i % palette.length] ?? '#000',
        points: probes.flatMap((p) =>
          p.nodes.filter((n) => n.url === url).map((n): [number, number] => [p.t, n.lagP99Ms]),
        ),
      })),
      report.markers,
    ),
  ];
  const sloRows: Table = {
    title: `SLO checks: ${report.slo.pass ? 'PASS' : 'FAIL'}`,
    columns: ['metric', 'actual', 'op', 'threshold', 'result'],
    rows: report.slo.checks.map((c) => [c.metric, c.actual, c.op, c.threshold, c.pass ? 'pass' : 'FAIL']),
  };
  const latencyTable: Table = {
    title: 'Latency (ms, HDR histograms)',
    columns: ['measure', 'count', 'p50', 'p90', 'p99', 'p99.9', 'max'],
    rows: Object.entries(report.latency).map(([k, l]) => [k, l.count, l.p50, l.p90, l.p99, l.p999, l.max]),
  };
  const counts: Table = { title: 'Counts', columns: ['count', 'value'], rows: Object.entries(report.counts) };
  const errors: Table = {
    title: 'Errors by code',
    columns: ['code', 'count'],
    rows: Object.entries(report.errorsByCode),
  };
  const limiter: Table = {
    title: 'What limited the run',
    columns: ['measure', 'value'],
    rows: [
      ['verdict', report.limiter.limitedBy],
      ['peak tester CPU (cores)', report.limiter.peakTesterCores],
      ['peak busiest client worker (cores)', report.limiter.peakWorkerCores],
      [
        'listen-queue overflows during the run (machine-wide)',
        report.limiter.listenOverflowsDuringRun ?? null,
      ],
      ['peak gateway CPU (cores, one node)', report.limiter.peakNodeCores],
      ['peak gateway event-loop lag p99 (ms)', report.limiter.peakNodeLagP99Ms],
      ['peak Redis CPU (cores)', report.limiter.peakRedisCores ?? null],
      ['machine cores', report.limiter.machineCores],
      ['peak connections per source/destination pair', report.limiter.ports.peakPerPair],
      ['ephemeral ports per pair', report.limiter.ports.ephemeralRange],
    ],
  };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stayline loadtest: ${esc(report.scenario)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:960px;color:#111827}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #e5e7eb;padding:3px 8px;text-align:left}
th{background:#f9fafb}figure{margin:12px 0}figcaption{font-weight:600}code{background:#f3f4f6;padding:1px 4px}
.pass{color:#16a34a}.fail{color:#dc2626}
</style></head><body>
<h1>Stayline loadtest: ${esc(report.scenario)} <span class="${report.slo.pass ? 'pass' : 'fail'}">${report.slo.pass ? 'PASS' : 'FAIL'}</span></h1>
<p>Started ${esc(report.startedAt)}, ran ${report.durationSeconds.toFixed(1)} s; ${report.clients.total} clients over ${report.clients.workers} worker processes, peak ${report.clients.peakConcurrent} connected.
Target: ${esc(report.target.localCluster ? `local cluster of ${report.target.localCluster.nodes} nodes` : report.target.urls.join(', '))}.</p>
<p><code>${esc(report.command)}</code></p>
${table(sloRows)}${table(counts)}${errors.rows.length > 0 ? table(errors) : ''}${table(latencyTable)}
${report.tables.map(table).join('\n')}
<h2>Over time</h2>
${charts.join('\n')}
${table(limiter)}
${report.notes.length > 0 ? `<h2>Notes</h2><ul>${report.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
</body></html>
`;
}

export function writeHtml(path: string, report: Report): void {
  writeFileSync(path, renderHtml(report));
}
