/**
 * The keys of a message stream's history, in the stream's own slot: a room's in `{room:<name>}`, a user's
 * own stream in `{user:<id>}` beside the user's other keys (user-keys.ts). Each stream has two keys, and the
 * history scripts touch only those two: one slot, cluster-safe.
 */
import { checkKeyPrefix, encodeKeyId } from './key-id.ts';
import type { StreamRef } from '../history-store.ts';

/** A stream's history keys, named as the history scripts take them (scripts.ts). */
export interface StreamKeys {
  /** `:hmeta` hash {epoch, last}: the epoch of the stream's history and its last offset. */
  readonly meta: string;
  /** `:hlog` stream: the retained messages, entry id `<offset>-0`, fields e (event), d (JSON data), t (ms). */
  readonly log: string;
}

/** Builds stream keys for `prefix` (e.g. `stayline:`; no braces). */
export function createStreamKeys(prefix: string): (stream: StreamRef) => StreamKeys {
  checkKeyPrefix(prefix);
  return (stream) => {
    const base =
      stream.kind === 'room'
        ? `${prefix}{room:${encodeKeyId(stream.room)}}:`
        : `${prefix}{user:${encodeKeyId(stream.userId)}}:`;
    return { meta: `${base}hmeta`, log: `${base}hlog` };
  };
}
