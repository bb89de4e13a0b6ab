/**
 * The service API of waiting queues and seat holds, for backends (SERVICE_TOKEN as a bearer token):
 * - `PUT  /v1/events/:eventId` `{ seats, requiresAdmission?, admissionRatePerSecond?, maxSeatsPerUser?, holdSeconds? }`
 *   creates or replaces an event (idempotent); 201 when created, 200 when replaced.
 * - `GET  /v1/events/:eventId` the definition.
 * - `POST /v1/events/:eventId/admit` `{ count }` admits the next `count` users in order.
 * - `POST /v1/events/:eventId/seats/confirm` `{ userId, seatIds, fence }` sells held seats; 409 FENCE_STALE.
 * Answers are `{ ok: true, data }` or `{ ok: false, error }` with the wire error shape.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { ErrorCode } from '@stayline/client-sdk/protocol';
import { admitUsers, eventIdSchema, type QueueDeps } from '../features/queue/queue-handlers.ts';
import { confirmSale, defineEvent, type SeatDeps } from '../features/seats/seat-handlers.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { Logger } from '../infra/logger.ts';
import { edgeError } from './request-edge.ts';

const admitSchema = z.object({ count: z.number().int().min(1).max(10_000) }).strict();

const STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  AUTH_INVALID: 401,
  AUTH_REVOKED: 401,
  FORBIDDEN: 403,
  EVENT_UNKNOWN: 404,
  SEAT_UNKNOWN: 404,
  FENCE_STALE: 409,
  STORE_UNAVAILABLE: 503,
  INTERNAL: 500,
};

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

export function createClaimsHttp(deps: {
  serviceToken: string | undefined;
  queueDeps: QueueDeps;
  seatDeps: SeatDeps;
  log: Logger;
}): Router {
  const router = express.Router();
  const handle =
    (run: (req: Request) => Promise<{ status: number; data: unknown }>) =>
    (req: Request, res: Response): void => {
      const respond = (status: number, body: unknown) => void res.status(status).json(body);
      if (deps.serviceToken === undefined) {
        const error = edgeError(
          new GatewayError('FORBIDDEN', 'The service API is off: set SERVICE_TOKEN.'),
          deps.log,
          {},
        );
        return respond(403, { ok: false, error });
      }
      const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
      if (match?.[1] === undefined || !timingSafeEqual(digest(match[1]), digest(deps.serviceToken))) {
        const error = edgeError(
          new GatewayError('AUTH_INVALID', 'A valid service token is required.'),
          deps.log,
          {},
        );
        return respond(401, { ok: false, error });
      }
      run(req).then(
        ({ status, data }) => respond(status, { ok: true, data }),
        (err: unknown) => {
          const error = edgeError(err, deps.log, { path: req.path });
          respond(STATUS[error.code] ?? 400, { ok: false, error });
        },
      );
    };
  const json = express.json({ limit: '4mb' });
  const param = (req: Request): string => eventIdSchema.parse(req.params['eventId']);

  router.put(
    '/v1/events/:eventId',
    json,
    handle(async (req) => {
      const result = await defineEvent(deps.seatDeps, param(req), req.body);
      return { status: result.created ? 201 : 200, data: result };
    }),
  );
  router.get(
    '/v1/events/:eventId',
    handle(async (req) => {
      const event = await deps.seatDeps.store.getEvent(param(req));
      if (event === null) throw new GatewayError('EVENT_UNKNOWN');
      return { status: 200, data: event };
    }),
  );
  router.post(
    '/v1/events/:eventId/admit',
    json,
    handle(async (req) => {
      const eventId = param(req);
      const { count } = admitSchema.parse(req.body);
      const admitted = await admitUsers(deps.queueDeps, eventId, count);
      return { status: 200, data: { eventId, admitted: admitted.map((a) => a.userId) } };
    }),
  );
  router.post(
    '/v1/events/:eventId/seats/confirm',
    json,
    handle(async (req) => ({ status: 200, data: await confirmSale(deps.seatDeps, param(req), req.body) })),
  );
  // Malformed or oversized JSON: the wire shape, not express' HTML page.
  router.use((err: unknown, req: Request, res: Response, _next: express.NextFunction) => {
    const status = (err as { status?: unknown }).status;
    const error =
      status === 400 || status === 413
        ? edgeError(new GatewayError('BAD_REQUEST', 'Malformed or oversized JSON body.'), deps.log, {})
        : edgeError(err, deps.log, { path: req.path });
    res.status(STATUS[error.code] ?? 400).json({ ok: false, error });
  });
  return router;
}
