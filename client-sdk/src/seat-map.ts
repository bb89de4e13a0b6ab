/**
 * Versioned seat maps, as pure functions: a map read with `seat:map` is at a change version, and each
 * `seat:update` carries the seats that changed in the versions `(since, version]`. `applySeatUpdate`
 * decides, by the protocol's rule, whether an update extends the map, is already in it, or comes after
 * changes the client missed (then read the map again). Imports only the protocol.
 */
import { idRecord } from './id-record.ts';
import type {
  SeatId,
  SeatMapCompactResult,
  SeatMapResult,
  SeatStatus,
  SeatUpdatePayload,
} from './protocol/index.ts';

/** An event's seat map at a change version. Immutable: `applySeatUpdate` returns a new one. */
export interface VersionedSeatMap {
  /** The event's change version the map is at: every change up to it is in `seats`. */
  readonly version: number;
  /**
   * Every seat's status. Maps built by the SDK have no prototype, so any seat id (`__proto__`, `toString`)
   * is an ordinary entry; read it with `seats[id]` or `Object.entries(seats)`.
   */
  readonly seats: Readonly<Record<SeatId, SeatStatus>>;
}

/** What `applySeatUpdate` made of an update. */
export type SeatUpdateOutcome =
  /** The update extended the map: `map` is the new map, at the update's `version`. */
  | { kind: 'applied'; map: VersionedSeatMap }
  /** The map already has every change of the update (`version <= map.version`): keep the map. */
  | { kind: 'stale' }
  /** Changes between the map and the update were missed (`since > map.version`): read the map again. */
  | { kind: 'gap' };

/**
 * Applies a `seat:update` to a map read with `seat:map` (a `SeatMapResult` is a `VersionedSeatMap`), by the
 * protocol's rule: ignore it when `update.version <= map.version`; apply it when `update.since <=
 * map.version` (an update overlapping the map is fine: its seats carry their status at `update.version`);
 * otherwise report a gap. Never mutates `map` or `update`. It does not look at `eventId`: checking that
 * the update is for the map's event is the caller's job. The new map's `seats` is a null-prototype record.
 * @example
 * let map: VersionedSeatMap = await client.seatMap('ev1');
 * client.on('seat:update', (update) => {
 *   if (update.eventId !== 'ev1') return;
 *   const outcome = applySeatUpdate(map, update);
 *   if (outcome.kind === 'applied') map = outcome.map;
 *   else if (outcome.kind === 'gap') void client.seatMap('ev1').then((m) => { if (m.version > map.version) map = m; });
 * });
 */
export function applySeatUpdate(map: VersionedSeatMap, update: SeatUpdatePayload): SeatUpdateOutcome {
  if (update.version <= map.version) return { kind: 'stale' };
  if (update.since > map.version) return { kind: 'gap' };
  return { kind: 'applied', map: { version: update.version, seats: idRecord(map.seats, update.seats) } };
}

/** How `seat:map` is asked (see SeatMapRequest): one section, the compact encoding, only changes after a version. */
export interface SeatMapOptions {
  /** Only this section's seats (events that declare a `sectionSeparator`). */
  section?: string;
  /** Ask for the compact encoding on the wire (about 5x smaller); the answer is expanded to `seats` here. */
  compact?: boolean;
  /** The version of the map you have: the answer may then be only the changes after it (it has `since`). */
  since?: number;
}

const STATUSES: Readonly<Record<string, SeatStatus>> = { f: 'free', h: 'held', s: 'sold' };

/**
 * A `seat:map` answer as a SeatMapResult: a compact one expanded to `seats` (null-prototype). Throws on a
 * compact answer whose status string does not match its ids (a protocol error).
 * @example
 * const map = toSeatMap(ack.data); // { eventId, version, seats: { 'S12-R1-1': 'free', ... } }
 */
export function toSeatMap(answer: SeatMapResult | SeatMapCompactResult): SeatMapResult {
  if (!('format' in answer)) return { ...answer, seats: idRecord(answer.seats) };
  const { format: _format, seatIds, statuses, ...rest } = answer;
  if (statuses.length !== seatIds.length) throw new Error('seat:map: statuses do not match seatIds');
  const seats = idRecord<SeatStatus>();
  seatIds.forEach((id, i) => {
    const status = STATUSES[statuses[i]!];
    if (status === undefined) throw new Error('seat:map: unknown status code');
    seats[id] = status;
  });
  return { ...rest, seats };
}
