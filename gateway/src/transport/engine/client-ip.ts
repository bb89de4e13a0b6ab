/**
 * The client's IP address, for per-IP limits and operator logs. By default the peer address of the TCP
 * connection. Behind a load balancer that is the balancer's address, so TRUST_PROXY names the header the
 * balancer writes: with `x-forwarded-for` the right-most entry (the one our own proxy appended; entries to
 * its left come from the client and can be forged), with any other header (`x-real-ip`) its value.
 */
import type { IncomingMessage } from 'node:http';

export type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** At most this many characters of an address are kept: a forged header cannot make a huge map key. */
const MAX_ADDRESS_LENGTH = 64;
/** Longest header value copied into a log line: an Origin is whatever the client sent. */
const MAX_LOGGED_HEADER_CHARS = 200;

export function clientIp(peerAddress: string | undefined, headers: Headers, trustProxy?: string): string {
  const peer = (peerAddress ?? 'unknown').slice(0, MAX_ADDRESS_LENGTH);
  if (trustProxy === undefined) return peer;
  const raw = headers[trustProxy];
  const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (value === undefined) return peer;
  const entry = trustProxy === 'x-forwarded-for' ? value.slice(value.lastIndexOf(',') + 1) : value;
  const trimmed = entry.trim().slice(0, MAX_ADDRESS_LENGTH);
  return trimmed === '' ? peer : trimmed;
}

/**
 * The client address of `req`. Engine.IO reads the peer address of a connection's first request when it
 * opens it, and Node caches it, so this still answers after that request's TCP connection has closed.
 */
const requestIp = (req: IncomingMessage, trustProxy?: string): string =>
  clientIp(req.socket.remoteAddress, req.headers, trustProxy);

/**
 * Who a refusal was for, as log fields: the client address and the Origin header. Never the URL (a token
 * may have been put in the query string), a cookie or an Authorization header.
 */
export function clientFields(
  req: IncomingMessage,
  trustProxy?: string,
): { ip: string; origin: string | undefined } {
  const origin = req.headers.origin;
  return { ip: requestIp(req, trustProxy), origin: origin?.slice(0, MAX_LOGGED_HEADER_CHARS) };
}
