/**
 * One event's change log for the memory claim store, as the Redis store keeps it (lua/claims/prelude.lua's
 * `logged`, seat-changes.lua): one version per seat change, capped, read back as "what changed after a
 * version". Plain data, no clock; used by claim-event-model.ts.
 */
import type { SeatId, SeatStatus } from '@stayline/client-sdk/protocol';
import type { SeatChanges } from './claim-store.ts';
import { SEAT_CHANGES_MAX_VERSIONS, seatStatuses } from './claim-store.ts';

/** About the Redis log's cap; trimmed a tenth at a time. */
const LOG_MAX = 10_000;

export class SeatChangeLog {
  /** The event's change version: 0 before the first change. */
  version = 0;
  private entries: { version: number; seat: SeatId; status: SeatStatus }[] = [];
  /** The log holds every change after this version. */
  private from = 0;

  /** One seat changed: the next version. */
  add(seat: SeatId, status: SeatStatus): void {
    this.version += 1;
    this.entries.push({ version: this.version, seat, status });
    if (this.entries.length > LOG_MAX) {
      const dropped = this.entries.splice(0, LOG_MAX / 10);
      this.from = dropped[dropped.length - 1]?.version ?? this.from;
    }
  }

  /** A new layout (the log has no "removed"): a new version, nothing before it can be listed. */
  reset(): void {
    this.version += 1;
    this.entries = [];
    this.from = this.version;
  }

  /** The seats (those `keep` accepts) that changed after `after`, each with its latest status. */
  changesAfter(after: number | undefined, keep: (seat: SeatId) => boolean): SeatChanges {
    const version = this.version;
    if (after === undefined || after >= version) return { version, complete: true, seats: seatStatuses() };
    if (after < this.from || version - after > SEAT_CHANGES_MAX_VERSIONS)
      return { version, complete: false, seats: seatStatuses() };
    const seats = seatStatuses();
    // Newest first: a seat's first entry is its status at `version`.
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const entry = this.entries[i];
      if (entry === undefined || entry.version <= after) break;
      if (!Object.hasOwn(seats, entry.seat) && keep(entry.seat)) seats[entry.seat] = entry.status;
    }
    return { version, complete: true, seats };
  }
}
