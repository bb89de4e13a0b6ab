/**
 * SLO gates: `--slo p99-restore-ms=2000,never-restored=0` checks named report metrics against thresholds;
 * any failure makes the CLI exit 1, so a run can gate CI. A threshold on a metric the scenario did not
 * measure fails too (a gate that silently passes is worse than none).
 */

/** Every metric a threshold may name, and which way is good. */
export const SLO_METRICS = {
  'p50-connect-ms': 'max',
  'p99-connect-ms': 'max',
  'p99-restore-ms': 'max',
  'p999-restore-ms': 'max',
  'max-restore-ms': 'max',
  'time-to-95-ms': 'max',
  'time-to-99-ms': 'max',
  'time-to-100-ms': 'max',
  'never-restored': 'max',
  mismatches: 'max',
  'duplicate-seats': 'max',
  'queue-position-errors': 'max',
  errors: 'max',
  'connect-failures': 'max',
  'p99-ack-ms': 'max',
  'fanout-p99-ms': 'max',
  'fanout-p999-ms': 'max',
  'delivery-ratio': 'min',
  'fanout-duplicates': 'max',
  /** fanout: messages that arrived after a later one of their stream (by trailing positions). */
  'fanout-reordered': 'max',
  'knee-per-second': 'min',
  /** Storm with --stock: the gateway's per-client drop → restored p99 over stock Socket.IO's drop → ready p99. */
  'p99-restore-vs-stock': 'max',
  /** abuse: the highest attack phase's control p99 divided by the baseline's. */
  'p99-ratio': 'max',
} as const;

export type SloMetric = keyof typeof SLO_METRICS;

export interface SloCheck {
  metric: string;
  threshold: number;
  /** `<=` for most metrics, `>=` for ratios and rates. */
  op: '<=' | '>=';
  actual: number | null;
  pass: boolean;
}

/** Parses `a=1,b=2` into thresholds; throws naming unknown metrics and the known ones. */
export function parseSlo(text: string | undefined): Map<SloMetric, number> {
  const out = new Map<SloMetric, number>();
  if (text === undefined || text.trim() === '') return out;
  for (const part of text.split(',')) {
    const [name, value] = part.split('=').map((x) => x.trim());
    if (name === undefined || !Object.hasOwn(SLO_METRICS, name))
      throw new Error(`unknown SLO metric "${name ?? ''}"; known: ${Object.keys(SLO_METRICS).join(', ')}`);
    const n = Number(value);
    if (value === undefined || value === '' || !Number.isFinite(n))
      throw new Error(`SLO ${name} needs a number`);
    out.set(name as SloMetric, n);
  }
  return out;
}

/** Checks `thresholds` against the measured `metrics` (a metric absent from the run fails). */
export function checkSlo(
  thresholds: ReadonlyMap<SloMetric, number>,
  metrics: Partial<Record<SloMetric, number>>,
): SloCheck[] {
  return [...thresholds].map(([metric, threshold]) => {
    const actual = metrics[metric];
    const op = SLO_METRICS[metric] === 'min' ? '>=' : '<=';
    const pass =
      actual !== undefined &&
      Number.isFinite(actual) &&
      (op === '<=' ? actual <= threshold : actual >= threshold);
    return { metric, threshold, op, actual: actual ?? null, pass };
  });
}
