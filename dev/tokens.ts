/**
 * Token helpers that tests and benchmarks share: `signToken` signs any token jsonwebtoken can (on a
 * fixed clock unless told the time), `testAuthConfig` is an auth config with the schema's defaults. Keys
 * and secrets are never committed: callers generate them.
 */
import type { KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { AuthConfig } from '../gateway/src/auth/index.ts';

/** A fixed "now" for reproducible tokens (the unit tests' clock): 2026-01-15T12:00:00Z, epoch ms. */
export const TEST_NOW_MS = Date.UTC(2026, 0, 15, 12, 0, 0);

/** An auth config with no key and the schema's defaults; override what the caller is about. */
export function testAuthConfig(overrides: Partial<AuthConfig> = {}): AuthConfig {
  return {
    secret: undefined,
    secretKid: undefined,
    publicKeyFile: undefined,
    keysDir: undefined,
    algorithms: undefined,
    issuer: undefined,
    audience: undefined,
    clockToleranceSeconds: 5,
    expiryWarningSeconds: 60,
    maxLifetimeSeconds: 86_400,
    generatedDevSecret: false,
    ...overrides,
  };
}

/** What signToken puts in a token. */
export interface SignTokenOptions {
  /** The signing key: a secret string/Buffer for HS*, a private KeyObject for RS256..ES512. */
  key: KeyObject | string | Buffer;
  /** Default HS256. */
  alg?: jwt.Algorithm;
  /** Default 'alice'; null leaves `sub` out. */
  sub?: string | null;
  /** Seconds from `nowMs` to `exp`, may be negative; default 3600; null leaves `exp` out. */
  expiresIn?: number | null;
  /** Seconds from `nowMs` to `nbf`; default none. */
  notBefore?: number;
  kid?: string;
  issuer?: string;
  audience?: string;
  claims?: Record<string, unknown>;
  /** The signing clock; default TEST_NOW_MS. */
  nowMs?: number;
}

/** Signs a token with jsonwebtoken, at `nowMs` (default the fixed TEST_NOW_MS). */
export function signToken(options: SignTokenOptions): string {
  const iat = Math.floor((options.nowMs ?? TEST_NOW_MS) / 1000);
  const payload: Record<string, unknown> = { ...options.claims, iat };
  const sub = options.sub === undefined ? 'alice' : options.sub;
  if (sub !== null) payload.sub = sub;
  const expiresIn = options.expiresIn === undefined ? 3600 : options.expiresIn;
  if (expiresIn !== null) payload.exp = iat + expiresIn;
  if (options.notBefore !== undefined) payload.nbf = iat + options.notBefore;
  if (options.issuer !== undefined) payload.iss = options.issuer;
  if (options.audience !== undefined) payload.aud = options.audience;
  return jwt.sign(payload, options.key, {
    algorithm: options.alg ?? 'HS256',
    ...(options.kid === undefined ? {} : { keyid: options.kid }),
  });
}
