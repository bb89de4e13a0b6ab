/**
 * features/queue: the waiting queue of an event. `queue:join` / `queue:leave` (queue-handlers.ts), rate
 * admission with signed admission tokens (admission-token.ts), throttled `queue:position` pushes to this
 * node's queued users (queue-watch.ts), and its part in restore: positions are watched again and a live
 * admission is told again (after `session:restored`). Every node runs the admission loop; the store's
 * script hands out only what the event's rate allows, however many nodes ask.
 * Imports session, metrics, infra, errors and the protocol; never transport or another feature.
 */
import type { EventId, QueuePlace, UserId } from '@stayline/client-sdk/protocol';
import { Loops } from '../../infra/periodic.ts';
import type { ClaimMetrics } from '../../metrics/claim-metrics.ts';
import type { Admission, ClaimStore } from '../../session/claim-store.ts';
import { defineRequest, type Delivery, type Feature } from '../feature.ts';
import type { AdmissionTokens } from './admission-token.ts';
import {
  admitUsers,
  joinQueue,
  leaveQueue,
  queueRequestCheck,
  queueRequestSchema,
  type QueueDeps,
} from './queue-handlers.ts';
import { QueueWatch } from './queue-watch.ts';

export { admissionKey, createAdmissionTokens, type AdmissionTokens } from './admission-token.ts';
export { EVENT_ID_PATTERN, eventIdSchema } from './queue-handlers.ts';

export interface QueueFeatureDeps {
  store: ClaimStore;
  tokens: AdmissionTokens;
  delivery: Delivery;
  metrics: ClaimMetrics;
  /** QUEUE_PUSH_INTERVAL_MS: how often queued users here hear their position. */
  queuePushIntervalMs: number;
  /** How often each node asks rate-admitting events to admit (at most every 250 ms). */
  admitIntervalMs: number;
  /** A failed background round: logged and counted by the caller. */
  loopFailed: (err: unknown, loop: string) => void;
}

/** The queue feature, plus the service API's admission call. */
export interface QueueFeature extends Feature {
  /** Admits `count` users from the head (service call) and tells them; their sockets hear `queue:admitted`. */
  admit(eventId: EventId, count: number): Promise<Admission[]>;
}

const EVENT_LIST_MS = 2000;

export function createQueueFeature(deps: QueueFeatureDeps): QueueFeature {
  const { store, tokens, delivery, metrics } = deps;
  // A change of the queue size alone is told at most every ten push intervals.
  const watch = new QueueWatch(10 * deps.queuePushIntervalMs);
  const localSockets = new Map<UserId, number>();
  const queueDeps: QueueDeps = {
    store,
    tokens,
    count: (operation, result) => metrics.operations.inc({ operation, result }),
    notifier: {
      queued: (userId, eventId, position, size) => {
        if (localSockets.has(userId)) watch.watch(eventId, userId, { eventId, position, size });
      },
      unqueued: (userId, eventId) => watch.unwatch(eventId, userId),
      admitted: (userId, payload) => {
        metrics.admitted.inc();
        delivery.toUser(userId, 'queue:admitted', payload);
      },
    },
  };
  const loops = new Loops(deps.loopFailed);
  let admitting: { list: EventId[]; at: number } = { list: [], at: 0 };
  const eventsAdmittingByRate = async (): Promise<EventId[]> => {
    if (Date.now() - admitting.at > EVENT_LIST_MS)
      admitting = { list: await store.listEvents({ admittingByRate: true }), at: Date.now() };
    return admitting.list;
  };

  return {
    name: 'queue',
    requests: [
      defineRequest({
        event: 'queue:join',
        schema: queueRequestSchema,
        check: queueRequestCheck,
        idempotency: 'ledger',
        handle: (ctx, request) => joinQueue(queueDeps, ctx.userId, request),
      }),
      defineRequest({
        event: 'queue:leave',
        schema: queueRequestSchema,
        check: queueRequestCheck,
        idempotency: 'ledger',
        handle: (ctx, request) => leaveQueue(queueDeps, ctx.userId, request),
      }),
    ],
    restore(socket, { claims }) {
      const { userId } = socket;
      localSockets.set(userId, (localSockets.get(userId) ?? 0) + 1);
      for (const q of claims.queues) watch.watch(q.eventId, userId, q);
      if (claims.admissions.length === 0) return;
      // Told after session:restored: the admission is still valid, and the client learns its token again.
      return () => {
        for (const a of claims.admissions) {
          socket.emit('queue:admitted', {
            eventId: a.eventId,
            expiresAt: a.expiresAt,
            admissionToken: tokens.sign(a.eventId, userId, a.expiresAt),
          });
        }
      };
    },
    socketGone(userId) {
      const left = (localSockets.get(userId) ?? 1) - 1;
      if (left > 0) return void localSockets.set(userId, left);
      localSockets.delete(userId);
      watch.forgetUser(userId);
    },
    admit: (eventId, count) => admitUsers(queueDeps, eventId, count),
    start() {
      loops.every(deps.admitIntervalMs, 'queue-admit', async () => {
        for (const eventId of await eventsAdmittingByRate()) await admitUsers(queueDeps, eventId);
      });
      loops.every(deps.queuePushIntervalMs, 'queue-push', async () => {
        metrics.watchedQueuedUsers.set(watch.size);
        const pushes = await watch.tick(store, (userId: UserId, place: QueuePlace) =>
          delivery.toUserHere(userId, 'queue:position', place),
        );
        metrics.positionPushes.inc(pushes);
      });
    },
    stop: () => loops.stopAll(),
  };
}
