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
  onRefused(refusal: { reason: GateRefusal; handshake: boolean; req: IncomingMessage }): void;
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
  ): { reason: GateRefusal; status: 403 | 503 } | undefined => {
    const handshake = sidOf(url) === undefined;
    if (!options.isAllowedOrigin(req.headers.origin, req.headers.host)) {
      options.onRefused({ reason: 'ORIGIN_FORBIDDEN', handshake, req });
      return { reason: 'ORIGIN_FORBIDDEN', status: 403 };
    }
    if (
      mayHandshake &&
      handshake &&
      url.startsWith(options.path) &&
      options.pendingHandshakes() >= options.maxPendingHandshakes
    ) {
      options.onRefused({ reason: 'PENDING_HANDSHAKES', handshake, req });
      return { reason: 'PENDING_HANDSHAKES', status: 503 };
    }
    return undefined;
  };

  const requestListeners = httpServer.listeners('request') as RequestListener[];
  httpServer.removeAllListeners('request');
  httpServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    // Only GET opens an Engine.IO connection (engine.io answers a POST without sid 400 by itself).
    const verdict = url.startsWith(options.path) ? judge(req, url, req.method === 'GET') : undefined;
    if (verdict === undefined) {
      for (const listener of requestListeners) listener.call(httpServer, req, res);
      return;
    }
    // The body (if any) is never read: close the connection after the answer instead of draining it.
    res.writeHead(verdict.status, {
      'content-type': 'application/json',
      connection: 'close',
      ...(verdict.status === 503 ? { 'retry-after': '1' } : {}),
    });
    res.end(JSON.stringify({ code: verdict.reason, message: STATUS_TEXT[verdict.status] }));
  });

  const upgradeListeners = httpServer.listeners('upgrade') as UpgradeListener[];
  httpServer.removeAllListeners('upgrade');
  httpServer.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const verdict = judge(req, req.url ?? '/', true);
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
