/**
 * The address a client connects from, for operator logs. Today the TCP peer of the request; behind a load
 * balancer that is the balancer, so this is the one place that will read forwarded headers once the node
 * is told to trust its proxy.
 */
import type { IncomingMessage } from 'node:http';

/**
 * The client address of `req`. Engine.IO reads the peer address of a connection's first request when it
 * opens it, and Node caches it, so this still answers after that request's TCP connection has closed.
 */
export function clientIp(req: IncomingMessage): string | undefined {
  return req.socket.remoteAddress;
}

/** Longest header value copied into a log line: an Origin is whatever the client sent. */
const MAX_LOGGED_HEADER_CHARS = 200;

/**
 * Who a refusal was for, as log fields: the client address and the Origin header. Never the URL (a token
 * may have been put in the query string), a cookie or an Authorization header.
 */
export function clientFields(req: IncomingMessage): { ip: string | undefined; origin: string | undefined } {
  const origin = req.headers.origin;
  return { ip: clientIp(req), origin: origin?.slice(0, MAX_LOGGED_HEADER_CHARS) };
}
