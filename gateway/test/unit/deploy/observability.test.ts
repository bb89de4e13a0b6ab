/**
 * The Grafana dashboard and the Prometheus alert rules query only metrics the gateway really exports:
 * every `stayline_*` name in them is checked against the exposition of a fresh metrics registry (the same
 * createGatewayMetrics the gateway serves on /metrics, Node's default metrics included).
 */
import { describe, expect, it } from 'vitest';
import { createGatewayMetrics } from '../../../src/metrics/gateway-metrics.ts';
import { readDeploy, readYaml } from './deploy-files.ts';

interface Rule {
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Every series name /metrics can carry: each metric, and _bucket/_sum/_count for histograms. */
async function exportedNames(): Promise<Set<string>> {
  const metrics = createGatewayMetrics({ nodeId: 'check' });
  const text = await metrics.registry.metrics();
  const names = new Set<string>();
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = match;
    if (name === undefined) continue;
    names.add(name);
    if (type === 'histogram' || type === 'summary')
      for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
  }
  metrics.registry.clear();
  return names;
}

const metricNames = (expr: string): string[] => [...new Set(expr.match(/\bstayline_[a-z0-9_]+/g) ?? [])];

describe('deploy/grafana and deploy/prometheus', () => {
  const dashboard = JSON.parse(readDeploy('grafana/stayline-dashboard.json')) as {
    uid: string;
    panels: { title: string; targets: { expr: string }[] }[];
    templating: { list: { name: string; definition?: string }[] };
  };
  const rules = (
    readYaml('prometheus/alerts.yml') as { groups: { name: string; rules: Rule[] }[] }
  ).groups.flatMap((g) => g.rules);

  it('builds the dashboard from real metric names only', async () => {
    const exported = await exportedNames();
    const used = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricNames(t.expr)));
    used.push(...dashboard.templating.list.flatMap((v) => metricNames(v.definition ?? '')));
    expect(used.length).toBeGreaterThan(20);
    expect([...new Set(used)].filter((n) => !exported.has(n))).toEqual([]);
    expect(dashboard.panels.every((p) => p.targets.length > 0)).toBe(true);
  });

  it('alerts on restore failures, Redis errors, reconnect spikes and event-loop lag, with real metric names', async () => {
    const exported = await exportedNames();
    const used = rules.flatMap((r) => metricNames(r.expr));
    expect([...new Set(used)].filter((n) => !exported.has(n))).toEqual([]);
    const uses = (metric: string) => rules.filter((r) => r.expr.includes(metric)).map((r) => r.alert);
    expect(uses('stayline_restores_total{outcome="error"}')).toContain('StaylineRestoreFailures');
    expect(uses('stayline_redis_errors_total')).toContain('StaylineRedisErrors');
    expect(uses('stayline_restores_total{outcome="recovered"}')).toContain('StaylineReconnectSpike');
    expect(uses('stayline_nodejs_eventloop_lag_p99_seconds')).toEqual(
      expect.arrayContaining(['StaylineEventLoopLag', 'StaylineEventLoopStalled']),
    );
  });

  it('gives every alert a name, a duration, a severity and a summary', () => {
    for (const rule of rules) {
      expect(rule.alert).toMatch(/^Stayline[A-Za-z]+$/);
      expect(rule.for).toMatch(/^\d+[smh]$/);
      expect(['page', 'warning']).toContain(rule.labels?.['severity']);
      expect(rule.annotations?.['summary']?.length ?? 0).toBeGreaterThan(10);
    }
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
  });
});
