/**
 * The Redis claim store's sweep: ends expired holds and drops the members whose session ended, on every
 * node at once safely (the scripts end each group, and drop each member, exactly once). Two ways to choose
 * the events of a round: `due` reads the due index (due-index.ts) and visits only the events whose time
 * has come, so a round costs what is due, not the number of events; `walk` visits every defined event (the
 * backstop that repairs index entries lost with a crashed node, and the baseline of gateway/bench/sweeper.ts).
 */
import type { EventId, UserId } from '@stayline/client-sdk/protocol';
import type { RedisLike } from '../../infra/redis.ts';
import type { LapsedHold, SweepResult } from '../claim-store.ts';
import { decodeSettle, decodeSweepHolds } from './claim-replies.ts';
import { forgetDue, publishDue, type DueUpdate } from './due-index.ts';
import type { EventKeys } from './event-keys.ts';
import type { NodeKeys } from './node-keys.ts';
import type { Scripts } from './scripts.ts';
import type { UserKeys } from './user-keys.ts';

/** Hold groups and members one sweep handles per event. */
const SWEEP_BATCH = 1000;
/** Due events one round visits at most (the rest stay due for the next round). */
const DUE_EVENTS_PER_ROUND = 1000;

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

/** How a round chooses its events (see the file's comment). */
export type SweepMode = 'due' | 'walk';

/**
 * One round. Per round: the event list (ZRANGEBYSCORE of the due index, or SMEMBERS of every event, plus
 * the index itself to compare); one sweep script per event (concurrent), which also lists its due members;
 * one HGET of each due member's session expiry plus a TTL refresh of its index (concurrent); one settle
 * script per event with due members (concurrent); one index write per event whose due time moved.
 */
export async function sweepClaims(c: SweepContext, mode: SweepMode = 'due'): Promise<SweepResult> {
  const [seconds, micros] = await c.redis.time();
  const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  const walk = mode === 'walk';
  const [events, indexed] = walk
    ? await Promise.all([c.redis.smembers(c.nodeKeys.events), readIndex(c)])
    : [await dueEvents(c, now), undefined];
  const lapsed: LapsedHold[] = [];
  const dues = new Map<EventId, DueUpdate>();
  const gone: EventId[] = [];
  const replies = await Promise.all(
    events.map((e) => c.scripts.sweepHolds(c.eventKeys(e), SWEEP_BATCH, walk ? 1 : 0)),
  );
  const due = new Map<EventId, UserId[]>();
  events.forEach((eventId, i) => {
    const swept = decodeSweepHolds(eventId, replies[i]);
    if (swept === null) return gone.push(eventId);
    lapsed.push(...swept.lapsed);
    if (swept.due) dues.set(eventId, swept.due);
    if (swept.dueMembers.length > 0) due.set(eventId, swept.dueMembers);
  });

  let droppedFromQueues = 0;
  const users = [...new Set([...due.values()].flat())];
  if (users.length > 0) {
    const alive = new Map<UserId, boolean>();
    await Promise.all(
      users.map(async (u) => {
        const keys = c.userKeys(u);
        // The session lives while its `x` (expiry, epoch ms) is ahead of Redis' clock (lua/session/prelude.lua).
        const [expires] = await Promise.all([
          c.redis.hget(keys.session, 'x'),
          c.scripts.claimsIndexRead(keys, c.indexTtlMs),
        ]);
        alive.set(u, Number(expires ?? 0) > now);
      }),
    );
    const dropped = new Set<UserId>();
    const settling = [...due];
    const settled = await Promise.all(
      settling.map(([eventId, members]) =>
        c.scripts.settleMembers(
          c.eventKeys(eventId),
          c.checkMs,
          members.flatMap((u) => [u, alive.get(u) ? 1 : 0]),
        ),
      ),
    );
    settled.forEach((reply, i) => {
      const eventId = settling[i]![0];
      const result = decodeSettle(reply);
      if (result === null) return;
      // The settle script ran after the sweep script: its decision is the later one.
      if (result.due) dues.set(eventId, result.due);
      for (const { userId, wasQueued, seatIds } of result.dropped) {
        dropped.add(userId);
        if (wasQueued) droppedFromQueues += 1;
        if (seatIds.length > 0) lapsed.push({ eventId, userId, seatIds });
      }
    });
    // The index of a user whose session ended goes too (best effort: it would expire anyway).
    await Promise.all([...dropped].map((u) => c.scripts.claimsIndexDrop(c.userKeys(u), []).catch(() => 0)));
  }

  // The walk writes only what the index has wrong; the due sweep what moved.
  const writes = [...dues].filter(
    ([e, u]) => indexed === undefined || indexed.get(e) !== (u.due || undefined),
  );
  await Promise.all([
    ...writes.map(([e, u]) => publishDue(c.scripts, c.nodeKeys, e, u)),
    ...gone.map((e) => forgetDue(c.scripts, c.nodeKeys, e)),
  ]);
  return { lapsed, droppedFromQueues };
}

/** The events whose due time has come, earliest first. */
function dueEvents(c: SweepContext, now: number): Promise<EventId[]> {
  return c.redis.zrangebyscore(c.nodeKeys.dueEvents, '-inf', now, 'LIMIT', 0, DUE_EVENTS_PER_ROUND);
}

/** The whole index, eventId -> due ms as Redis writes it (the walk compares, so it writes only repairs). */
async function readIndex(c: SweepContext): Promise<Map<EventId, string>> {
  const flat = await c.redis.zrange(c.nodeKeys.dueEvents, 0, -1, 'WITHSCORES');
  const out = new Map<EventId, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i]!, flat[i + 1]!);
  return out;
}
