/**
 * The express app of a node: probes and metrics for operators (no token needed), and the service API for
 * backends (`POST /v1/publish`, authenticated by SERVICE_TOKEN).
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import express, { type Express, type Request, type Response } from 'express';
import { z } from 'zod';
import { SERVER_EVENTS, wireError, type ErrorCode } from '@stayline/client-sdk/protocol';
import type { Logger } from '../infra/logger.ts';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import { ROOM_NAME_PATTERN } from '../features/rooms/room-policy.ts';

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

export const publishRequestSchema = z
  .object({
    room: z.string().regex(ROOM_NAME_PATTERN, 'invalid room name').optional(),
    userId: z.string().min(1).max(256).optional(),
    event: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/, 'invalid event name')
      .refine((e) => !FORBIDDEN_EVENT_NAMES.has(e), 'reserved event name'),
    data: z.unknown().optional(),
  })
  .strict()
  .refine((r) => (r.room === undefined) !== (r.userId === undefined), 'give exactly one of room or userId');

export type PublishRequest = z.infer<typeof publishRequestSchema>;

export interface HttpAppDeps {
  metrics: GatewayMetrics;
  log: Logger;
  nodeId: string;
  serviceToken: string | undefined;
  /** Resolves { ready, reasons } — reasons name what is not ready (draining, store). */
  readiness: () => Promise<{ ready: boolean; checks: Record<string, string> }>;
  publish: (request: PublishRequest) => void;
}

/** The HTTP status of each code the service API answers with (400 for any other). */
export const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  FORBIDDEN: 403,
  AUTH_MISSING: 401,
  AUTH_INVALID: 401,
  AUTH_REVOKED: 401,
  STORE_UNAVAILABLE: 503,
  INTERNAL: 500,
};

function fail(res: Response, code: ErrorCode, message?: string): void {
  res.status(HTTP_STATUS[code] ?? 400).json({ ok: false, error: wireError(code, message) });
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** Constant-time comparison of the bearer token with SERVICE_TOKEN (hashed first so lengths match). */
export function hasServiceToken(req: Request, expected: string): boolean {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(.+)$/i.exec(header);
  return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), digest(expected));
}

export function createHttpApp(deps: HttpAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', nodeId: deps.nodeId });
  });

  app.get('/readyz', (_req, res, next) => {
    deps.readiness().then(({ ready, checks }) => {
      deps.metrics.ready.set(ready ? 1 : 0);
      res.status(ready ? 200 : 503).json({ ready, nodeId: deps.nodeId, checks });
    }, next);
  });

  app.get('/metrics', (_req, res, next) => {
    deps.metrics.registry.metrics().then((text) => {
      res.type(deps.metrics.registry.contentType).send(text);
    }, next);
  });

  app.post('/v1/publish', express.json({ limit: '256kb' }), (req, res) => {
    if (deps.serviceToken === undefined)
      return fail(res, 'FORBIDDEN', 'The service API is off: set SERVICE_TOKEN.');
    if (!hasServiceToken(req, deps.serviceToken))
      return fail(res, 'AUTH_INVALID', 'A valid service token is required.');
    const parsed = publishRequestSchema.safeParse(req.body);
    if (!parsed.success) {
      return fail(
        res,
        'BAD_REQUEST',
        parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
      );
    }
    deps.publish(parsed.data);
    deps.metrics.publishes.inc({ result: 'accepted' });
    res.status(202).json({ ok: true, data: { accepted: true } });
  });

  // Malformed JSON and anything thrown above: a wire-shaped answer, the cause logged, no stack sent.
  app.use((err: unknown, _req: Request, res: Response, _next: express.NextFunction) => {
    const status = (err as { status?: unknown }).status;
    if (status === 400 || status === 413)
      return fail(res, 'BAD_REQUEST', 'Malformed or oversized JSON body.');
    deps.log.error({ err }, 'http request failed');
    fail(res, 'INTERNAL');
  });

  return app;
}
