/**
 * Token verification: a pure, synchronous function of the token, the key ring and the clock. It never
 * sees a socket; the handshake middleware and the `auth:refresh` handler call it and map its GatewayError.
 */
import jwt from 'jsonwebtoken';
import type { UserId } from '@stayline/client-sdk/protocol';
import { GatewayError } from '../errors/gateway-error.ts';
import { loadKeyRing, type AuthConfig, type KeyRing } from './key-ring.ts';

/** Who a verified token speaks for. */
export interface Principal {
  /** The token's `sub`. */
  readonly userId: UserId;
  /** The token's `exp`, in epoch milliseconds. */
  readonly expiresAtMs: number;
  /**
   * When the token counts as issued, in whole epoch seconds, for revocation (a revocation refuses every
   * token whose issuedAtSeconds is at or before it): the token's `iat` rounded down, or for a token without
   * `iat`, `exp - JWT_MAX_LIFETIME_SECONDS` rounded down (the earliest it can have been issued, so a
   * revocation never misses it).
   */
  readonly issuedAtSeconds: number;
  /** Every claim of the verified payload (including `sub` and `exp`), frozen. */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** Verifies tokens; every failure is a GatewayError with an AUTH_* code and a message without the token. */
export interface TokenVerifier {
  /**
   * Verifies a handshake token. Throws AUTH_MISSING (no token), AUTH_EXPIRED (otherwise valid but expired
   * beyond the clock tolerance) or AUTH_INVALID (anything else, including a lifetime over
   * JWT_MAX_LIFETIME_SECONDS and an `iat` in the future). Revocation is not checked here: it lives in the
   * session store (see Principal.issuedAtSeconds).
   */
  verify(token: string | undefined): Principal;
  /**
   * Verifies a token sent on a live connection (`auth:refresh`): the same checks as `verify`, then
   * AUTH_SUBJECT_MISMATCH when its `sub` is not the connection's user.
   */
  verifyRefresh(token: string | undefined, currentUserId: UserId): Principal;
}

/** Options of createTokenVerifier. */
export interface TokenVerifierOptions {
  /** The clock, in epoch milliseconds. Default: `Date.now`. */
  now?: () => number;
  /** An already loaded key ring. Default: `loadKeyRing(auth)`, read once here. */
  keyRing?: KeyRing;
}

/** Longest `sub` accepted: user ids end up in Redis keys, logs and metrics exemplars. */
export const MAX_SUBJECT_LENGTH = 256;
/**
 * Longest token accepted, checked before any decoding: a handshake is unauthenticated input, and a JWT
 * that carries a user id and a few claims is well under 1 KiB.
 */
export const MAX_TOKEN_LENGTH = 8192;

/**
 * Builds a verifier over the configured keys (loaded once, here). Throws ConfigError at start when a key
 * is unusable.
 */
export function createTokenVerifier(auth: AuthConfig, options: TokenVerifierOptions = {}): TokenVerifier {
  const ring = options.keyRing ?? loadKeyRing(auth);
  const now = options.now ?? Date.now;
  const clockToleranceSeconds = auth.clockToleranceSeconds;
  const maxLifetimeSeconds = auth.maxLifetimeSeconds;
  // jsonwebtoken wants a mutable Algorithm[]; built once per key, not per call.
  const algorithmsByKey = new Map(ring.keys.map((k) => [k, [...k.algorithms]]));
  const baseOptions: jwt.VerifyOptions = {
    clockTolerance: clockToleranceSeconds,
    // Expiry is checked last, below, so AUTH_EXPIRED ("fetch a fresh token") is only ever said about a
    // token that passed every other check; jsonwebtoken checks exp before iss/aud.
    ignoreExpiration: true,
    ...(auth.issuer === undefined ? {} : { issuer: auth.issuer }),
    ...(auth.audience === undefined ? {} : { audience: auth.audience }),
  };

  /**
   * JWT_MAX_LIFETIME_SECONDS: a stolen long-lived token is what revocation has to outlive, so the lifetime
   * is bounded. With `iat`: `exp - iat` (the issuer's own statement, clock-free) and an `iat` no later than
   * now plus the tolerance (a future `iat` would both stretch the lifetime and dodge a revocation). Without
   * `iat`: `exp - now`, strictly (no tolerance), so that `exp - max` is an issue time at or before now for
   * every accepted token. Returns Principal.issuedAtSeconds.
   */
  const checkLifetime = (iat: unknown, exp: number, nowMs: number): number => {
    if (iat === undefined) {
      if (exp * 1000 - nowMs > maxLifetimeSeconds * 1000) {
        throw invalid(
          `The token has no iat and expires more than JWT_MAX_LIFETIME_SECONDS (${maxLifetimeSeconds}) from now.`,
        );
      }
      return Math.floor(exp - maxLifetimeSeconds);
    }
    if (typeof iat !== 'number' || !Number.isFinite(iat * 1000))
      throw invalid('The token has a non-numeric iat.');
    if (iat * 1000 > nowMs + clockToleranceSeconds * 1000)
      throw invalid('The token is issued in the future (iat).');
    if (exp - iat > maxLifetimeSeconds) {
      throw invalid(
        `The token lives longer than JWT_MAX_LIFETIME_SECONDS (${maxLifetimeSeconds}): exp - iat.`,
      );
    }
    return Math.floor(iat);
  };

  const verify = (token: string | undefined): Principal => {
    if (token === undefined || token === '') {
      throw new GatewayError(
        'AUTH_MISSING',
        'No token: send it as auth.token or an Authorization: Bearer header.',
      );
    }
    if (token.length > MAX_TOKEN_LENGTH)
      throw invalid(`The token is longer than ${MAX_TOKEN_LENGTH} characters.`);

    // The header is read (not trusted) first, only to choose the key and check its algorithm. Only the
    // header: jwt.verify decodes the whole token again, and a second payload parse costs ~40% of an HS256
    // verify (gateway/bench/jwt-verify.ts).
    const header = decodeHeader(token);
    if (!isRecord(header) || typeof header.alg !== 'string') throw invalid('The token is malformed.');
    const kid = header.kid;
    if (kid !== undefined && typeof kid !== 'string') throw invalid('The token header has a non-string kid.');
    // RFC 7515 §4.1.11: extensions listed in `crit` must be understood or the token refused; we know none.
    if (header.crit !== undefined) throw invalid('The token header lists critical extensions.');

    const selection = ring.select(kid);
    if (!selection.ok) throw invalid(selection.reason);
    const key = selection.key;
    // Our own check, before jsonwebtoken's: `alg: none` and an HS* token aimed at an RSA/EC key (the
    // key-confusion attack) stop here, whatever the library version does.
    if (!(key.algorithms as readonly string[]).includes(header.alg)) {
      throw invalid('The token algorithm is not allowed for its key.');
    }

    const nowMs = now();
    let payload: unknown;
    try {
      payload = jwt.verify(token, key.key, {
        ...baseOptions,
        algorithms: algorithmsByKey.get(key) ?? [],
        // For nbf. jsonwebtoken treats 0 as "unset" and reads Date.now(); no real clock is at 0.
        clockTimestamp: Math.floor(nowMs / 1000),
      });
    } catch (err) {
      throw fromJwtError(err);
    }

    if (!isRecord(payload)) throw invalid('The token payload is not a JSON object.');
    const sub = payload.sub;
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUBJECT_LENGTH) {
      throw invalid(`The token needs a sub of 1 to ${MAX_SUBJECT_LENGTH} characters.`);
    }
    const exp = payload.exp;
    // A token without exp would authenticate forever; jsonwebtoken accepts that, we do not.
    if (typeof exp !== 'number' || !Number.isFinite(exp * 1000))
      throw invalid('The token needs a numeric exp.');
    const expiresAtMs = exp * 1000;
    const issuedAtSeconds = checkLifetime(payload.iat, exp, nowMs);
    // Same rule as jsonwebtoken (expired once now >= exp + tolerance), at millisecond precision.
    if (nowMs >= expiresAtMs + clockToleranceSeconds * 1000) {
      throw new GatewayError('AUTH_EXPIRED', 'The token has expired: fetch a fresh one.');
    }
    return Object.freeze({ userId: sub, expiresAtMs, issuedAtSeconds, claims: Object.freeze(payload) });
  };

  return Object.freeze({
    verify,
    verifyRefresh(token: string | undefined, currentUserId: UserId): Principal {
      const principal = verify(token);
      if (principal.userId !== currentUserId) {
        throw new GatewayError(
          'AUTH_SUBJECT_MISMATCH',
          'The new token is for a different user than this connection.',
        );
      }
      return principal;
    },
  });
}

function invalid(message: string, cause?: unknown): GatewayError {
  return new GatewayError('AUTH_INVALID', message, cause === undefined ? undefined : { cause });
}

/**
 * jsonwebtoken's errors, mapped. Anything it throws is about the token (keys were checked at start), so
 * it is AUTH_INVALID, with the library error kept as `cause` for the log; its message never reaches the
 * client (it can quote the expected issuer/audience).
 */
function fromJwtError(err: unknown): GatewayError {
  if (err instanceof jwt.TokenExpiredError) {
    return new GatewayError('AUTH_EXPIRED', 'The token has expired: fetch a fresh one.', { cause: err });
  }
  if (err instanceof jwt.NotBeforeError) return invalid('The token is not valid yet (nbf).', err);
  const message = err instanceof Error ? err.message : '';
  if (message.startsWith('jwt audience invalid')) return invalid('The token audience is not accepted.', err);
  if (message.startsWith('jwt issuer invalid')) return invalid('The token issuer is not accepted.', err);
  if (message === 'invalid signature') return invalid('The token signature is invalid.', err);
  return invalid('The token is invalid.', err);
}

/** The JOSE header of a compact JWS (`header.payload.signature`), parsed but not trusted; undefined if malformed. */
function decodeHeader(token: string): unknown {
  const dot = token.indexOf('.');
  if (dot <= 0) return undefined;
  try {
    return JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
