/**
 * Measurements: HDR histograms (hdr-histogram-js, microsecond resolution, reported in ms) and per-second
 * time series for the charts. Both serialise to plain JSON for the report and for worker messages.
 */
import * as hdr from 'hdr-histogram-js';

/** Percentiles of one latency distribution, in milliseconds. */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** A latency histogram fed in milliseconds. */
export class Latency {
  private readonly h = hdr.build({ lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3 });

  record(ms: number): void {
    this.h.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  add(other: Latency): void {
    this.h.add(other.h);
  }

  get count(): number {
    return this.h.totalCount;
  }

  /** Encodes for a worker message (compressed base64). */
  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.h);
  }

  static decode(text: string): Latency {
    const latency = new Latency();
    latency.h.add(hdr.decodeFromCompressedBase64(text));
    return latency;
  }

  summary(): LatencySummary {
    const ms = (us: number): number => Math.round(us) / 1000;
    const at = (p: number): number => (this.h.totalCount === 0 ? 0 : ms(this.h.getValueAtPercentile(p)));
    return {
      count: this.h.totalCount,
      p50: at(50),
      p90: at(90),
      p99: at(99),
      p999: at(99.9),
      max: this.h.totalCount === 0 ? 0 : ms(this.h.maxValue),
      mean: this.h.totalCount === 0 ? 0 : ms(this.h.mean),
    };
  }
}

/** Latencies by a bounded label (phase, event name, room size). */
export class LatencyByLabel {
  readonly byLabel = new Map<string, Latency>();
  get(label: string): Latency {
    let l = this.byLabel.get(label);
    if (l === undefined) this.byLabel.set(label, (l = new Latency()));
    return l;
  }
  summaries(): Record<string, LatencySummary> {
    return Object.fromEntries([...this.byLabel].map(([k, v]) => [k, v.summary()]));
  }
}

/** One second of the run, as the charts draw it. */
export interface SecondSample {
  /** Seconds since the run started. */
  t: number;
  connected: number;
  handshakes: number;
  restored: number;
  errors: number;
  /** Percentiles of the connect/restore latencies completed in this second (ms). */
  p50: number;
  p99: number;
  max: number;
}

/** Per-second counters and latencies; `connected` is a running gauge. */
export class Timeline {
  private readonly seconds = new Map<
    number,
    { handshakes: number; restored: number; errors: number; latency: Latency; delta: number }
  >();

  private at(tMs: number) {
    const s = Math.max(0, Math.floor(tMs / 1000));
    let b = this.seconds.get(s);
    if (b === undefined)
      this.seconds.set(s, (b = { handshakes: 0, restored: 0, errors: 0, latency: new Latency(), delta: 0 }));
    return b;
  }

  handshake(tMs: number): void {
    this.at(tMs).handshakes++;
  }
  /** A session restored; `stays` false for clients that close right away (they never count as connected). */
  connected(tMs: number, latencyMs: number, stays = true): void {
    const b = this.at(tMs);
    b.restored++;
    if (stays) b.delta++;
    b.latency.record(latencyMs);
  }
  disconnected(tMs: number): void {
    this.at(tMs).delta--;
  }
  error(tMs: number): void {
    this.at(tMs).errors++;
  }

  /** Every second from 0 to the last one seen, gaps filled. */
  samples(): SecondSample[] {
    const last = Math.max(-1, ...this.seconds.keys());
    const out: SecondSample[] = [];
    let connected = 0;
    for (let t = 0; t <= last; t++) {
      const b = this.seconds.get(t);
      connected += b?.delta ?? 0;
      const s = b?.latency.summary();
      out.push({
        t,
        connected,
        handshakes: b?.handshakes ?? 0,
        restored: b?.restored ?? 0,
        errors: b?.errors ?? 0,
        p50: s?.p50 ?? 0,
        p99: s?.p99 ?? 0,
        max: s?.max ?? 0,
      });
    }
    return out;
  }

  /** The highest handshakes in any one second. */
  peakHandshakesPerSecond(): number {
    return Math.max(0, ...[...this.seconds.values()].map((b) => b.handshakes));
  }
}

/** Time (ms from `fromMs`) by which `fraction` of `total` events had happened; undefined if never. */
export function timeToFraction(timesMs: readonly number[], total: number, fraction: number, fromMs = 0) {
  if (total === 0) return 0;
  const sorted = [...timesMs].sort((a, b) => a - b);
  const need = Math.ceil(total * fraction);
  const t = sorted[need - 1];
  return t === undefined ? undefined : Math.round(t - fromMs);
}
