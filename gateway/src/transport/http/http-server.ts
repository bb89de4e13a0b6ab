/**
 * transport/http/ owns the node's HTTP side: the node:http server and its express app (this file), the
 * service API for backends (service-router.ts mounts service-events, service-users and service-publish
 * behind service-auth.ts, with service-body.ts and service-errors.ts), the operator routes
 * (health-routes.ts, readiness.ts) and the demo page.
 *
 * The node's HTTP server. The express app is the server's request listener from the start:
 * socket.io, attached to `server` next, takes over its /socket.io/ path and hands every other request on
 * to it. The routes are mounted once the parts they serve exist.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Router } from 'express';
import { createDemoRoute } from './demo-route.ts';

/** The routes of a node, mounted in this order (their paths do not overlap). */
export interface NodeRoutes {
  /** The service API (service-router.ts). */
  service: Router;
  /** /healthz, /readyz, /metrics (health-routes.ts). */
  health: Router;
}

export interface NodeHttpServer {
  /** The node:http server to attach socket.io to (createSocketServer). Not listening until listen(). */
  readonly server: Server;
  /** Mounts the service API, the demo page and the operator routes. Call once. */
  mount(routes: NodeRoutes): void;
  /**
   * Listens on `host:port` (0: any free port) with an accept queue of `backlog` (LISTEN_BACKLOG); resolves
   * with the bound port, rejects on a listen error.
   */
  listen(port: number, host: string, backlog: number): Promise<number>;
  /**
   * Ends every HTTP connection still open (keep-alive requests, long polls). Call after socket.io has
   * closed, which closes the listening server itself.
   */
  closeConnections(): void;
}

/** Builds the node's HTTP server and express app, not listening. */
export function createHttpServer(): NodeHttpServer {
  const app = express();
  const server = createServer(app);
  return {
    server,
    mount(routes) {
      app.use(routes.service);
      app.use(createDemoRoute());
      app.use(routes.health);
    },
    async listen(port, host, backlog) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host, backlog }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return (server.address() as AddressInfo).port;
    },
    closeConnections() {
      server.closeAllConnections();
    },
  };
}
