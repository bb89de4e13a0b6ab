/**
 * A prom-client Counter for the per-request paths. prom-client hashes and validates the label object on
 * every `inc` (its `labels()` children do the same: they only bind the object); with four labelled
 * counters per `seat:hold` that was ~2 % of the node's CPU in the queue-seats bench. This one adds to a
 * plain number per label combination and hands the sums to prom-client when the counter is read (`get`,
 * which every registry read calls first), so /metrics shows exactly what the plain Counter would.
 *
 * A combination's first increment goes through prom-client (which validates its label names and creates
 * the series at once); later ones are summed here. Anything else (no labels, a value prom-client would
 * refuse, exemplars) goes straight to prom-client. Imports prom-client only.
 */
import {
  Counter,
  type CounterConfiguration,
  type IncreaseDataWithExemplar,
  type LabelValues,
} from 'prom-client';

interface Pending<T extends string> {
  labels: LabelValues<T>;
  value: number;
}

export class BufferedCounter<T extends string = string> extends Counter<T> {
  private readonly labelNamesInOrder: readonly string[];
  private readonly buffered: boolean;
  private readonly pending = new Map<string, Pending<T>>();

  constructor(config: CounterConfiguration<T>) {
    super(config);
    this.labelNamesInOrder = config.labelNames ?? [];
    // With exemplars, `inc` takes an object of another shape: leave all of it to prom-client.
    this.buffered = config.enableExemplars !== true && this.labelNamesInOrder.length > 0;
  }

  override inc(labels?: LabelValues<T> | number | IncreaseDataWithExemplar<T>, value?: number): void {
    if (
      !this.buffered ||
      typeof labels !== 'object' ||
      (value !== undefined && !(Number.isFinite(value) && value >= 0))
    ) {
      // prom-client's own path: unlabelled increments, and the values it refuses (it throws).
      super.inc(labels as LabelValues<T>, value);
      return;
    }
    // Exemplars are off (checked above): an object is the label values, as prom-client reads it too.
    const values = labels as LabelValues<T>;
    let key = '';
    for (const name of this.labelNamesInOrder) {
      const v = (values as Record<string, unknown>)[name];
      // Only strings and numbers are keyed here (prom-client prints both alike); anything else goes through.
      if (typeof v !== 'string' && typeof v !== 'number') {
        super.inc(values, value);
        return;
      }
      key += `${v}\u0000`;
    }
    const entry = this.pending.get(key);
    if (entry === undefined) {
      // First time: prom-client validates the names and creates the series now, as a plain Counter would.
      super.inc(values, value);
      this.pending.set(key, { labels: { ...values }, value: 0 });
      return;
    }
    entry.value += value ?? 1;
  }

  /** Hands the sums to prom-client. */
  private flushPending(): void {
    for (const entry of this.pending.values())
      if (entry.value > 0) {
        super.inc(entry.labels, entry.value);
        entry.value = 0;
      }
  }

  override get(): ReturnType<Counter<T>['get']> {
    this.flushPending();
    return super.get();
  }

  override reset(): void {
    // prom-client's constructor calls reset() before this class's fields exist.
    (this.pending as typeof this.pending | undefined)?.clear();
    super.reset();
  }

  override remove(...args: [LabelValues<T>] | string[]): void {
    // Sums go in first, so removing a series removes everything counted under it; its next increment
    // creates it again (through prom-client, as the first did).
    this.flushPending();
    this.pending.clear();
    (super.remove as (...a: unknown[]) => void)(...args);
  }
}
