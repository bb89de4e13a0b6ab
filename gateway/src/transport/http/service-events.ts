/**
 * The service routes of waiting queues and seat holds, for backends (mounted by service-router.ts behind
 * SERVICE_TOKEN):
 * - `PUT  /v1/events/:eventId` `{ seats, requiresAdmission?, admissionRatePerSecond?, maxSeatsPerUser?, holdSeconds? }`
 *   creates or replaces an event (idempotent); 201 when created, 200 when replaced.
 * - `GET  /v1/events/:eventId` the definition.
 * - `DELETE /v1/events/:eventId[?force=true]` deletes the event and every key of it; 409 EVENT_BUSY while
 *   holds are live or users queued or admitted, unless forced; 404 EVENT_UNKNOWN when there is none.
 * - `POST /v1/events/:eventId/admit` `{ count }` admits the next `count` users in order.
 * - `POST /v1/events/:eventId/seats/confirm` `{ userId, seatIds, fence }` sells held seats; 409 FENCE_STALE.
 * Answers are `{ ok: true, data }` or `{ ok: false, error }` with the wire error shape. The token is checked
 * before the body is read (service-auth.ts), and each route reads at most the body it needs (service-body.ts).
 */
import type { Request, RequestHandler, Router } from 'express';
import { z } from 'zod';
import { eventIdSchema, type QueueFeature } from '../../features/queue/index.ts';
import {
  MAX_SEAT_ID_LENGTH,
  MAX_SEATS_PER_EVENT,
  MAX_SEATS_PER_REQUEST,
  type SeatsFeature,
} from '../../features/seats/index.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { requestObject } from '../../infra/bounded-schema.ts';
import type { Logger } from '../../infra/logger.ts';
import { edgeError } from '../requests/request-edge.ts';
import { jsonBody } from './service-body.ts';
import { sendWireError } from './service-errors.ts';

const admitSchema = requestObject({ count: z.number().int().min(1).max(10_000) });

/**
 * Bytes one seat id takes in a body: the id, its quotes and comma, a newline and the indentation of a
 * pretty-printer (4 spaces, two levels deep). Compact JSON takes less.
 */
const SEAT_ID_BODY_BYTES = MAX_SEAT_ID_LENGTH + 3 + 1 + 8;
/** Room for a body's other fields (user id, flags, numbers) and its punctuation. */
const BODY_SLACK_BYTES = 4 * 1024;
/**
 * `PUT /v1/events/:eventId`: the documented maximum event (MAX_SEATS_PER_EVENT ids of MAX_SEAT_ID_LENGTH
 * characters, pretty-printed) fits; about 7.6 MB.
 */
export const EVENT_BODY_LIMIT_BYTES = MAX_SEATS_PER_EVENT * SEAT_ID_BODY_BYTES + 16 * BODY_SLACK_BYTES;
/** `POST .../admit` carries one number. */
export const ADMIT_BODY_LIMIT_BYTES = BODY_SLACK_BYTES;
/** `POST .../seats/confirm`: a user id, a fence and at most MAX_SEATS_PER_REQUEST seat ids. */
export const CONFIRM_BODY_LIMIT_BYTES = MAX_SEATS_PER_REQUEST * SEAT_ID_BODY_BYTES + BODY_SLACK_BYTES;

/** What the event routes act on: the queue and seat features of this node. */
export interface EventRoutesDeps {
  queue: QueueFeature;
  seats: SeatsFeature;
}

/**
 * Adds the event, queue and seat routes to the service router, each behind `authenticated`; their failures
 * are answered here or by the router's error handler.
 */
export function mountEventRoutes(
  router: Router,
  authenticated: RequestHandler,
  deps: EventRoutesDeps & { log: Logger },
): void {
  const handle =
    (run: (req: Request) => Promise<{ status: number; data: unknown }>): RequestHandler =>
    (req, res) => {
      run(req).then(
        ({ status, data }) => void res.status(status).json({ ok: true, data }),
        (err: unknown) => sendWireError(res, edgeError(err, deps.log, { path: req.path })),
      );
    };
  const param = (req: Request): string => eventIdSchema.parse(req.params['eventId']);

  router.put(
    '/v1/events/:eventId',
    authenticated,
    jsonBody(EVENT_BODY_LIMIT_BYTES),
    handle(async (req) => {
      const result = await deps.seats.defineEvent(param(req), req.body);
      return { status: result.created ? 201 : 200, data: result };
    }),
  );
  router.get(
    '/v1/events/:eventId',
    authenticated,
    handle(async (req) => {
      const event = await deps.seats.getEvent(param(req));
      if (event === null) throw new GatewayError('EVENT_UNKNOWN');
      return { status: 200, data: event };
    }),
  );
  router.delete(
    '/v1/events/:eventId',
    authenticated,
    handle(async (req) => {
      const force = req.query['force'];
      if (force !== undefined && force !== 'true' && force !== 'false')
        throw new GatewayError('BAD_REQUEST', 'force is true or false.');
      return { status: 200, data: await deps.seats.deleteEvent(param(req), force === 'true') };
    }),
  );
  router.post(
    '/v1/events/:eventId/admit',
    authenticated,
    jsonBody(ADMIT_BODY_LIMIT_BYTES),
    handle(async (req) => {
      const eventId = param(req);
      const { count } = admitSchema.parse(req.body);
      const admitted = await deps.queue.admit(eventId, count);
      return { status: 200, data: { eventId, admitted: admitted.map((a) => a.userId) } };
    }),
  );
  router.post(
    '/v1/events/:eventId/seats/confirm',
    authenticated,
    jsonBody(CONFIRM_BODY_LIMIT_BYTES),
    handle(async (req) => ({ status: 200, data: await deps.seats.confirmSale(param(req), req.body) })),
  );
}
