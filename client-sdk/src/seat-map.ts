/**
 * Versioned seat maps, as pure functions: a map read with `seat:map` is at a change version, and each
 * `seat:update` carries the seats that changed in the versions `(since, version]`. `applySeatUpdate`
 * decides, by the protocol's rule, whether an update extends the map, is already in it, or comes after
 * changes the client missed (then read the map again). Imports only the protocol.
 */
import { idRecord } from './id-record.ts';
import type { SeatId, SeatStatus, SeatUpdatePayload } from './protocol/index.ts';

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
