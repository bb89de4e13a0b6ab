/**
 * features/seats: seat holds — the ticketing instance of a general "one holder at a time" claim with a TTL,
 * a fencing token, resume by the same user and conflict for others (docs/queue-and-seats.md has a
 * non-ticketing use). Requests `seat:hold` (folded idempotency), `seat:release`, `seat:map` (a read);
 * the service API's event definition and sale confirm; this node's coalesced `seat:update` feed
 * (seat-feed.ts) and the claims sweeper (expired holds, ended sessions) as background loops; in restore,
 * the socket joins the rooms of the events it holds seats in.
 *
 * Rooms: `seat:update` goes to the client room `event:<eventId>`, from each node to its own sockets there.
 * Every socket of a user joins it on `seat:map` and `seat:hold`, again on restore for events the user
 * holds seats in; clients may also `room:join` it. Imports session, metrics, infra, errors and the
 * protocol; never transport or another feature (the admission check comes in as a function).
 */
import type { EventId, RoomName, UserId } from '@stayline/client-sdk/protocol';
import { Loops } from '../../infra/periodic.ts';
import type { ClaimMetrics } from '../../metrics/claim-metrics.ts';
import type { ClaimStore, EventDefinition } from '../../session/claim-store.ts';
import { defineRequest, type Delivery, type Feature } from '../feature.ts';
import { SeatFeed } from './seat-feed.ts';
import {
  announceLapsed,
  confirmSale,
  defineEvent,
  deleteEvent,
  holdSeats,
  releaseSeats,
  seatHoldCheck,
  seatHoldSchema,
  seatMap,
  seatMapSchema,
  seatReleaseCheck,
  seatReleaseSchema,
  type SeatDeps,
} from './seat-handlers.ts';

export {
  MAX_SEAT_ID_LENGTH,
  MAX_SEATS_PER_EVENT,
  MAX_SEATS_PER_REQUEST,
  SECTION_SEPARATORS,
  SEAT_ID_PATTERN,
} from './seat-handlers.ts';

export interface SeatsFeatureDeps {
  store: ClaimStore;
  delivery: Delivery;
  metrics: ClaimMetrics;
  /** Verifies an admission token for (event, user): the queue's tokens, passed in by the composition root. */
  admits: (token: string, eventId: EventId, userId: UserId) => boolean;
  /** SEAT_HOLD_SECONDS: the hold TTL of an event that does not set its own. */
  holdSeconds: number;
  /** MAX_OUTBOUND_BUFFER_BYTES: a `seat:map` reply may use half of it. */
  maxOutboundBufferBytes: number;
  /** SEAT_UPDATE_INTERVAL_MS: how often this node sends coalesced `seat:update`s. */
  seatUpdateIntervalMs: number;
  /** CLAIM_SWEEP_INTERVAL_MS */
  sweepIntervalMs: number;
  /** A failed background round: logged and counted by the caller. */
  loopFailed: (err: unknown, loop: string) => void;
}

/** The seats feature, plus the service API's calls. */
export interface SeatsFeature extends Feature {
  /** The event's definition, or null. */
  getEvent(eventId: EventId): Promise<EventDefinition | null>;
  defineEvent(eventId: string, body: unknown): ReturnType<typeof defineEvent>;
  /** `DELETE /v1/events/:eventId[?force=true]`; the event's followers get EVENT_UNKNOWN at their next read. */
  deleteEvent(eventId: string, force: boolean): ReturnType<typeof deleteEvent>;
  confirmSale(eventId: string, body: unknown): ReturnType<typeof confirmSale>;
}

/** The client room of an event's `seat:update`s. */
export const eventRoom = (eventId: EventId): RoomName => `event:${eventId}`;
const EVENT_ROOM_PREFIX = eventRoom('');
const eventOf = (room: RoomName): EventId | undefined =>
  room.startsWith(EVENT_ROOM_PREFIX) ? room.slice(EVENT_ROOM_PREFIX.length) : undefined;

/** A user who just followed an event from this node is not published to the other nodes again for this long. */
const FOLLOW_CACHE_MS = 10_000;
const FOLLOW_CACHE_MAX = 100_000;
/** How often the list of defined events is read again. */
const EVENT_LIST_MS = 2000;

export function createSeatsFeature(deps: SeatsFeatureDeps): SeatsFeature {
  const { store, delivery, metrics } = deps;
  // The user's sockets here join at once (synchronously: the seat feed must know the event is followed
  // before the map read that follows); the join through the adapter reaches the other nodes (one PUBLISH,
  // applied asynchronously), at most once per FOLLOW_CACHE_MS per user and event.
  const followed = new Map<string, number>();
  const followEvent = (userId: UserId, eventId: EventId): void => {
    // Event ids cannot hold a newline (EVENT_ID_PATTERN): the key is unambiguous without JSON.
    const key = `${eventId}\n${userId}`;
    const now = Date.now();
    if ((followed.get(key) ?? 0) > now) return delivery.joinUserHere(userId, eventRoom(eventId));
    if (followed.size > FOLLOW_CACHE_MAX) followed.clear();
    followed.set(key, now + FOLLOW_CACHE_MS);
    delivery.joinUser(userId, eventRoom(eventId));
  };
  // Every defined event (listed again at most every 2 s): the feed reads only real events' logs, whatever
  // rooms clients join. An event just read with seat:map is known at once.
  let defined = { set: new Set<EventId>(), at: 0 };
  const feed = new SeatFeed({
    store,
    isEvent: (eventId) => defined.set.has(eventId),
    emit: (eventId, payload) => delivery.toRoomHere(eventRoom(eventId), 'seat:update', payload),
  });
  const seatDeps: SeatDeps = {
    store,
    count: (operation, result) => metrics.operations.inc({ operation, result }),
    holdSeconds: deps.holdSeconds,
    maxMapReplyBytes: Math.floor(deps.maxOutboundBufferBytes / 2),
    admits: deps.admits,
    notifier: {
      followEvent,
      seatMapRead: (eventId, version) => {
        defined.set.add(eventId);
        feed.mapRead(eventId, version);
      },
      holdLapsed: (l) =>
        delivery.toUser(l.userId, 'seat:expired', { eventId: l.eventId, seatIds: l.seatIds }),
    },
  };
  const loops = new Loops(deps.loopFailed);

  return {
    name: 'seats',
    requests: [
      defineRequest({
        event: 'seat:hold',
        schema: seatHoldSchema,
        check: seatHoldCheck,
        idempotency: 'folded',
        handle: (ctx, request) => holdSeats(seatDeps, ctx, request),
      }),
      defineRequest({
        event: 'seat:release',
        schema: seatReleaseSchema,
        check: seatReleaseCheck,
        idempotency: 'ledger',
        handle: (ctx, request) => releaseSeats(seatDeps, ctx.userId, request),
      }),
      defineRequest({
        event: 'seat:map',
        schema: seatMapSchema,
        idempotency: 'none',
        handle: (ctx, request) => seatMap(seatDeps, ctx.userId, request),
      }),
    ],
    async restore(socket, { claims }) {
      if (claims.holds.length > 0) await socket.join(claims.holds.map((h) => eventRoom(h.eventId)));
    },
    getEvent: (eventId) => store.getEvent(eventId),
    defineEvent: (eventId, body) => defineEvent(seatDeps, eventId, body),
    async deleteEvent(eventId, force) {
      const result = await deleteEvent(seatDeps, eventId, force);
      // This node's feed stops reading it now; the others when they list the events again (2 s).
      defined.set.delete(result.eventId);
      return result;
    },
    confirmSale: (eventId, body) => confirmSale(seatDeps, eventId, body),
    start() {
      // The feed tails the events this node's own sockets follow: the event rooms that exist here.
      delivery.watchRoomsHere({
        created: (room) => {
          const eventId = eventOf(room);
          if (eventId !== undefined) feed.follow(eventId);
        },
        deleted: (room) => {
          const eventId = eventOf(room);
          if (eventId !== undefined) feed.unfollow(eventId);
        },
      });
      loops.every(deps.seatUpdateIntervalMs, 'seat-feed', async () => {
        if (feed.followed === 0) return;
        if (Date.now() - defined.at > EVENT_LIST_MS)
          defined = { set: new Set(await store.listEvents()), at: Date.now() };
        metrics.followedEvents.set(feed.followed);
        metrics.seatUpdates.inc(await feed.tick());
      });
      loops.every(deps.sweepIntervalMs, 'claim-sweep', async () => {
        const started = performance.now();
        const result = await store.sweep();
        metrics.sweepDuration.observe((performance.now() - started) / 1000);
        announceLapsed(seatDeps, result.lapsed);
      });
    },
    stop: () => loops.stopAll(),
  };
}
