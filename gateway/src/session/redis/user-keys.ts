/**
 * The keys of the `{user:<id>}` slot: the session (both stores read or write it), the claim store's index
 * of the user's events, and the request ledger. Every script over them touches this one slot only.
 */
import type { UserId } from '@stayline/client-sdk/protocol';
import { checkKeyPrefix, encodeKeyId } from './key-id.ts';

/** One user's keys, named (scripts take the ones they need by name, see scripts.ts). */
export interface UserKeys {
  /** `:session` hash {createdAt, lastSeen}: its existence is "the session lives". */
  readonly session: string;
  /** `:sockets` hash socketId -> nodeId. */
  readonly sockets: string;
  /** `:rooms` set. */
  readonly rooms: string;
  /** `:seen`: that the user had a session (attach only), to tell an expired session from a first visit. */
  readonly seen: string;
  /** `:claims` hash eventId -> 1: the events the user may have queue/hold state in (the claim store's index). */
  readonly claims: string;
  /** `:revoked`: the epoch second at or before which the user's tokens are refused. */
  readonly revoked: string;
  /** `:req:<requestId>`: the request ledger entry (see request-ledger.ts). */
  request(requestId: string): string;
}

/** Builds user keys for `prefix` (e.g. `stayline:`; no braces). */
export function createUserKeys(prefix: string): (userId: UserId) => UserKeys {
  checkKeyPrefix(prefix);
  return (userId) => {
    const base = `${prefix}{user:${encodeKeyId(userId)}}:`;
    return {
      session: `${base}session`,
      sockets: `${base}sockets`,
      rooms: `${base}rooms`,
      seen: `${base}seen`,
      claims: `${base}claims`,
      revoked: `${base}revoked`,
      request: (requestId) => `${base}req:${requestId}`,
    };
  };
}

/**
 * How long the user's queue/hold index lives after it was last written or read: two session TTLs plus a
 * hold, so it outlives everything it points to. Used by the claim store and by the attach script.
 */
export function claimsIndexTtlMs(sessionTtlSeconds: number, holdSeconds: number): number {
  return Math.round(2 * sessionTtlSeconds * 1000 + holdSeconds * 1000);
}
