/**
 * Wires waiting queues and seat holds into one node: the socket.io side of the features' notifiers, the
 * per-socket request handlers (through the request-id runner), the queue/hold part of `session:restored`,
 * and the node's background loops — sweeper (expired holds, ended sessions), rate admission, throttled
 * `queue:position` pushes. Every loop runs on every node; the store's scripts make that safe.
 *
 * Rooms: `seat:update` goes to the client room `event:<eventId>` (socket.io room `r:event:<eventId>`), from
 * each node to its own sockets there (seat-feed.ts). Every socket of a user joins it on `seat:map` and
 * `seat:hold`, and again on restore for events the user holds seats of; clients may also `room:join` it.
 */
import type { Ack, EventId, QueuePlace, RestoredSession, UserId } from '@stayline/client-sdk/protocol';
import {
  admissionKey,
  createAdmissionTokens,
  type AdmissionTokens,
} from '../features/queue/admission-token.ts';
import { admitUsers, joinQueue, leaveQueue, type QueueDeps } from '../features/queue/queue-handlers.ts';
import { QueueWatch } from '../features/queue/queue-watch.ts';
import {
  announceLapsed,
  holdSeats,
  releaseSeats,
  seatMap,
  type SeatDeps,
} from '../features/seats/seat-handlers.ts';
import type { GatewayConfig } from '../config/index.ts';
import type { Logger } from '../infra/logger.ts';
import type { ClaimMetrics } from '../metrics/claim-metrics.ts';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { ClaimStore } from '../session/claim-store.ts';
import type { RequestLedger } from '../session/request-ledger.ts';
import { createRequestRunner, type RequestRunner } from './idempotency.ts';
import { SeatFeed } from './seat-feed.ts';
import { edgeError } from './request-edge.ts';
import { clientRoom, userRoom, type GatewayServer, type GatewaySocket } from './socket-types.ts';

/** Turns a handler into a socket listener that answers its ack (socket-server's `once`). */
export type RequestWrapper = <T>(
  event: string,
  handler: (payload: unknown) => Promise<T>,
) => (payload: unknown, ack: (response: Ack<T>) => void) => void;

const FOLLOW_CACHE_MS = 10_000;

/** The socket.io room of an event's `seat:update`s (client room `event:<eventId>`). */
export const eventRoom = (eventId: EventId): string => clientRoom(`event:${eventId}`);
const EVENT_ROOM_PREFIX = eventRoom('');

export interface ClaimsRuntime {
  readonly store: ClaimStore;
  readonly queueDeps: QueueDeps;
  readonly seatDeps: SeatDeps;
  readonly runner: RequestRunner;
  /**
   * Runs a request through the request-id ledger (every acknowledged request goes through this): resolves
   * with the data, or rejects with a GatewayError carrying the (possibly recorded) wire error.
   */
  once<T>(
    userId: UserId,
    event: string,
    payload: unknown,
    handler: (payload: unknown) => Promise<T>,
  ): Promise<T>;
  /** Registers queue:* and seat:* on a connected socket, each wrapped by `wrap` (the socket's answer + once). */
  register(socket: GatewaySocket, wrap: RequestWrapper): void;
  /** Computes the queue/hold part of session:restored now, re-tells live admissions, starts watching. */
  restore(socket: GatewaySocket): Promise<Pick<RestoredSession, 'queues' | 'holds'>>;
  /** Call when a socket of `userId` left this node. */
  socketGone(userId: UserId): void;
  start(): void;
  stop(): void;
}

export function createClaimsRuntime(deps: {
  io: GatewayServer;
  store: ClaimStore;
  ledger: RequestLedger;
  config: GatewayConfig;
  metrics: GatewayMetrics;
  claimMetrics: ClaimMetrics;
  log: Logger;
  tokens?: AdmissionTokens;
}): ClaimsRuntime {
  const { io, store, config, metrics, claimMetrics, log } = deps;
  if (config.claims.admissionSecret === undefined && config.auth.secret === undefined)
    log.warn('no ADMISSION_SECRET and no JWT_SECRET: admission tokens are valid on this node only');
  const tokens =
    deps.tokens ?? createAdmissionTokens(admissionKey(config.claims.admissionSecret, config.auth.secret));
  // A change of the queue size alone is told at most every ten push intervals.
  const watch = new QueueWatch(10 * config.claims.queuePushIntervalMs);
  const localSockets = new Map<UserId, number>();
  const count = (operation: string, result: string) => claimMetrics.operations.inc({ operation, result });

  // The user's sockets here join at once (synchronously: the seat feed must know the event is followed
  // before the map read that follows). socketsJoin through the adapter then reaches the other nodes (one
  // PUBLISH, applied asynchronously); a user who just followed an event from this node is not published
  // again for FOLLOW_CACHE_MS.
  const followed = new Map<string, number>();
  const followEvent = (userId: UserId, eventId: EventId) => {
    io.local.in(userRoom(userId)).socketsJoin(eventRoom(eventId));
    const key = JSON.stringify([userId, eventId]);
    const now = Date.now();
    if ((followed.get(key) ?? 0) > now) return;
    if (followed.size > 100_000) followed.clear();
    followed.set(key, now + FOLLOW_CACHE_MS);
    io.in(userRoom(userId)).socketsJoin(eventRoom(eventId));
  };
  // Every defined event (listed again at most every 2 s): the feed reads only real events' logs, whatever
  // rooms clients join. An event just read with seat:map is known at once.
  let defined = { set: new Set<EventId>(), at: 0 };
  const feed = new SeatFeed({
    store,
    isEvent: (eventId) => defined.set.has(eventId),
    emit: (eventId, payload) => io.local.to(eventRoom(eventId)).emit('seat:update', payload),
  });
  const queueDeps: QueueDeps = {
    store,
    tokens,
    count,
    notifier: {
      queued: (userId, eventId, position, size) => {
        if (localSockets.has(userId)) watch.watch(eventId, userId, { eventId, position, size });
      },
      unqueued: (userId, eventId) => watch.unwatch(eventId, userId),
      admitted: (userId, payload) => {
        claimMetrics.admitted.inc();
        io.to(userRoom(userId)).emit('queue:admitted', payload);
      },
    },
  };
  const seatDeps: SeatDeps = {
    store,
    count,
    holdSeconds: config.claims.holdSeconds,
    admits: (token, eventId, userId) => tokens.verify(token, eventId, userId),
    notifier: {
      followEvent,
      seatMapRead: (eventId, version) => {
        defined.set.add(eventId);
        feed.mapRead(eventId, version);
      },
      holdLapsed: (l) =>
        io.to(userRoom(l.userId)).emit('seat:expired', { eventId: l.eventId, seatIds: l.seatIds }),
    },
  };
  const runner = createRequestRunner(deps.ledger, {
    pendingMs: Math.max(2000, config.store.commandTimeoutMs * 4),
  });

  const once: ClaimsRuntime['once'] = async (userId, event, payload, handler) => {
    let replayed = true;
    const ack = await runner(
      userId,
      event,
      payload,
      (p) => {
        replayed = false;
        return handler(p);
      },
      (err) => edgeError(err, log, { event }),
    );
    if (replayed && typeof payload === 'object' && payload !== null && 'requestId' in payload)
      claimMetrics.requestReplays.inc({ event });
    if (ack.ok) return ack.data;
    const { code, message, retryAfterMs, seatIds } = ack.error;
    throw new GatewayError(code, message, {
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      ...(seatIds === undefined ? {} : { seatIds }),
    });
  };

  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, operation: string, round: () => Promise<void>): void => {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      round()
        .catch((err: unknown) => {
          metrics.storeErrors.inc({ operation });
          log.warn({ err, operation }, 'claims round failed');
        })
        .finally(() => {
          running = false;
        });
    }, ms);
    timer.unref();
    timers.push(timer);
  };
  let events: { list: EventId[]; at: number } = { list: [], at: 0 };
  const knownEvents = async (): Promise<EventId[]> => {
    if (Date.now() - events.at > 2000)
      events = { list: await store.listEvents({ admittingByRate: true }), at: Date.now() };
    return events.list;
  };

  return {
    store,
    queueDeps,
    seatDeps,
    runner,
    once,
    register(socket, wrap) {
      const userId = socket.data.principal.userId;
      socket.on(
        'queue:join',
        wrap('queue:join', (p) => joinQueue(queueDeps, userId, p)),
      );
      socket.on(
        'queue:leave',
        wrap('queue:leave', (p) => leaveQueue(queueDeps, userId, p)),
      );
      socket.on(
        'seat:hold',
        wrap('seat:hold', (p) => holdSeats(seatDeps, userId, p)),
      );
      socket.on(
        'seat:release',
        wrap('seat:release', (p) => releaseSeats(seatDeps, userId, p)),
      );
      socket.on(
        'seat:map',
        wrap('seat:map', (p) => seatMap(seatDeps, userId, p)),
      );
    },
    async restore(socket) {
      const userId = socket.data.principal.userId;
      localSockets.set(userId, (localSockets.get(userId) ?? 0) + 1);
      const claims = await store.userClaims(userId, socket.data.session.claimEvents);
      const rooms = new Set<string>();
      for (const q of claims.queues) watch.watch(q.eventId, userId, q);
      for (const h of claims.holds) rooms.add(eventRoom(h.eventId));
      if (rooms.size > 0) await socket.join([...rooms]);
      // Told after session:restored (the caller emits that first): the admission is still valid.
      setImmediate(() => {
        for (const a of claims.admissions) {
          socket.emit('queue:admitted', {
            eventId: a.eventId,
            expiresAt: a.expiresAt,
            admissionToken: tokens.sign(a.eventId, userId, a.expiresAt),
          });
        }
      });
      return { queues: claims.queues, holds: claims.holds };
    },
    socketGone(userId) {
      const left = (localSockets.get(userId) ?? 1) - 1;
      if (left > 0) return void localSockets.set(userId, left);
      localSockets.delete(userId);
      watch.forgetUser(userId);
    },
    start() {
      // The feed tails the events this node's own sockets follow: the event rooms that exist here.
      const adapter = io.of('/').adapter;
      const eventOf = (room: unknown): EventId | undefined =>
        typeof room === 'string' && room.startsWith(EVENT_ROOM_PREFIX)
          ? room.slice(EVENT_ROOM_PREFIX.length)
          : undefined;
      const follow = (room: unknown): void => {
        const eventId = eventOf(room);
        if (eventId !== undefined) feed.follow(eventId);
      };
      for (const room of adapter.rooms.keys()) follow(room);
      adapter.on('create-room', follow);
      adapter.on('delete-room', (room: unknown) => {
        const eventId = eventOf(room);
        if (eventId !== undefined) feed.unfollow(eventId);
      });
      every(config.claims.seatUpdateIntervalMs, 'seat-feed', async () => {
        if (feed.followed === 0) return;
        if (Date.now() - defined.at > 2000)
          defined = { set: new Set(await store.listEvents()), at: Date.now() };
        claimMetrics.followedEvents.set(feed.followed);
        claimMetrics.seatUpdates.inc(await feed.tick());
      });
      every(config.claims.sweepIntervalMs, 'claim-sweep', async () => {
        const started = performance.now();
        const result = await store.sweep();
        claimMetrics.sweepDuration.observe((performance.now() - started) / 1000);
        announceLapsed(seatDeps, result.lapsed);
      });
      // Rate admission: every node asks every event that admits by rate (list refreshed every 2 s); the
      // script hands out only what the rate allows, however many nodes ask.
      every(Math.min(250, config.claims.sweepIntervalMs), 'queue-admit', async () => {
        for (const eventId of await knownEvents()) await admitUsers(queueDeps, eventId);
      });
      every(config.claims.queuePushIntervalMs, 'queue-push', async () => {
        claimMetrics.watchedQueuedUsers.set(watch.size);
        const pushes = await watch.tick(store, (userId: UserId, place: QueuePlace) =>
          io.local.to(userRoom(userId)).emit('queue:position', place),
        );
        claimMetrics.positionPushes.inc(pushes);
      });
    },
    stop() {
      for (const timer of timers) clearInterval(timer);
      timers.length = 0;
    },
  };
}
