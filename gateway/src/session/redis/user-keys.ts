/**
 * The keys of the `{u:<id>}` slot: the session (both stores read or write it), the claim store's index
 * of the user's events, and the request ledger. Every script over them touches this one slot only.
 *
 * Short on purpose (issue 15: bytes per user): every key name is stored once per key, and a user has
 * several. `<prefix>{u:<id>}` is the session itself; the other records take a one-letter part.
 */
import type { UserId } from '@stayline/client-sdk/protocol';
import { checkKeyPrefix, encodeKeyId } from './key-id.ts';

/** One user's keys, named (scripts take the ones they need by name, see scripts.ts). */
export interface UserKeys {
  /**
   * `<prefix>{u:<id>}`: the session hash, one listpack: `c` createdAt, `s<socketId>` -> nodeId per socket,
   * `r<room>` -> '' per room. Its existence is "the session lives"; its TTL is the session's.
   */
  readonly session: string;
  /**
   * `:m`, the user's marks, one small hash (a listpack) that outlives the session: `n` -> 1 that the user
   * had a session (attach sets it, to tell an expired session from a first visit: kept SEEN_TTL_MS), and
   * `e<eventId>` -> '' per event the user may have queue/hold state in (the claim store's index: kept at
   * least claimsIndexTtlMs past its last write or read). The key's TTL is the longer of the two, only ever
   * extended (lua/claims-index-add.lua), so one key serves both (issue 15: a key per user fewer).
   */
  readonly marks: string;
  /** `:v`: the epoch second at or before which the user's tokens are refused. */
  readonly revoked: string;
  /**
   * `:q`: the request ledger's record list, one string of every recent entry of the user with its own expiry
   * (see lua/request-begin.lua), so a user's request records cost one key, not one each.
   */
  readonly requests: string;
  /** `:q:<requestId>`: a ledger entry of its own (the list was full, or the answer long; and older entries). */
  request(requestId: string): string;
}

/** Builds user keys for `prefix` (e.g. `stayline:`; no braces). */
export function createUserKeys(prefix: string): (userId: UserId) => UserKeys {
  checkKeyPrefix(prefix);
  return (userId) => {
    const base = `${prefix}{u:${encodeKeyId(userId)}}`;
    return {
      session: base,
      marks: `${base}:m`,
      revoked: `${base}:v`,
      requests: `${base}:q`,
      request: (requestId) => `${base}:q:${requestId}`,
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
