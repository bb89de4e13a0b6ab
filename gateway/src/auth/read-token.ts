/**
 * Where a handshake's token may come from. Pure: takes the two parts of a socket.io handshake it needs,
 * so it is tested without socket.io.
 */

/** The parts of a handshake a token may be read from. The query string is deliberately not one of them. */
export interface TokenSource {
  /** socket.io's `handshake.auth`: the client's `auth` option. */
  readonly auth?: unknown;
  /** The HTTP upgrade (or first polling) request's headers; Node lower-cases their names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * The handshake token: `auth.token` when it is a non-empty string, else the credentials of an
 * `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 7235 §2.1), else undefined.
 *
 * A token in the URL query is never read: URLs end up in proxy and access logs, browser history and
 * Referer headers (RFC 6750 §5.3 advises against them).
 */
export function readToken(handshake: TokenSource): string | undefined {
  const auth = handshake.auth;
  if (typeof auth === 'object' && auth !== null && 'token' in auth) {
    const token = auth.token;
    if (typeof token === 'string' && token !== '') return token;
  }
  const header = authorizationHeader(handshake.headers);
  if (header === undefined) return undefined;
  return BEARER.exec(header)?.[1];
}

function authorizationHeader(headers: TokenSource['headers']): string | undefined {
  let value = headers.authorization;
  if (value === undefined) {
    // Node lower-cases header names; a hand-built handshake (tests, other servers) may not.
    const name = Object.keys(headers).find((k) => k.toLowerCase() === 'authorization');
    value = name === undefined ? undefined : headers[name];
  }
  if (Array.isArray(value)) {
    // Two Authorization headers: refuse to guess which one the client meant.
    return value.length === 1 ? value[0] : undefined;
  }
  return value;
}
