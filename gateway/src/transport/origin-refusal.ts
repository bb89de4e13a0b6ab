/**
 * A refused origin's socket.io polling request is answered here, before engine.io: HTTP 403 with the wire
 * error `{ code: 'ORIGIN_FORBIDDEN', message, retryable: false }` and `Access-Control-Allow-Origin` set to
 * the refused origin. A browser hides a websocket's 403 from the page, and hides a 403 without CORS headers
 * too; with them, the SDK's probe after a failed websocket (one GET of the engine's polling URL) reads the
 * status and tells a refused origin from an unreachable server, instead of retrying forever. Letting the
 * refused origin read this response exposes nothing: every socket.io request from it is refused.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { WireError } from '@stayline/client-sdk/protocol';
import type { OriginPolicy } from './origin-policy.ts';

/** The body of the 403: bounded, it names the variable to fix and never echoes the refused origin. */
export const ORIGIN_FORBIDDEN_BODY: WireError = Object.freeze({
  code: 'ORIGIN_FORBIDDEN',
  message:
    "This page's origin may not connect to the gateway: add it to the gateway's CORS_ORIGINS " +
    '(any http://localhost:* page may connect when NODE_ENV is development).',
  retryable: false,
});

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Wraps the server's request listeners (install it after socket.io attached): requests under `path` from a
 * refused origin get the 403 above and `onRefused(origin)`; everything else goes on as before.
 */
export function refuseForeignOrigins(
  httpServer: HttpServer,
  options: { path: string; policy: OriginPolicy; onRefused: (origin: string) => void },
): void {
  const prefix = `${options.path.replace(/\/+$/, '')}/`;
  const listeners = httpServer.listeners('request') as RequestListener[];
  httpServer.removeAllListeners('request');
  httpServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const origin = req.headers.origin;
    if (
      origin !== undefined &&
      (req.url ?? '').startsWith(prefix) &&
      !options.policy.isAllowed(origin, req.headers.host)
    ) {
      options.onRefused(origin);
      const body = JSON.stringify(ORIGIN_FORBIDDEN_BODY);
      res.writeHead(403, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'access-control-allow-origin': origin,
        vary: 'Origin',
        'cache-control': 'no-store',
      });
      res.end(body);
      return;
    }
    for (const listener of listeners) listener.call(httpServer, req, res);
  });
}
