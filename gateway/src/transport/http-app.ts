/**
 * The express app of a node: probes and metrics for operators (no token needed), and the service API for
 * backends (`POST /v1/publish`, authenticated by SERVICE_TOKEN before its body is read: service-http.ts).
 */
import express, { type Express, type Request, type Response } from 'express';
import { z } from 'zod';
import { SERVER_EVENTS } from '@stayline/client-sdk/protocol';
import { requestObject } from '../infra/bounded-schema.ts';
import type { Logger } from '../infra/logger.ts';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import { ROOM_NAME_PATTERN } from '../features/rooms/room-policy.ts';
import { jsonBody, requireServiceToken, serviceErrorHandler } from './service-http.ts';

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
}).refine((r) => (r.room === undefined) !== (r.userId === undefined), 'give exactly one of room or userId');

/** `POST /v1/publish` reads at most this much body (documented in protocol.md). */
export const PUBLISH_BODY_LIMIT_BYTES = 256 * 1024;

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

  app.post(
    '/v1/publish',
    requireServiceToken(deps.serviceToken, deps.log),
    jsonBody(PUBLISH_BODY_LIMIT_BYTES),
    (req: Request, res: Response) => {
      // A ZodError goes to serviceErrorHandler: BAD_REQUEST with the bounded summary (errors/invalid-input.ts).
      deps.publish(publishRequestSchema.parse(req.body));
      deps.metrics.publishes.inc({ result: 'accepted' });
      res.status(202).json({ ok: true, data: { accepted: true } });
    },
  );

  // Refused, oversized or malformed bodies and anything thrown above: a wire-shaped answer, no stack sent.
  app.use(serviceErrorHandler(deps.log));

  return app;
}
