/**
 * Keeps one event's seat map current for a client: applies its `seat:update`s by version and reads the map
 * again when changes were missed. The machinery behind `useSeats`, without React (so it is tested without
 * a renderer). Imports the client's type, the versioned map and the protocol.
 */
import type { StaylineClient } from './client.ts';
import { SdkError } from './errors.ts';
import { idRecord } from './id-record.ts';
import type { EventId, SeatId, SeatStatus, SeatUpdatePayload } from './protocol/index.ts';
import { applySeatUpdate, type SeatMapOptions, type VersionedSeatMap } from './seat-map.ts';

/** Updates kept while a read is in flight; past this the oldest are dropped (a gap, read again). */
const MAX_BUFFERED_UPDATES = 64;

/** The map as a follower knows it: `map` undefined until read; `error` the last failed read. */
export interface FollowedSeatMap {
  map: VersionedSeatMap | undefined;
  error: SdkError | undefined;
}

/** What followSeatMap returns. */
export interface SeatMapFollower {
  /**
   * Reads the map now with a new `seat:map` call, even while another read is in flight (after a reconnect
   * an earlier call may be answered from before the drop). Whichever answer has the higher version wins.
   */
  read(): void;
  /** Sets seats to a status locally (after the user's own hold or release); the version stays. */
  mark(seatIds: readonly SeatId[], to: SeatStatus): void;
  /** Stops listening; answers still in flight are dropped. */
  stop(): void;
}

/** What followSeatMap follows: the whole map or one section, asked compactly or not. */
export type FollowOptions = Pick<SeatMapOptions, 'section' | 'compact'>;

/**
 * Follows `eventId`'s seat map: every `seat:update` for it is applied by version (`applySeatUpdate`); a gap
 * (or an update before the first read) starts one re-read, and updates arriving meanwhile are applied on
 * top of its answer. A read's answer never replaces a map at a higher version. Does not read by itself:
 * call `read()` once connected, and again after every reconnect (updates sent while down were missed).
 * Once it has a map, a re-read asks only for the changes after its version (`since`); the server answers
 * the whole map (or section) when it can no longer list them. With `section`, the map holds that section
 * only (updates about other seats are ignored); `compact` asks for the compact encoding on the wire.
 * `onChange` gets every new map or error.
 * @example
 * const follower = followSeatMap(client, 'ev1', ({ map }) => paint(map?.seats), { section: 'S12', compact: true });
 * client.onStateChange((s) => { if (s.status === 'connected') follower.read(); });
 */
export function followSeatMap(
  client: Pick<StaylineClient, 'on' | 'seatMap'>,
  eventId: EventId,
  onChange: (followed: FollowedSeatMap) => void,
  options: FollowOptions = {},
): SeatMapFollower {
  let map: VersionedSeatMap | undefined;
  let error: SdkError | undefined;
  let readsInFlight = 0;
  /** Updates that did not fit the map while a read was in flight, in arrival (version) order. */
  let buffered: SeatUpdatePayload[] = [];
  let stopped = false;

  const publish = (): void => onChange({ map, error });

  /** A section's map takes only its own seats from an update (the server sends every changed seat). */
  const scoped = (update: SeatUpdatePayload): SeatUpdatePayload => {
    if (options.section === undefined || map === undefined) return update;
    const seats = idRecord<SeatStatus>();
    for (const id of Object.keys(update.seats))
      if (Object.hasOwn(map.seats, id)) seats[id] = update.seats[id]!;
    return { ...update, seats };
  };

  const read = (): void => {
    readsInFlight += 1;
    const asked: SeatMapOptions = { ...options };
    if (map !== undefined) asked.since = map.version;
    client.seatMap(eventId, asked).then(
      (result) => {
        readsInFlight -= 1;
        if (stopped) return;
        let next: VersionedSeatMap;
        if (result.since !== undefined && map !== undefined) {
          // Only the changes after the version asked: applied like an update (the map cannot be behind it).
          const outcome = applySeatUpdate(map, scoped({ ...result, since: result.since }));
          next = outcome.kind === 'applied' ? outcome.map : map;
        } else {
          // An answer at a lower version than the map (a slower, earlier read) changes nothing but the error.
          next =
            map !== undefined && map.version > result.version
              ? map
              : { version: result.version, seats: idRecord(result.seats) };
        }
        const left: SeatUpdatePayload[] = [];
        for (const update of buffered) {
          const outcome = applySeatUpdate(next, scoped(update));
          if (outcome.kind === 'applied') next = outcome.map;
          else if (outcome.kind === 'gap') left.push(update);
        }
        buffered = left;
        map = next;
        error = undefined;
        publish();
        if (buffered.length > 0 && readsInFlight === 0) read();
      },
      (err: unknown) => {
        readsInFlight -= 1;
        if (stopped) return;
        if (readsInFlight === 0) buffered = [];
        error = err instanceof SdkError ? err : new SdkError('INTERNAL', String(err));
        publish();
      },
    );
  };

  const onUpdate = (update: SeatUpdatePayload): void => {
    if (stopped || update.eventId !== eventId) return;
    const outcome = map === undefined ? ({ kind: 'gap' } as const) : applySeatUpdate(map, scoped(update));
    switch (outcome.kind) {
      case 'applied':
        map = outcome.map;
        publish();
        return;
      case 'stale':
        return;
      case 'gap':
        buffered.push(update);
        if (buffered.length > MAX_BUFFERED_UPDATES) buffered.shift();
        if (readsInFlight === 0) read();
        return;
    }
  };
  const off = client.on('seat:update', onUpdate);

  return {
    read,
    mark(seatIds, to) {
      if (stopped || map === undefined) return;
      // A null-prototype copy: `seats['__proto__'] = to` on a plain object would change nothing.
      const seats = idRecord(map.seats);
      for (const id of seatIds) seats[id] = to;
      map = { version: map.version, seats };
      publish();
    },
    stop() {
      stopped = true;
      buffered = [];
      off();
    },
  };
}
