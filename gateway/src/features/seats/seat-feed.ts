/**
 * One node's coalesced `seat:update`s. The claim store logs every seat change under a version, in the same
 * atomic step as the change (see ClaimStore.seatChanges). This node keeps, for each event its own sockets
 * follow, a cursor into that log; once per interval it reads what changed after the cursor (one read per
 * event) and sends one `seat:update` to its own followers only. So a follower hears at most one update per
 * event per interval, in version order (one reader per socket), however many holds happen and however
 * many nodes there are: the cost is followers × intervals, not holders × followers.
 *
 * A follower that read the map at version V must get every change after V: reading the map steps the
 * cursor back to V when it is ahead (`mapRead`). A follower that still misses something (it read the map
 * elsewhere) sees `since` beyond its version and re-reads the map: the SDK's rule (protocol SeatUpdatePayload).
 */
import type { EventId, SeatUpdatePayload } from '@stayline/client-sdk/protocol';
import { GatewayError } from '../../errors/gateway-error.ts';
import type { ClaimStore } from '../../session/claim-store.ts';

export interface SeatFeedDeps {
  store: Pick<ClaimStore, 'seatChanges'>;
  /** Sends to this node's own sockets in the event's room. */
  emit: (eventId: EventId, payload: SeatUpdatePayload) => void;
  /** Whether the event is defined (a client may join `event:<anything>`; only real events are read). */
  isEvent: (eventId: EventId) => boolean;
}

export class SeatFeed {
  /** eventId -> version sent up to (undefined: not known yet; the next round learns it). */
  private readonly cursors = new Map<EventId, number | undefined>();

  constructor(private readonly deps: SeatFeedDeps) {}

  /**
   * Some socket here follows the event now. The cursor is learnt at once (not at the next round), so a
   * follower that never reads the map still hears about nearly every change after it joined; one that reads
   * the map hears about every change after that read (`mapRead`).
   */
  follow(eventId: EventId): void {
    if (this.cursors.has(eventId)) return;
    this.cursors.set(eventId, undefined);
    this.deps.store.seatChanges(eventId, undefined).then(
      ({ version }) => {
        if (this.cursors.has(eventId) && this.cursors.get(eventId) === undefined)
          this.cursors.set(eventId, version);
      },
      () => undefined, // unknown event or store down: the next round tries again
    );
  }

  /** No socket here follows the event any more. */
  unfollow(eventId: EventId): void {
    this.cursors.delete(eventId);
  }

  /**
   * A follower here read the map at `version`: the next update covers every change after it. (Its socket
   * joined the event's room, synchronously, before the read; if it has left since, there is nothing to do.)
   */
  mapRead(eventId: EventId, version: number): void {
    if (!this.cursors.has(eventId)) return;
    const cursor = this.cursors.get(eventId);
    if (cursor === undefined || cursor > version) this.cursors.set(eventId, version);
  }

  get followed(): number {
    return this.cursors.size;
  }

  /**
   * One round: one read per followed event, one emit per event with changes. Returns the updates sent.
   * An event that fails (store down, deleted) keeps its cursor for the next round without holding up the
   * others; the first failure other than EVENT_UNKNOWN is rethrown after the round.
   */
  async tick(): Promise<number> {
    let sent = 0;
    const results = await Promise.allSettled(
      [...this.cursors].map(async ([eventId, cursor]) => {
        if (!this.deps.isEvent(eventId)) return;
        const changes = await this.deps.store.seatChanges(eventId, cursor);
        if (!this.cursors.has(eventId)) return; // unfollowed meanwhile
        const now = this.cursors.get(eventId);
        // A map read meanwhile may have stepped the cursor back: keep the lower one.
        const next = now !== cursor && now !== undefined ? Math.min(now, changes.version) : changes.version;
        this.cursors.set(eventId, next);
        if (cursor === undefined || changes.version <= cursor) return;
        // Incomplete: `since` = `version` with no seats tells every follower behind it to re-read the map.
        const since = changes.complete ? cursor : changes.version;
        this.deps.emit(eventId, { eventId, since, version: changes.version, seats: changes.seats });
        sent += 1;
      }),
    );
    const failure = results.find(
      (r): r is PromiseRejectedResult =>
        r.status === 'rejected' && !(r.reason instanceof GatewayError && r.reason.code === 'EVENT_UNKNOWN'),
    );
    if (failure) throw failure.reason;
    return sent;
  }
}
