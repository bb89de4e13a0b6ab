/**
 * The gate in front of Engine.IO on the node's HTTP server: every request and upgrade is judged here before
 * engine.io reads anything of it.
 * - Origin, on every request of the socket.io path and on every upgrade: engine.io's `allowRequest` runs
 *   only for handshakes, so a polling request of an open connection (a `sid` in its query) would skip it.
 *   Refused: HTTP 403 (engine.io itself would answer a refused upgrade 400).
 * - Pending handshakes: a new Engine.IO connection (a polling GET or an upgrade without `sid`) is refused
 *   with HTTP 503 while the node already holds `maxPendingHandshakes` connections that have not completed
 *   the Socket.IO CONNECT. A 503 is a transport error to socket.io-client, which keeps its reconnection on
 *   and retries with its backoff; `allowRequest` could only answer 400 or 403.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WireError } from '@stayline/client-sdk/protocol';
import { HTTP_STATUS } from '../../errors/http-status.ts';

/**
 * The body of a refused origin's 403: bounded, it names the variable to fix and never echoes the origin.
 * It is sent with `Access-Control-Allow-Origin` set to the refused origin: a browser hides a websocket's 403
 * from the page, and a 403 without CORS headers too; with them, the SDK's probe after a failed websocket
 * (one GET of the engine's polling URL) reads the status and tells a refused origin from an unreachable
 * server instead of retrying forever. Letting the refused origin read this exposes nothing: every socket.io
 * request from it is refused.
 */
const ORIGIN_FORBIDDEN_BODY: WireError = Object.freeze({
  code: 'ORIGIN_FORBIDDEN',
  message:
    "This page's origin may not connect to the gateway: add it to the gateway's CORS_ORIGINS " +
    '(any http://localhost:* page may connect when NODE_ENV is development).',
  retryable: false,
});

/** Why the gate refused a request (a bounded set: metrics label and log key). */
export type GateRefusal = 'ORIGIN_FORBIDDEN' | 'PENDING_HANDSHAKES';

export interface EngineGateOptions {
  /** The Engine.IO path with its trailing slash, as engine.io matches it (`/socket.io/`). */
  path: string;
  isAllowedOrigin(origin: string | undefined, host: string | undefined): boolean;
  /** Engine connections of this node that have not completed the Socket.IO CONNECT. */
  pendingHandshakes(): number;
  /** MAX_PENDING_HANDSHAKES. */
  maxPendingHandshakes: number;
  /** Called for every refusal, before the answer is written; `handshake` is false for a request with a sid. */
  onRefused(refusal: {
    reason: GateRefusal;
    handshake: boolean;
    transport: 'polling' | 'websocket';
    req: IncomingMessage;
  }): void;
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;
type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

const STATUS_TEXT = { 403: 'Forbidden', 503: 'Service Unavailable' } as const;

/** The `sid` of an Engine.IO request URL (engine.io treats an empty one as none). */
function sidOf(url: string): string | undefined {
  const query = url.indexOf('?');
  if (query < 0) return undefined;
  const sid = new URLSearchParams(url.slice(query + 1)).get('sid');
  return sid === null || sid === '' ? undefined : sid;
}

/**
 * Wraps the server's current 'request' and 'upgrade' listeners (engine.io's, which hand other paths on to
 * the express app) behind the gate. Call once, after socket.io is attached to `httpServer`.
 */
export function gateEngine(httpServer: HttpServer, options: EngineGateOptions): void {
  const judge = (
    req: IncomingMessage,
    url: string,
    mayHandshake: boolean,
    transport: 'polling' | 'websocket',
  ): { reason: GateRefusal; status: 403 | 503 } | undefined => {
    const handshake = sidOf(url) === undefined;
    if (!options.isAllowedOrigin(req.headers.origin, req.headers.host)) {
      options.onRefused({ reason: 'ORIGIN_FORBIDDEN', handshake, transport, req });
      return { reason: 'ORIGIN_FORBIDDEN', status: HTTP_STATUS.ORIGIN_FORBIDDEN };
    }
    if (
      mayHandshake &&
      handshake &&
      url.startsWith(options.path) &&
      options.pendingHandshakes() >= options.maxPendingHandshakes
    ) {
      options.onRefused({ reason: 'PENDING_HANDSHAKES', handshake, transport, req });
      return { reason: 'PENDING_HANDSHAKES', status: 503 };
    }
    return undefined;
  };

  const requestListeners = httpServer.listeners('request') as RequestListener[];
  httpServer.removeAllListeners('request');
  httpServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    // Only GET opens an Engine.IO connection (engine.io answers a POST without sid 400 by itself).
    const verdict = url.startsWith(options.path)
      ? judge(req, url, req.method === 'GET', 'polling')
      : undefined;
    if (verdict === undefined) {
      for (const listener of requestListeners) listener.call(httpServer, req, res);
      return;
    }
    // The body (if any) is never read: close the connection after the answer instead of draining it.
    const origin = req.headers.origin;
    const body = JSON.stringify(
      verdict.reason === 'ORIGIN_FORBIDDEN'
        ? ORIGIN_FORBIDDEN_BODY
        : { code: verdict.reason, message: STATUS_TEXT[verdict.status] },
    );
    res.writeHead(verdict.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      connection: 'close',
      ...(verdict.status === 503 ? { 'retry-after': '1' } : {}),
      ...(verdict.reason === 'ORIGIN_FORBIDDEN' && origin !== undefined
        ? { 'access-control-allow-origin': origin, vary: 'Origin' }
        : {}),
    });
    res.end(body);
  });

  const upgradeListeners = httpServer.listeners('upgrade') as UpgradeListener[];
  httpServer.removeAllListeners('upgrade');
  httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const verdict = judge(req, req.url ?? '/', true, 'websocket');
    if (verdict === undefined) {
      for (const listener of upgradeListeners) listener.call(httpServer, req, socket, head);
      return;
    }
    const retry = verdict.status === 503 ? 'Retry-After: 1\r\n' : '';
    socket.end(
      `HTTP/1.1 ${verdict.status} ${STATUS_TEXT[verdict.status]}\r\nConnection: close\r\n${retry}Content-Length: 0\r\n\r\n`,
    );
  });
}
