/**
 * An HTTP proxy on 127.0.0.1 (port 0) that passes plain HTTP requests on to `target` and refuses every
 * websocket upgrade, like a corporate proxy that blocks websockets. It counts what it saw.
 */
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface NoWebsocketProxy {
  url: string;
  /** Websocket upgrades refused, and HTTP requests passed on (engine.io polling among them). */
  readonly counts: { upgradesRefused: number; requests: number; pollingRequests: number };
  close(): Promise<void>;
}

export async function startNoWebsocketProxy(target: string): Promise<NoWebsocketProxy> {
  const to = new URL(target);
  const counts = { upgradesRefused: 0, requests: 0, pollingRequests: 0 };
  const server = createServer((req: IncomingMessage, res) => {
    counts.requests++;
    if ((req.url ?? '').includes('transport=polling')) counts.pollingRequests++;
    const upstream = request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  server.on('upgrade', (_req, socket) => {
    counts.upgradesRefused++;
    socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
