/**
 * Everything one run learns from its clients' records: counts, latency histograms, the per-second
 * timeline, errors by code, restore checks and the seat map for duplicate detection. Also renders the
 * live progress line.
 */
import type { MismatchKind } from './state-check.ts';
import { Latency, LatencyByLabel, Timeline } from './report/stats.ts';
import type { ClientRecord } from './workers/messages.ts';

export class RunState {
  readonly timeline = new Timeline();
  /** First connect: attempt start → session:restored, by client label. */
  readonly connectLatency = new LatencyByLabel();
  /** Drop noticed (or storm caused) → session:restored again. */
  readonly restoreLatency = new Latency();
  /**
   * The attempt that restored a dropped client: its start → session:restored. What the herd adds to each
   * connect, apart from the backoff wait before it (drop → restored is both).
   */
  readonly reconnectLatency = new Latency();
  /**
   * Of that attempt, its start → the node's Engine.IO open packet: how long the node took to accept and
   * upgrade the connection (its accept queue, in a herd) before the CONNECT and the restore (lean client).
   */
  readonly reconnectOpenLatency = new Latency();
  readonly ackLatency = new LatencyByLabel();
  readonly errors = new Map<string, number>();
  readonly mismatches = new Map<MismatchKind, number>();
  mismatchedClients = 0;
  attempts = 0;
  readonly attemptsByLabel = new Map<string, number>();
  readonly up = new Set<number>();
  readonly everUp = new Set<number>();
  /** Clients down now (id → when they went down). */
  readonly downSince = new Map<number, number>();
  readonly droppedIds = new Set<number>();
  /** Times (ms since run start) at which dropped clients came back. */
  readonly restoredAt = new Map<number, number>();
  readonly firstUpAt = new Map<number, number>();
  readonly ready = new Set<number>();
  /** Clients with at least one failed connect attempt. */
  readonly failed = new Set<number>();
  /** Clients that stopped for good as their policy says (id → the code that stopped them). */
  readonly stranded = new Map<number, string>();
  /** `eventId/seatId` → user ids holding it in a restored session. */
  readonly restoredSeats = new Map<string, Set<number>>();
  /** seat → holders, from the setup acks (snapshot). */
  readonly snapshotSeats = new Map<string, Set<number>>();
  readonly acks: Extract<ClientRecord, { k: 'ack' }>[] = [];
  readonly ends = new Map<string, number>();
  readonly downReasons = new Map<string, number>();
  peakUp = 0;
  attemptsAfterStorm = 0;
  /** The first reconnect attempt of each dropped client (its arrival, for the fresh-connect baseline). */
  readonly firstRetryAt = new Map<number, number>();
  /** When set, only records after this time count as a storm (drops before it are setup noise). */
  stormAt: number | undefined;
  keepAcks = false;
  private lastProgress = { t: 0, restored: 0 };

  onRecord(r: ClientRecord): void {
    switch (r.k) {
      case 'hs':
        this.attempts++;
        if (this.stormAt !== undefined && r.t >= this.stormAt && r.label !== 'baseline') {
          this.attemptsAfterStorm++;
          if (this.droppedIds.has(r.id) && !this.firstRetryAt.has(r.id)) this.firstRetryAt.set(r.id, r.t);
        }
        this.attemptsByLabel.set(r.label, (this.attemptsByLabel.get(r.label) ?? 0) + 1);
        this.timeline.handshake(r.t);
        return;
      case 'up': {
        if (!r.closing) this.up.add(r.id);
        this.everUp.add(r.id);
        this.peakUp = Math.max(this.peakUp, this.up.size);
        const since = r.sinceDropMs;
        if (r.first) {
          this.firstUpAt.set(r.id, r.t);
          this.connectLatency.get(r.label).record(r.ms);
          this.connectLatency.get('all').record(r.ms);
          this.timeline.connected(r.t, r.ms, r.closing !== true);
        } else {
          this.timeline.connected(r.t, since ?? r.ms);
          if (since !== undefined) {
            this.restoreLatency.record(since);
            this.reconnectLatency.record(r.ms);
            if (r.openMs !== undefined) this.reconnectOpenLatency.record(r.openMs);
          }
          this.restoredAt.set(r.id, r.t);
        }
        this.downSince.delete(r.id);
        if (r.mismatch && r.mismatch.length > 0) {
          this.mismatchedClients++;
          for (const kind of r.mismatch) this.mismatches.set(kind, (this.mismatches.get(kind) ?? 0) + 1);
        }
        for (const seat of r.seats ?? []) {
          let holders = this.restoredSeats.get(seat);
          if (!holders) this.restoredSeats.set(seat, (holders = new Set()));
          holders.add(r.id);
        }
        return;
      }
      case 'ready':
        this.ready.add(r.id);
        for (const h of r.snapshot.holds) {
          for (const seat of h.seatIds) {
            const key = `${h.eventId}/${seat}`;
            let holders = this.snapshotSeats.get(key);
            if (!holders) this.snapshotSeats.set(key, (holders = new Set()));
            holders.add(r.id);
          }
        }
        return;
      case 'ack':
        this.ackLatency.get(r.event).record(r.ms);
        if (this.keepAcks) this.acks.push(r);
        return;
      case 'err':
        if (r.stage === 'connect') this.failed.add(r.id);
        this.errors.set(r.code, (this.errors.get(r.code) ?? 0) + 1);
        this.timeline.error(r.t);
        return;
      case 'down':
        if (this.up.delete(r.id)) this.timeline.disconnected(r.t);
        this.downSince.set(r.id, r.t);
        this.downReasons.set(r.reason, (this.downReasons.get(r.reason) ?? 0) + 1);
        if (this.stormAt === undefined || r.t >= this.stormAt - 50) this.droppedIds.add(r.id);
        return;
      case 'stranded':
        this.stranded.set(r.id, r.code);
        // Not restoring any more: it will not come back by itself (it still counts as never restored).
        this.downSince.delete(r.id);
        return;
      case 'end':
        this.ends.set(r.state, (this.ends.get(r.state) ?? 0) + 1);
        return;
    }
  }

  /** Stranded clients by the code that stopped them. */
  strandedByCode(): Map<string, number> {
    const out = new Map<string, number>();
    for (const code of this.stranded.values()) out.set(code, (out.get(code) ?? 0) + 1);
    return out;
  }

  errorCount(): number {
    return [...this.errors.values()].reduce((a, b) => a + b, 0);
  }

  /** Seats with more than one holder, before (snapshot) and after (restored sessions). */
  duplicateSeats(): number {
    const dup = (m: Map<string, Set<number>>): number => [...m.values()].filter((s) => s.size > 1).length;
    return dup(this.snapshotSeats) + dup(this.restoredSeats);
  }

  /** `connected 1234 | restoring 56 | restored 789 | errors 3 | 1,020/s` for stderr. */
  progress(nowMs: number): string {
    const restored = this.restoredAt.size;
    const dt = Math.max(0.001, (nowMs - this.lastProgress.t) / 1000);
    const rate = (this.everUp.size + restored - this.lastProgress.restored) / dt;
    this.lastProgress = { t: nowMs, restored: this.everUp.size + restored };
    const stranded = this.stranded.size > 0 ? ` | stranded ${this.stranded.size}` : '';
    return `[${(nowMs / 1000).toFixed(1)}s] connected ${this.up.size} | restoring ${this.downSince.size} | restored ${restored}${stranded} | errors ${this.errorCount()} | ${rate.toFixed(0)}/s`;
  }
}
