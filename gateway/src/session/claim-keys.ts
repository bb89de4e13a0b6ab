/**
 * Redis key names of the claim store. One event's keys share the hash tag `{event:<id>}` (one cluster slot,
 * so one script may touch all of them); a user's claim index and request ledger share the session's
 * `{user:<id>}` tag. No script ever touches both.
 */
import type { EventId, UserId } from '@stayline/client-sdk/protocol';
import { encodeKeyId } from './redis-keys.ts';

/** The twelve keys of one event, in the order every claims script takes them (see lua/claims/prelude.lua). */
export const EVENT_KEY_PARTS = [
  'def',
  'seats',
  'holder',
  'sold',
  'groups',
  'gexp',
  'fence',
  'queue',
  'qseq',
  'admitted',
  'members',
  'log',
] as const;

export interface ClaimKeys {
  /** `<prefix>{event:<id>}:<part>` for every part of EVENT_KEY_PARTS, in order. */
  event(eventId: EventId): string[];
  /** `<prefix>{user:<id>}:claims`: hash eventId -> 1, the events the user may have state in. */
  userIndex(userId: UserId): string;
  /** `<prefix>{user:<id>}:session`: the session hash (read to learn whether the session lives). */
  userSession(userId: UserId): string;
  /** `<prefix>{user:<id>}:req:<requestId>`: the request ledger entry. */
  request(userId: UserId, requestId: string): string;
  /** `<prefix>events`: set of every defined event id. */
  readonly events: string;
  /** `<prefix>events:rated`: set of the event ids that admit by rate. */
  readonly ratedEvents: string;
}

/**
 * How long the user's queue/hold index lives after it was last written or read: two session TTLs plus a
 * hold, so it outlives everything it points to. Used by the claim store and by the attach script.
 */
export function claimsIndexTtlMs(sessionTtlSeconds: number, holdSeconds: number): number {
  return Math.round(2 * sessionTtlSeconds * 1000 + holdSeconds * 1000);
}

export function createClaimKeys(prefix: string): ClaimKeys {
  if (/[{}]/.test(prefix)) throw new Error(`Redis key prefix may not contain braces: ${prefix}`);
  const user = (userId: UserId) => `${prefix}{user:${encodeKeyId(userId)}}:`;
  return {
    event(eventId) {
      const base = `${prefix}{event:${encodeKeyId(eventId)}}:`;
      return EVENT_KEY_PARTS.map((part) => base + part);
    },
    userIndex: (userId) => `${user(userId)}claims`,
    userSession: (userId) => `${user(userId)}session`,
    request: (userId, requestId) => `${user(userId)}req:${requestId}`,
    events: `${prefix}events`,
    ratedEvents: `${prefix}events:rated`,
  };
}
