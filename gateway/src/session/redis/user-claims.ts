/**
 * The Redis claim store's read of one user's claims at a restore: their queue places, holds and admissions
 * in every event their claims index names, one read per event (each event's own slot), all at once; the
 * reads of a turn's restores share one script call per event (user-state-reads.ts). Index entries that name
 * an event where the user has nothing are dropped in passing.
 */
import type { EventId, UserId } from '@stayline/client-sdk/protocol';
import type { Logger } from '../../infra/logger.ts';
import { sortEvents, type UserClaims } from '../claim-store.ts';
import type { SweepContext } from './claim-sweep.ts';
import { asStrings } from './replies.ts';
import type { UserStateReads } from './user-state-reads.ts';

/**
 * Two round trips when the index names events (the index, then one user-state read per event,
 * concurrently); one when it is empty; one fewer when the attach script already read the index and hands
 * over `knownEvents`.
 */
export async function readUserClaims(
  c: Pick<SweepContext, 'scripts' | 'userKeys' | 'indexTtlMs'>,
  reads: UserStateReads,
  log: Logger,
  userId: UserId,
  knownEvents: readonly EventId[] | undefined,
): Promise<UserClaims> {
  const user = c.userKeys(userId);
  const events =
    knownEvents ?? asStrings('claimsIndexRead', await c.scripts.claimsIndexRead(user, c.indexTtlMs));
  const result: UserClaims = { queues: [], holds: [], admissions: [] };
  if (events.length === 0) return result;
  const states = await Promise.all(events.map((eventId) => reads.get(eventId, userId)));
  const stale: EventId[] = [];
  events.forEach((eventId, i) => {
    const state = states[i]!;
    if (state.stale) return stale.push(eventId);
    if (state.queue) result.queues.push({ eventId, ...state.queue });
    if (state.hold) result.holds.push(state.hold);
    if (state.admissionExpiresAt !== undefined)
      result.admissions.push({ eventId, expiresAt: state.admissionExpiresAt });
  });
  // Repair: entries naming events where the user has nothing. Not awaited; a failure only leaves them.
  if (stale.length > 0) {
    c.scripts
      .claimsIndexDrop(user, stale)
      .catch((err: unknown) => log.warn({ err }, 'claim index repair failed'));
  }
  return sortEvents(result);
}
