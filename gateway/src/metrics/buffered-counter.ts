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
import { Counter, type CounterConfiguration, type LabelValues } from 'prom-client';

interface Pending<T extends string> {
  labels: LabelValues<T>;
  value: number;
}

type Inc<T extends string> = (labels?: LabelValues<T> | number, value?: number) => void;

export class BufferedCounter<T extends string = string> extends Counter<T> {
  private readonly labelNamesInOrder: readonly string[];
  private readonly pending = new Map<string, Pending<T>>();
  /** prom-client's own increment. */
  private readonly direct: Inc<T>;

  constructor(config: CounterConfiguration<T>) {
    super(config);
    this.labelNamesInOrder = config.labelNames ?? [];
    // prom-client's constructor sets `inc` on the instance (to its with- or without-exemplar variant), so
    // a method override would never be called: the instance's `inc` is replaced instead, keeping theirs.
    this.direct = (this.inc as Inc<T>).bind(this);
    // With exemplars, `inc` takes an object of another shape: leave all of it to prom-client.
    if (config.enableExemplars !== true && this.labelNamesInOrder.length > 0)
      this.inc = this.buffered.bind(this) as Counter<T>['inc'];
  }

  private buffered(labels?: LabelValues<T> | number, value?: number): void {
    if (typeof labels !== 'object' || (value !== undefined && !(Number.isFinite(value) && value >= 0))) {
      // prom-client's own path: unlabelled increments, and the values it refuses (it throws).
      this.direct(labels, value);
      return;
    }
    let key = '';
    for (const name of this.labelNamesInOrder) {
      const v = (labels as Record<string, unknown>)[name];
      // Only strings and numbers are keyed here (prom-client prints both alike); anything else goes through.
      if (typeof v !== 'string' && typeof v !== 'number') {
        this.direct(labels, value);
        return;
      }
      key += `${v}\u0000`;
    }
    const entry = this.pending.get(key);
    if (entry === undefined) {
      // First time: prom-client validates the names and creates the series now, as a plain Counter would.
      this.direct(labels, value);
      this.pending.set(key, { labels: { ...labels }, value: 0 });
      return;
    }
    entry.value += value ?? 1;
  }

  /** Hands the sums to prom-client. */
  private flushPending(): void {
    for (const entry of this.pending.values())
      if (entry.value > 0) {
        this.direct(entry.labels, entry.value);
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
