/**
 * The sweeper's due index: `<prefix>{events}:due`, a sorted set eventId -> when the event next needs the
 * sweeper (its earliest hold expiry or member session check), so a sweep round visits only the events whose
 * time has come, whatever the number of events.
 *
 * The event's own slot decides: every script that may move the time (a hold, a queue join, the sweep and
 * the session check) recomputes it, keeps it in the event's `def` (`due`, and `dueSeq`, which only grows)
 * and, when it moved, ends its reply with `{due, dueSeq}` (lua/claims/prelude.lua's with_due). The node then
 * copies it into the global index (another slot: never in the same script) with due-index-set.lua, which
 * ignores a write older than the last one applied, so a hold on one node and the sweeper on another, racing,
 * leave the index at the event's latest decision. A copy lost with a crashed node is repaired by the
 * sweeper's full walk (claim-sweep.ts), which runs on a node's first round and then every few dozen rounds.
 * An entry that is early is harmless (the sweeper finds nothing to do and files the real time); releases
 * and sales only make the time later, so they write nothing.
 */
import type { EventId } from '@stayline/client-sdk/protocol';
import type { NodeKeys } from './node-keys.ts';
import { asString, unexpected } from './replies.ts';
import type { Scripts } from './scripts.ts';

/** An event's next sweep time as its slot decided it: `due` epoch ms ('' = nothing due), `seq` its order. */
export interface DueUpdate {
  due: string;
  seq: string;
}

/** The `{due, dueSeq}` a claims script appended at `index` of its reply, if it did. */
export function dueUpdateAt(script: string, reply: readonly unknown[], index: number): DueUpdate | undefined {
  const value = reply[index];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length !== 2) throw unexpected(script, value);
  return { due: asString(script, value[0]), seq: asString(script, value[1]) };
}

/** Writes one event's update into the global index (one command; an older seq than the index's is ignored). */
export async function publishDue(
  scripts: Pick<Scripts, 'dueIndexSet'>,
  keys: Pick<NodeKeys, 'dueEvents' | 'dueSeqs'>,
  eventId: EventId,
  update: DueUpdate,
): Promise<void> {
  await scripts.dueIndexSet({ due: keys.dueEvents, seqs: keys.dueSeqs }, eventId, update.due, update.seq);
}

/** Takes a deleted event out of the index, its seq record too. */
export async function forgetDue(
  scripts: Pick<Scripts, 'dueIndexSet'>,
  keys: Pick<NodeKeys, 'dueEvents' | 'dueSeqs'>,
  eventId: EventId,
): Promise<void> {
  await scripts.dueIndexSet({ due: keys.dueEvents, seqs: keys.dueSeqs }, eventId, '', '');
}
