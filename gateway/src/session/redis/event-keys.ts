/**
 * The keys of the `{event:<id>}` slot: everything of one event (definition, seats, holds, sales, queue,
 * admissions, members, change log, the records of folded seat:hold requests). Every claims script touches
 * this one slot only (see lua/claims/prelude.lua).
 */
import type { EventId, UserId } from '@stayline/client-sdk/protocol';
import { bucketOf } from './bucket-hash.ts';
import { checkKeyPrefix, encodeKeyId, encodeKeyPart } from './key-id.ts';

/**
 * The twelve parts of one event, in the order every claims script takes them as KEYS (prelude.lua); `holder`
 * and `groups` are spread over buckets `:holder:<b>`, `:groups:<b>` (EventKeys.bucket). `reqs`
 * (hash userId -> the user's recent seat:hold records in the event, each with its own expiry) is last.
 */
export const EVENT_KEY_PARTS = [
  'def',
  'seats',
  'holder',
  'sold',
  'groups',
  'fence',
  'queue',
  'qseq',
  'admitted',
  'members',
  'log',
  'reqs',
] as const;

/**
 * How many sorted sets an event with buckets (def field `nb` > 0) spreads its members over; `members` itself
 * is then their index (lua/claims/prelude.lua's member_set, whose MEMBER_BUCKETS must be this).
 */
export const MEMBER_BUCKETS = 256;

export type EventKeyPart = (typeof EVENT_KEY_PARTS)[number];

/** One event's keys, `<prefix>{event:<id>}:<part>`, named; see prelude.lua for what each holds. */
export type EventKeys = Readonly<Record<EventKeyPart, string>> & {
  /**
   * `:req:<userId, `:` encoded too>:<requestId>`: the recorded outcome of one seat:hold request in a key of
   * its own, when it does not go in `reqs` (the user's list there is full, or the event is unknown), and as
   * every record was kept before issue 15 (still read).
   */
  holdRequest(userId: UserId, requestId: string): string;
  /**
   * `:holder:<b>`, `:groups:<b>` or `:members:<b>`: the bucket of that part that holds `id` (a seat id for
   * `holder`, a user id for the others) when the event spreads them over `buckets` keys (def field `nb`, the
   * part's key itself when 0; MEMBER_BUCKETS for members of an event with buckets). The scripts compute the same (lua/claims/prelude.lua's bucket_key); nothing in the gateway
   * reads these keys outside them, tests and tools do.
   */
  bucket(part: 'holder' | 'groups' | 'members', id: string, buckets: number): string;
};

/** How many events' keys createEventKeys keeps made (the busiest events of a node are far fewer). */
const KEYS_CACHED = 4096;

/**
 * Builds event keys for `prefix` (e.g. `stayline:`; no braces). An event's keys are made once and kept (up
 * to KEYS_CACHED events, the oldest made dropped first): building the twelve names on every call was ~10 µs
 * of a `seat:hold` (docs/benchmarks.md §14).
 */
export function createEventKeys(prefix: string): (eventId: EventId) => EventKeys {
  checkKeyPrefix(prefix);
  const made = new Map<EventId, EventKeys>();
  return (eventId) => {
    let keys = made.get(eventId);
    if (keys === undefined) {
      if (made.size >= KEYS_CACHED) made.delete(made.keys().next().value!);
      keys = makeEventKeys(prefix, eventId);
      made.set(eventId, keys);
    }
    return keys;
  };
}

function makeEventKeys(prefix: string, eventId: EventId): EventKeys {
  const base = `${prefix}{event:${encodeKeyId(eventId)}}:`;
  const keys = Object.fromEntries(EVENT_KEY_PARTS.map((part) => [part, base + part])) as Record<
    EventKeyPart,
    string
  >;
  return Object.freeze({
    ...keys,
    holdRequest: (userId: UserId, requestId: string) => `${base}req:${encodeKeyPart(userId)}:${requestId}`,
    bucket: (part: 'holder' | 'groups' | 'members', id: string, buckets: number) =>
      buckets === 0 ? keys[part] : `${keys[part]}:${bucketOf(id, buckets)}`,
  });
}
