/**
 * The service API of a node, for backends: one router with every `/v1/...` route group (events, queues and
 * seats; users; publish), one SERVICE_TOKEN check in front of them all (service-auth.ts, checked before a
 * body is read), bodies read by service-body.ts, and one error handler at the end (service-errors.ts), so
 * every failure is answered in the wire shape with its code's one HTTP status.
 */
import express, { type Router } from 'express';
import type { Logger } from '../../infra/logger.ts';
import type { GatewayMetrics } from '../../metrics/gateway-metrics.ts';
import { requireServiceToken } from './service-auth.ts';
import { serviceErrorHandler } from './service-errors.ts';
import { mountEventRoutes, type EventRoutesDeps } from './service-events.ts';
import { mountPublishRoute, type Publish } from './service-publish.ts';
import { mountUserRoutes } from './service-users.ts';
import type { UserSessions } from '../user-sessions.ts';

export interface ServiceRouterDeps {
  /** SERVICE_TOKEN; undefined turns the API off (every call answered 403 FORBIDDEN). */
  serviceToken: string | undefined;
  log: Logger;
  metrics: GatewayMetrics;
  /** The queue and seat features; without them the `/v1/events/...` routes are not mounted. */
  events: EventRoutesDeps | undefined;
  /** Ends a user's sessions on every node (`POST /v1/users/:userId/disconnect`). */
  users: UserSessions;
  /** Emits an application event to a room or a user (`POST /v1/publish`). */
  publish: Publish;
}

/** The router of every service route, to mount on the node's express app. */
export function createServiceRouter(deps: ServiceRouterDeps): Router {
  const router = express.Router();
  // One check (and one log sampler) for the whole API: each group puts it before its body parser.
  const authenticated = requireServiceToken(deps.serviceToken, deps.log);
  if (deps.events !== undefined) mountEventRoutes(router, authenticated, { ...deps.events, log: deps.log });
  mountUserRoutes(router, authenticated, { users: deps.users, log: deps.log });
  mountPublishRoute(router, authenticated, { publish: deps.publish, metrics: deps.metrics });
  // Refused, oversized or malformed bodies and anything thrown: the wire shape, not express' HTML page.
  router.use(serviceErrorHandler(deps.log));
  return router;
}
