/**
 * What "state survived" means, as a pure function: the session a client gets back after a drop is
 * compared with the snapshot taken from its own acks before the storm.
 */
import type { QueuePlace, RestoredSession, SeatHold } from '@stayline/client-sdk/protocol';

/** The state one client built before the storm, from its acks. */
export interface StateSnapshot {
  rooms: string[];
  queues: QueuePlace[];
  holds: SeatHold[];
}

export type MismatchKind = 'rooms' | 'queue' | 'holds' | 'not-recovered' | 'malformed';

const sameSet = (a: readonly string[], b: readonly string[]): boolean => {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((x) => set.has(x));
};

const holdKey = (h: SeatHold): string => `${h.eventId}|${[...h.seatIds].sort().join(',')}|${h.fence}`;

/**
 * The differences between `snapshot` and the restored session: the same rooms (as a set); for each queue
 * place the same event with a position equal or better (smaller: people ahead may have left, the
 * documented improvement) and never a lost place; the same holds (event, seats and fence). A session that
 * comes back with `recovered: false` while the snapshot held state is reported too.
 */
export function compareRestored(snapshot: StateSnapshot, restored: unknown): MismatchKind[] {
  if (typeof restored !== 'object' || restored === null) return ['malformed'];
  const s = restored as Partial<RestoredSession>;
  if (!Array.isArray(s.rooms)) return ['malformed'];
  const out: MismatchKind[] = [];
  const hasState = snapshot.rooms.length + snapshot.queues.length + snapshot.holds.length > 0;
  if (hasState && s.recovered !== true) out.push('not-recovered');
  if (!sameSet(snapshot.rooms, s.rooms)) out.push('rooms');
  const queues = Array.isArray(s.queues) ? s.queues : [];
  const queueOk = snapshot.queues.every((before) => {
    const now = queues.find((q) => q.eventId === before.eventId);
    return now !== undefined && now.position >= 1 && now.position <= before.position;
  });
  if (!queueOk || queues.length !== snapshot.queues.length) out.push('queue');
  const holds = Array.isArray(s.holds) ? s.holds : [];
  if (!sameSet(snapshot.holds.map(holdKey), holds.map(holdKey))) out.push('holds');
  return out;
}
