/**
 * The publish service route, for backends (mounted by service-router.ts behind SERVICE_TOKEN):
 * `POST /v1/publish` `{ room | userId, event, data?, volatile? }` emits an application event to the sockets
 * of a room or of a user, on every node. With history on (HISTORY_SIZE > 0) and without `volatile: true` the
 * message is appended to its stream's history first (a store that cannot append: 503 STORE_UNAVAILABLE,
 * nothing published), then delivered through every node's sequencer as `emit(event, data, position)`, and
 * the answer carries its position: 202 `{ ok: true, data: { accepted: true, position? } }`. A volatile
 * publish (or history off) goes through the adapter's room broadcast as before, with no position.
 */
import type { MessagePosition } from '@stayline/client-sdk/protocol';
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import { z } from 'zod';
import { SERVER_EVENTS } from '@stayline/client-sdk/protocol';
import { ROOM_NAME_PATTERN } from '../../features/rooms/room-policy.ts';
import { requestObject } from '../../infra/bounded-schema.ts';
import type { GatewayMetrics } from '../../metrics/gateway-metrics.ts';
import { jsonBody } from './service-body.ts';
import { clientRoom, userRoom, type GatewayServer } from '../socket-types.ts';

/** Names socket.io reserves, and the protocol's own server events: a backend may not forge either. */
const FORBIDDEN_EVENT_NAMES: ReadonlySet<string> = new Set([
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
  ...SERVER_EVENTS,
]);

/** The `POST /v1/publish` body (type and fields checked before any value; `data` is not walked). */
export const publishRequestSchema = requestObject({
  room: z.string().regex(ROOM_NAME_PATTERN, 'invalid room name').optional(),
  userId: z.string().min(1).max(256).optional(),
  event: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/, 'invalid event name')
    .refine((e) => !FORBIDDEN_EVENT_NAMES.has(e), 'reserved event name'),
  data: z.unknown().optional(),
  /** True: no history, no position (data useless late). */
  volatile: z.boolean().optional(),
}).refine((r) => (r.room === undefined) !== (r.userId === undefined), 'give exactly one of room or userId');

/** `POST /v1/publish` reads at most this much body (documented in protocol.md). */
export const PUBLISH_BODY_LIMIT_BYTES = 256 * 1024;

export type PublishRequest = z.infer<typeof publishRequestSchema>;

/** Publishes a request; resolves with the message's position when it has history. */
export type Publish = (request: PublishRequest) => Promise<MessagePosition | undefined>;

/**
 * Publishes to a client room, or to the room of every socket of a user: with history through
 * `history.publish`, volatile ones through socket.io's room broadcast.
 */
export function roomPublisher(
  io: GatewayServer,
  history: { publish(room: string, event: string, data: unknown): Promise<MessagePosition> } | undefined,
): Publish {
  return async ({ room, userId, event, data, volatile }) => {
    const target = room !== undefined ? clientRoom(room) : userRoom(userId ?? '');
    if (history !== undefined && volatile !== true) return history.publish(target, event, data);
    // App events are the backend's own vocabulary, outside the typed protocol maps.
    const untyped = io.to(target) as unknown as { emit(event: string, data: unknown): boolean };
    untyped.emit(event, data);
    return Promise.resolve(undefined);
  };
}

/** Adds `POST /v1/publish` to the service router, behind `authenticated`. */
export function mountPublishRoute(
  router: Router,
  authenticated: RequestHandler,
  deps: { publish: Publish; metrics: GatewayMetrics },
): void {
  router.post(
    '/v1/publish',
    authenticated,
    jsonBody(PUBLISH_BODY_LIMIT_BYTES),
    (req: Request, res: Response, next: NextFunction) => {
      // A ZodError goes to serviceErrorHandler: BAD_REQUEST with the bounded summary (errors/invalid-input.ts);
      // so does STORE_UNAVAILABLE from the history append (503, retryable: nothing was published).
      let request: PublishRequest;
      try {
        request = publishRequestSchema.parse(req.body);
      } catch (err) {
        return next(err);
      }
      deps.publish(request).then(
        (position) => {
          deps.metrics.publishes.inc({ result: 'accepted' });
          res
            .status(202)
            .json({ ok: true, data: position ? { accepted: true, position } : { accepted: true } });
        },
        (err: unknown) => {
          deps.metrics.publishes.inc({ result: 'refused' });
          next(err);
        },
      );
    },
  );
}
