/**
 * The Redis claim store's sweep: ends expired holds and drops the members whose session ended, on every
 * node at once safely (the scripts end each group, and drop each member, exactly once).
 */
import type { EventId, UserId } from '@stayline/client-sdk/protocol';
import type { RedisLike } from '../../infra/redis.ts';
import type { LapsedHold, SweepResult } from '../claim-store.ts';
import { decodeLapsed, decodeSettle } from './claim-replies.ts';
import type { EventKeys } from './event-keys.ts';
import type { NodeKeys } from './node-keys.ts';
import type { Scripts } from './scripts.ts';
import type { UserKeys } from './user-keys.ts';

/** Hold groups and members one sweep handles per event. */
const SWEEP_BATCH = 1000;

/** What the sweep uses of the store. */
export interface SweepContext {
  redis: RedisLike;
  scripts: Scripts;
  eventKeys: (eventId: EventId) => EventKeys;
  userKeys: (userId: UserId) => UserKeys;
  nodeKeys: NodeKeys;
  /** The user index's lifetime, refreshed for every member checked. */
  indexTtlMs: number;
  /** When a live member is checked again. */
  checkMs: number;
}

/**
 * Per round, whatever the number of events: SMEMBERS events; one sweep script per event (concurrent);
 * the due members of every event (concurrent); one EXISTS per due member on its session key plus a TTL
 * refresh of its index (concurrent); one settle script per event with due members (concurrent).
 */
export async function sweepClaims(c: SweepContext): Promise<SweepResult> {
  const [events, [seconds, micros]] = await Promise.all([
    c.redis.smembers(c.nodeKeys.events),
    c.redis.time(),
  ]);
  const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  const lapsed: LapsedHold[] = [];
  const swept = await Promise.all(events.map((e) => c.scripts.sweepHolds(c.eventKeys(e), SWEEP_BATCH)));
  events.forEach((eventId, i) => lapsed.push(...decodeLapsed(eventId, swept[i])));

  const due = await Promise.all(
    events.map((e) => c.redis.zrangebyscore(c.eventKeys(e).members, '-inf', now, 'LIMIT', 0, SWEEP_BATCH)),
  );
  const users = [...new Set(due.flat())];
  if (users.length === 0) return { lapsed, droppedFromQueues: 0 };
  const alive = new Map<UserId, boolean>();
  await Promise.all(
    users.map(async (u) => {
      const keys = c.userKeys(u);
      const [exists] = await Promise.all([
        c.redis.exists(keys.session),
        c.redis.pexpire(keys.claims, c.indexTtlMs),
      ]);
      alive.set(u, exists === 1);
    }),
  );
  let droppedFromQueues = 0;
  const dropped = new Set<UserId>();
  const settled = await Promise.all(
    events.map((eventId, i) => {
      const members = due[i] ?? [];
      if (members.length === 0) return Promise.resolve([]);
      const pairs = members.flatMap((u) => [u, alive.get(u) ? 1 : 0]);
      return c.scripts.settleMembers(c.eventKeys(eventId), c.checkMs, pairs);
    }),
  );
  settled.forEach((reply, i) => {
    for (const { userId, wasQueued, seatIds } of decodeSettle(reply)) {
      dropped.add(userId);
      if (wasQueued) droppedFromQueues += 1;
      if (seatIds.length > 0) lapsed.push({ eventId: events[i]!, userId, seatIds });
    }
  });
  // The index of a user whose session ended goes too (best effort: it would expire anyway).
  await Promise.all([...dropped].map((u) => c.redis.del(c.userKeys(u).claims).catch(() => 0)));
  return { lapsed, droppedFromQueues };
}
