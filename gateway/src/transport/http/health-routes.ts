/**
 * The operator routes of a node, no token needed: `GET /healthz` (alive), `GET /readyz` (200 when ready,
 * 503 with the failing checks otherwise: readiness.ts) and `GET /metrics` (Prometheus text; `?name[]=` for
 * some families only).
 */
import express, { type Router } from 'express';
import { wireError } from '@stayline/client-sdk/protocol';
import type { Logger } from '../../infra/logger.ts';
import type { GatewayMetrics } from '../../metrics/gateway-metrics.ts';
import type { Readiness } from './readiness.ts';
import { scrapeFilter, scrapeText } from '../../metrics/scrape.ts';
import { sendWireError, serviceErrorHandler } from './service-errors.ts';

export interface HealthRoutesDeps {
  metrics: GatewayMetrics;
  log: Logger;
  nodeId: string;
  readiness: Readiness;
}

/** The router of /healthz, /readyz and /metrics, with its own wire-shaped error answers. */
export function createHealthRoutes(deps: HealthRoutesDeps): Router {
  const router = express.Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', nodeId: deps.nodeId });
  });

  router.get('/readyz', (_req, res, next) => {
    deps.readiness().then(({ ready, checks }) => {
      deps.metrics.ready.set(ready ? 1 : 0);
      // Not an error code's answer: a load balancer's health check reads 503 as "route elsewhere".
      res.status(ready ? 200 : 503).json({ ready, nodeId: deps.nodeId, checks });
    }, next);
  });

  // `?name[]=...` reads only those families (metrics/scrape.ts): a cheap scrape for frequent pollers.
  router.get('/metrics', (req, res, next) => {
    const filter = scrapeFilter(new URL(req.originalUrl, 'http://localhost').searchParams);
    if ('error' in filter) return sendWireError(res, wireError('BAD_REQUEST', filter.error));
    scrapeText(deps.metrics.registry, filter.names).then((text) => {
      res.type(deps.metrics.registry.contentType).send(text);
    }, next);
  });

  // A failed metrics scrape or readiness read: a wire-shaped INTERNAL, logged with its cause, no stack sent.
  router.use(serviceErrorHandler(deps.log));
  return router;
}
