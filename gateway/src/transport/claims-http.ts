/**
 * The service API of waiting queues and seat holds, for backends (SERVICE_TOKEN as a bearer token):
 * - `PUT  /v1/events/:eventId` `{ seats, requiresAdmission?, admissionRatePerSecond?, maxSeatsPerUser?, holdSeconds? }`
 *   creates or replaces an event (idempotent); 201 when created, 200 when replaced.
 * - `GET  /v1/events/:eventId` the definition.
 * - `POST /v1/events/:eventId/admit` `{ count }` admits the next `count` users in order.
 * - `POST /v1/events/:eventId/seats/confirm` `{ userId, seatIds, fence }` sells held seats; 409 FENCE_STALE.
 * Answers are `{ ok: true, data }` or `{ ok: false, error }` with the wire error shape. The token is checked
 * before the body is read, and each route reads at most the body it needs (service-http.ts).
 */
import express, { type Request, type Router } from 'express';
import { z } from 'zod';
import { eventIdSchema, type QueueFeature } from '../features/queue/index.ts';
import {
  MAX_SEAT_ID_LENGTH,
  MAX_SEATS_PER_EVENT,
  MAX_SEATS_PER_REQUEST,
  type SeatsFeature,
} from '../features/seats/index.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import { requestObject } from '../infra/bounded-schema.ts';
import type { Logger } from '../infra/logger.ts';
import { jsonBody, requireServiceToken, sendWireError, serviceErrorHandler } from './service-http.ts';
import { edgeError } from './request-edge.ts';

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

/** The router of the queue and seat service routes (mounted on the node's express app). */
export function createClaimsHttp(deps: {
  serviceToken: string | undefined;
  queue: QueueFeature;
  seats: SeatsFeature;
  log: Logger;
}): Router {
  const router = express.Router();
  const authenticated = requireServiceToken(deps.serviceToken, deps.log);
  const handle =
    (run: (req: Request) => Promise<{ status: number; data: unknown }>): express.RequestHandler =>
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
  // Refused, oversized or malformed bodies and anything thrown: the wire shape, not express' HTML page.
  router.use(serviceErrorHandler(deps.log));
  return router;
}
