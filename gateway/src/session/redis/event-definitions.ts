/**
 * The Redis claim store's event definitions: define (with the global lists), read and delete. The event's
 * own keys change in one script of its slot (define-event.lua, delete-event.lua); the global lists
 * (`<prefix>events`, `events:rated`, the due index) are other slots, written after it, each write
 * idempotent. A delete also removes the event's request records (`…:req:…`), which no script can name in
 * advance: found with SCAN on every primary, so a delete costs a pass over the keyspace (an operator's
 * call, not a hot path).
 */
import type { EventId } from '@stayline/client-sdk/protocol';
import { Cluster } from 'ioredis';
import type { RedisLike } from '../../infra/redis.ts';
import type { DeletedEvent, EventDefinition } from '../claim-store.ts';
import { decodeDefineEvent, decodeDeleteEvent } from './claim-replies.ts';
import { forgetDue } from './due-index.ts';
import type { EventKeys } from './event-keys.ts';
import type { NodeKeys } from './node-keys.ts';
import type { Scripts } from './scripts.ts';

/** What the event definitions use of the store. */
export interface EventDefinitionContext {
  redis: RedisLike;
  scripts: Scripts;
  eventKeys: (eventId: EventId) => EventKeys;
  nodeKeys: NodeKeys;
}

/** Keys one SCAN call asks for. */
const SCAN_COUNT = 1000;

/** Creates or replaces the event; then the admission loop's list (another slot, idempotent). */
export async function defineEvent(
  c: EventDefinitionContext,
  eventId: EventId,
  d: EventDefinition,
): Promise<{ created: boolean; seats: number }> {
  const [, reply] = await Promise.all([
    c.redis.sadd(c.nodeKeys.events, eventId),
    c.scripts.defineEvent(
      c.eventKeys(eventId),
      d.requiresAdmission ? 1 : 0,
      d.admissionRatePerSecond,
      d.maxSeatsPerUser,
      Math.round(d.holdSeconds * 1000),
      d.sectionSeparator ?? '',
      d.seats,
    ),
  ]);
  const result = decodeDefineEvent(reply);
  if (d.admissionRatePerSecond > 0) await c.redis.sadd(c.nodeKeys.ratedEvents, eventId);
  else await c.redis.srem(c.nodeKeys.ratedEvents, eventId);
  return result;
}

/** The definition, or null; the seats sorted. */
export async function getEvent(c: EventDefinitionContext, eventId: EventId): Promise<EventDefinition | null> {
  const keys = c.eventKeys(eventId);
  const fields = await c.redis.hgetall(keys.def);
  if (fields['maxSeats'] === undefined) return null;
  const sep = fields['sep'] ?? '';
  // A sectioned event keeps its seats in a sorted set (lua/claims/prelude.lua).
  const seats = sep === '' ? await c.redis.smembers(keys.seats) : await c.redis.zrange(keys.seats, 0, -1);
  return {
    seats: seats.sort(),
    requiresAdmission: fields['requiresAdmission'] === '1',
    admissionRatePerSecond: Number(fields['rate'] ?? 0),
    maxSeatsPerUser: Number(fields['maxSeats']),
    holdSeconds: Number(fields['holdMs'] ?? 0) / 1000,
    ...(sep === '' ? {} : { sectionSeparator: sep }),
  };
}

/**
 * The event's keys (one script: all or nothing, refused while busy unless forced), then its entries in the
 * global lists, then its request records. A delete interrupted after the script leaves entries that are
 * harmless (the sweeper and the readers find no event) and answers EVENT_UNKNOWN when repeated.
 */
export async function deleteEvent(
  c: EventDefinitionContext,
  eventId: EventId,
  force: boolean,
): Promise<DeletedEvent> {
  const found = decodeDeleteEvent(await c.scripts.deleteEvent(c.eventKeys(eventId), force ? 1 : 0));
  await Promise.all([
    c.redis.srem(c.nodeKeys.events, eventId),
    c.redis.srem(c.nodeKeys.ratedEvents, eventId),
    forgetDue(c.scripts, c.nodeKeys, eventId),
  ]);
  const def = c.eventKeys(eventId).def;
  await unlinkMatching(c.redis, `${globEscape(def.slice(0, -'def'.length))}req:*`);
  return found;
}

/** UNLINKs every key matching `pattern` on every primary (SCAN, in batches). */
async function unlinkMatching(redis: RedisLike, pattern: string): Promise<void> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
      cursor = next;
      if (keys.length > 0) await node.unlink(...keys);
    } while (cursor !== '0');
  }
}

/** `pattern` with Redis glob's special characters taken literally. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
