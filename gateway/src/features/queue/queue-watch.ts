/**
 * The throttled `queue:position` pushes of one node. The node watches only its own locally connected
 * queued users; once per interval, per event, it reads their positions in one round trip and
 * pushes (to this node's sockets only) just the positions that changed. So a user hears at most one
 * `queue:position` per event per interval, and a 10,000-person queue costs each node one round trip per
 * event per interval, sized by its own share of the queue.
 *
 * A change of the queue's size alone (people joining behind, or leaving) is pushed at most once per
 * `sizeOnlyEveryMs`: while a queue fills, every size changes every interval, and telling all of them each
 * time would be one message per queued user per interval for a number they barely need.
 */
import type { EventId, QueuePlace, UserId } from '@stayline/client-sdk/protocol';
import type { ClaimStore } from '../../session/claim-store.ts';

interface Told {
  /** 0: nothing told yet. */
  position: number;
  size: number;
  at: number;
}

export class QueueWatch {
  /** eventId -> userId -> what the user was last told, and when. */
  private readonly watched = new Map<EventId, Map<UserId, Told>>();

  constructor(
    private readonly sizeOnlyEveryMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts watching (the user is queued and connected here); `told` is what the ack or restore said. */
  watch(eventId: EventId, userId: UserId, told?: QueuePlace): void {
    let users = this.watched.get(eventId);
    if (!users) this.watched.set(eventId, (users = new Map<UserId, Told>()));
    users.set(userId, { position: told?.position ?? 0, size: told?.size ?? 0, at: this.now() });
  }

  unwatch(eventId: EventId, userId: UserId): void {
    const users = this.watched.get(eventId);
    users?.delete(userId);
    if (users?.size === 0) this.watched.delete(eventId);
  }

  /** The user has no socket on this node any more. */
  forgetUser(userId: UserId): void {
    for (const eventId of [...this.watched.keys()]) this.unwatch(eventId, userId);
  }

  get size(): number {
    let n = 0;
    for (const users of this.watched.values()) n += users.size;
    return n;
  }

  /**
   * One round: per watched event, one read (one round trip); `push` is called for each changed position. Users no
   * longer queued (admitted, left elsewhere, dropped) stop being watched. Returns the number of pushes.
   */
  async tick(store: ClaimStore, push: (userId: UserId, place: QueuePlace) => void): Promise<number> {
    let pushes = 0;
    const now = this.now();
    await Promise.all(
      [...this.watched].map(async ([eventId, users]) => {
        const ids = [...users.keys()];
        const { size, positions } = await store.queuePositions(eventId, ids);
        for (const userId of ids) {
          const position = positions.get(userId);
          if (!users.has(userId)) continue; // unwatched meanwhile
          if (position === undefined) {
            this.unwatch(eventId, userId);
            continue;
          }
          const told = users.get(userId);
          const moved = told === undefined || told.position !== position;
          if (!moved && (told.size === size || now - told.at < this.sizeOnlyEveryMs)) continue;
          users.set(userId, { position, size, at: now });
          push(userId, { eventId, position, size });
          pushes += 1;
        }
      }),
    );
    return pushes;
  }
}
