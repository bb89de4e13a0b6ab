/**
 * The keys of the `{u:<id>}` slot: the session (both stores read or write it), the claim store's index
 * of the user's events, and the request ledger. Every script over them touches this one slot only.
 *
 * Short on purpose (issue 15: bytes per user): every key name is stored once per key. `<prefix>{u:<id>}` is
 * the user's hash (session, seen mark, claims index); the other records take a one-letter part.
 */
import type { UserId } from '@stayline/client-sdk/protocol';
import { checkKeyPrefix, encodeKeyId } from './key-id.ts';

/** One user's keys, named (scripts take the ones they need by name, see scripts.ts). */
export interface UserKeys {
  /**
   * `<prefix>{u:<id>}`: the user's hash, one listpack (see lua/session/prelude.lua): the session (`x` its
   * expiry: it lives while x > now; `s<socketId>` -> nodeId per socket, `r<room>` -> '' per room) and the marks that outlive it (`n` the seen mark, kept SEEN_TTL_MS; `e<eventId>` -> '' per event
   * the user may have queue/hold state in, the claim store's index, kept at least claimsIndexTtlMs past its
   * last write or read). The key's TTL is the longest of the three and only ever grows: one key serves all
   * three (issue 15: two keys per user fewer).
   */
  readonly session: string;
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
