import { createSecretKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createTokenVerifier,
  MAX_TOKEN_LENGTH,
  type AuthConfig,
  type TokenVerifier,
} from '../../../src/auth/index.ts';
import { GatewayError } from '../../../src/errors/gateway-error.ts';
import {
  claimsAt,
  craftToken,
  ecKeyPair,
  hmacToken,
  hsSecret,
  rsaKeyPair,
  signToken,
  tempKeysDir,
  testAuthConfig,
  TEST_NOW_MS,
} from '../../support/tokens.ts';

const secret = hsSecret();
const rsa = rsaKeyPair();
const otherRsa = rsaKeyPair('other');
const ec256 = ecKeyPair('P-256');
const ec384 = ecKeyPair('P-384');
const files = tempKeysDir({
  'rsa.pub': rsa.publicPem,
  'ec256.pub': ec256.publicPem,
  'ec384.pub': ec384.publicPem,
});
afterAll(() => files.remove());

const at = (ms: number) => () => ms;
function verifierFor(overrides: Partial<AuthConfig>, nowMs = TEST_NOW_MS): TokenVerifier {
  return createTokenVerifier(testAuthConfig(overrides), { now: at(nowMs) });
}
const hs = verifierFor({ secret });

/** The GatewayError `fn` throws; fails the test if it throws anything else or nothing. */
function failure(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a GatewayError, got a result');
}
function expectRefused(verifier: TokenVerifier, token: string | undefined, code: string): GatewayError {
  const err = failure(() => verifier.verify(token));
  expect(err.code).toBe(code);
  // Tokens are credentials: they never appear in what a client or a log line sees.
  if (token !== undefined && token !== '') expect(err.message).not.toContain(token);
  return err;
}

describe('createTokenVerifier: HS256 with JWT_SECRET', () => {
  it('accepts a valid HS256 token and returns its sub, exp in milliseconds and frozen claims', () => {
    const token = signToken({ key: secret, sub: 'alice', expiresIn: 600, claims: { role: 'agent' } });
    const principal = hs.verify(token);
    expect(principal.userId).toBe('alice');
    expect(principal.expiresAtMs).toBe(Math.floor(TEST_NOW_MS / 1000) * 1000 + 600_000);
    expect(principal.claims).toMatchObject({ sub: 'alice', role: 'agent' });
    expect(Object.isFrozen(principal.claims)).toBe(true);
  });

  it('rejects an absent or empty token with AUTH_MISSING', () => {
    expectRefused(hs, undefined, 'AUTH_MISSING');
    expectRefused(hs, '', 'AUTH_MISSING');
  });

  it('rejects a token signed with another secret with AUTH_INVALID', () => {
    const err = expectRefused(hs, signToken({ key: hsSecret() }), 'AUTH_INVALID');
    expect(err.message).toMatch(/signature is invalid/);
  });

  it('rejects malformed tokens with AUTH_INVALID', () => {
    const header = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');
    for (const token of [
      'not-a-jwt',
      'a.b',
      'a.b.c.d',
      `${Buffer.from('not json').toString('base64url')}.e30.sig`,
      `${header}.${Buffer.from('not json').toString('base64url')}.sig`,
      craftToken([1, 2], claimsAt(), 'sig'),
      craftToken({ typ: 'JWT' }, claimsAt(), 'sig'),
    ]) {
      expectRefused(hs, token, 'AUTH_INVALID');
    }
  });

  it('rejects a token longer than MAX_TOKEN_LENGTH before decoding it', () => {
    const token = signToken({ key: secret, claims: { pad: 'x'.repeat(MAX_TOKEN_LENGTH) } });
    expect(expectRefused(hs, token, 'AUTH_INVALID').message).toMatch(/longer than/);
  });

  it('rejects an unsigned alg "none" token with AUTH_INVALID, with or without a kid', () => {
    expectRefused(hs, craftToken({ alg: 'none', typ: 'JWT' }, claimsAt()), 'AUTH_INVALID');
    const kidded = verifierFor({ secret, secretKid: 'k1' });
    expectRefused(kidded, craftToken({ alg: 'none', typ: 'JWT', kid: 'k1' }, claimsAt()), 'AUTH_INVALID');
    // Also with a (meaningless) signature part and other spellings of none.
    expectRefused(hs, craftToken({ alg: 'None', typ: 'JWT' }, claimsAt(), 'abc'), 'AUTH_INVALID');
  });

  it('rejects HS512 when the secret is shorter than 64 bytes (RFC 7518 §3.2), even if correctly signed', () => {
    const token = signToken({ key: secret, alg: 'HS512' });
    expect(expectRefused(hs, token, 'AUTH_INVALID').message).toMatch(/algorithm is not allowed/);
    const long = hsSecret(64);
    expect(verifierFor({ secret: long }).verify(signToken({ key: long, alg: 'HS512' })).userId).toBe('alice');
  });

  it('rejects a token whose header lists critical extensions', () => {
    const token = hmacToken({ alg: 'HS256', typ: 'JWT', crit: ['b64'], b64: false }, claimsAt(), secret);
    expectRefused(hs, token, 'AUTH_INVALID');
  });

  it('rejects a correctly signed payload that is not a JSON object', () => {
    expectRefused(hs, hmacToken({ alg: 'HS256', typ: 'JWT' }, ['alice'], secret), 'AUTH_INVALID');
  });
});

describe('createTokenVerifier: expiry and the clock', () => {
  it('rejects an expired token with AUTH_EXPIRED', () => {
    expectRefused(hs, signToken({ key: secret, expiresIn: -60 }), 'AUTH_EXPIRED');
  });

  it('accepts a token expired by less than the clock tolerance, and refuses it at the tolerance', () => {
    const tolerant = verifierFor({ secret, clockToleranceSeconds: 5 });
    expect(tolerant.verify(signToken({ key: secret, expiresIn: -4 })).userId).toBe('alice');
    expectRefused(tolerant, signToken({ key: secret, expiresIn: -5 }), 'AUTH_EXPIRED');
    const strict = verifierFor({ secret, clockToleranceSeconds: 0 });
    expectRefused(strict, signToken({ key: secret, expiresIn: 0 }), 'AUTH_EXPIRED');
  });

  it('reads time from the injected clock, not Date.now', () => {
    const token = signToken({ key: secret, expiresIn: 3600 });
    expect(hs.verify(token).userId).toBe('alice');
    expectRefused(verifierFor({ secret }, TEST_NOW_MS + 2 * 3600_000), token, 'AUTH_EXPIRED');
  });

  it('rejects a token whose nbf is in the future beyond the tolerance with AUTH_INVALID', () => {
    const err = expectRefused(hs, signToken({ key: secret, notBefore: 60 }), 'AUTH_INVALID');
    expect(err.message).toMatch(/not valid yet/);
    expect(hs.verify(signToken({ key: secret, notBefore: 3 })).userId).toBe('alice');
  });

  it('says AUTH_INVALID, not AUTH_EXPIRED, for an expired token that also fails another check', () => {
    const verifier = verifierFor({ secret, audience: 'stayline' });
    expectRefused(verifier, signToken({ key: secret, expiresIn: -60, audience: 'other' }), 'AUTH_INVALID');
    expectRefused(verifier, signToken({ key: secret, expiresIn: -60, sub: null }), 'AUTH_INVALID');
    expectRefused(
      verifier,
      signToken({ key: hsSecret(), expiresIn: -60, audience: 'stayline' }),
      'AUTH_INVALID',
    );
  });
});

describe('createTokenVerifier: claims', () => {
  const strict = verifierFor({ secret, issuer: 'https://auth.example', audience: 'stayline' });
  const good = { key: secret, issuer: 'https://auth.example', audience: 'stayline' };

  it('accepts a token with the configured issuer and audience', () => {
    expect(strict.verify(signToken(good)).userId).toBe('alice');
    const multi = signToken({
      key: secret,
      issuer: 'https://auth.example',
      claims: { aud: ['other', 'stayline'] },
    });
    expect(strict.verify(multi).userId).toBe('alice');
  });

  it('rejects a wrong or missing issuer with AUTH_INVALID', () => {
    expect(
      expectRefused(strict, signToken({ ...good, issuer: 'https://evil.example' }), 'AUTH_INVALID').message,
    ).toMatch(/issuer/);
    expectRefused(strict, signToken({ key: secret, audience: 'stayline' }), 'AUTH_INVALID');
  });

  it('rejects a wrong or missing audience with AUTH_INVALID', () => {
    expect(
      expectRefused(strict, signToken({ ...good, audience: 'billing' }), 'AUTH_INVALID').message,
    ).toMatch(/audience/);
    expectRefused(strict, signToken({ key: secret, issuer: 'https://auth.example' }), 'AUTH_INVALID');
  });

  it('rejects a token without sub, or with an empty, non-string or over-long sub, with AUTH_INVALID', () => {
    expectRefused(hs, signToken({ key: secret, sub: null }), 'AUTH_INVALID');
    expectRefused(hs, signToken({ key: secret, sub: '' }), 'AUTH_INVALID');
    expectRefused(
      hs,
      hmacToken({ alg: 'HS256', typ: 'JWT' }, claimsAt(TEST_NOW_MS, { sub: 42 }), secret),
      'AUTH_INVALID',
    );
    expectRefused(hs, signToken({ key: secret, sub: 'u'.repeat(257) }), 'AUTH_INVALID');
    expect(hs.verify(signToken({ key: secret, sub: 'u'.repeat(256) })).userId).toHaveLength(256);
  });

  it('rejects a token without exp, or with a non-numeric exp, with AUTH_INVALID', () => {
    expect(expectRefused(hs, signToken({ key: secret, expiresIn: null }), 'AUTH_INVALID').message).toMatch(
      /exp/,
    );
    const stringExp = claimsAt(TEST_NOW_MS, { exp: String(Math.floor(TEST_NOW_MS / 1000) + 60) });
    expectRefused(hs, hmacToken({ alg: 'HS256', typ: 'JWT' }, stringExp, secret), 'AUTH_INVALID');
  });
});

describe('createTokenVerifier: RS256 and ES256 public keys', () => {
  const rs = verifierFor({ publicKeyFile: files.path('rsa.pub') });

  it('accepts an RS256 token signed by the private half of JWT_PUBLIC_KEY_FILE', () => {
    expect(rs.verify(signToken({ key: rsa.privateKey, alg: 'RS256' })).userId).toBe('alice');
  });

  it('rejects an RS256 token signed by another RSA key with AUTH_INVALID', () => {
    expectRefused(rs, signToken({ key: otherRsa.privateKey, alg: 'RS256' }), 'AUTH_INVALID');
  });

  it("accepts ES256 for a P-256 key and ES384 for a P-384 key, and not the other curve's algorithm", () => {
    const es256 = verifierFor({ publicKeyFile: files.path('ec256.pub') });
    const es384 = verifierFor({ publicKeyFile: files.path('ec384.pub') });
    expect(es256.verify(signToken({ key: ec256.privateKey, alg: 'ES256' })).userId).toBe('alice');
    expect(es384.verify(signToken({ key: ec384.privateKey, alg: 'ES384' })).userId).toBe('alice');
    expectRefused(es256, signToken({ key: ec384.privateKey, alg: 'ES384' }), 'AUTH_INVALID');
  });

  it('rejects the key-confusion attack: HS256 signed with the RSA public key PEM as the HMAC secret', () => {
    const attack = hmacToken({ alg: 'HS256', typ: 'JWT' }, claimsAt(), rsa.publicPem);
    // The forged token is a genuine HMAC over the PEM: a verifier that let the header pick the algorithm
    // and fed it the key file's bytes would accept it.
    expect(
      jwt.verify(attack, createSecretKey(Buffer.from(rsa.publicPem)), { clockTimestamp: TEST_NOW_MS / 1000 }),
    ).toMatchObject({
      sub: 'alice',
    });
    expect(expectRefused(rs, attack, 'AUTH_INVALID').message).toMatch(/algorithm is not allowed/);
  });

  it('rejects the key-confusion attack aimed at a rotated key by kid, even with an HS secret configured too', () => {
    const d = tempKeysDir({ 'rsa-2026.pem': rsa.publicPem });
    try {
      const mixed = verifierFor({ secret, secretKid: 'hs', keysDir: d.dir });
      const attack = hmacToken({ alg: 'HS256', typ: 'JWT', kid: 'rsa-2026' }, claimsAt(), rsa.publicPem);
      expectRefused(mixed, attack, 'AUTH_INVALID');
      // The same ring still accepts the legitimate tokens of both keys.
      expect(mixed.verify(signToken({ key: secret, kid: 'hs' })).userId).toBe('alice');
      expect(mixed.verify(signToken({ key: rsa.privateKey, alg: 'RS256', kid: 'rsa-2026' })).userId).toBe(
        'alice',
      );
    } finally {
      d.remove();
    }
  });

  it('rejects an algorithm outside the pinned JWT_ALGORITHMS even when the key could verify it', () => {
    const pinned = verifierFor({ publicKeyFile: files.path('rsa.pub'), algorithms: ['RS256'] });
    expect(pinned.verify(signToken({ key: rsa.privateKey, alg: 'RS256' })).userId).toBe('alice');
    expectRefused(pinned, signToken({ key: rsa.privateKey, alg: 'RS512' }), 'AUTH_INVALID');
  });
});

describe('createTokenVerifier: key rotation by kid', () => {
  const oldSecret = hsSecret();
  const d = tempKeysDir({
    'hs-2025.secret': `${oldSecret}\n`,
    'rsa-2026.pem': rsa.publicPem,
    'ec-2026.pem': ec256.publicPem,
  });
  afterAll(() => d.remove());
  const rotating = verifierFor({ keysDir: d.dir });

  it('accepts tokens of every key in the keys directory at once, each chosen by its kid', () => {
    expect(rotating.verify(signToken({ key: oldSecret, kid: 'hs-2025', sub: 'old' })).userId).toBe('old');
    expect(
      rotating.verify(signToken({ key: rsa.privateKey, alg: 'RS256', kid: 'rsa-2026', sub: 'new' })).userId,
    ).toBe('new');
    expect(
      rotating.verify(signToken({ key: ec256.privateKey, alg: 'ES256', kid: 'ec-2026', sub: 'ec' })).userId,
    ).toBe('ec');
  });

  it("rejects a token signed by one key but naming another key's kid", () => {
    expectRefused(
      rotating,
      signToken({ key: otherRsa.privateKey, alg: 'RS256', kid: 'rsa-2026' }),
      'AUTH_INVALID',
    );
    expectRefused(rotating, signToken({ key: hsSecret(), kid: 'hs-2025' }), 'AUTH_INVALID');
  });

  it('rejects an unknown kid with AUTH_INVALID', () => {
    const err = expectRefused(rotating, signToken({ key: oldSecret, kid: 'hs-2024' }), 'AUTH_INVALID');
    expect(err.message).toMatch(/unknown key id/);
    expect(err.message).not.toContain('hs-2024');
  });

  it('rejects a token without kid when every key has one, and a non-string kid', () => {
    expectRefused(rotating, signToken({ key: oldSecret }), 'AUTH_INVALID');
    expectRefused(
      rotating,
      hmacToken({ alg: 'HS256', typ: 'JWT', kid: 7 }, claimsAt(), oldSecret),
      'AUTH_INVALID',
    );
  });

  it('gives a kid-less token the one key configured without kid, and refuses it when that is ambiguous', () => {
    const named = verifierFor({ secret, secretKid: 'hs', publicKeyFile: files.path('rsa.pub') });
    expect(named.verify(signToken({ key: rsa.privateKey, alg: 'RS256' })).userId).toBe('alice');
    expectRefused(named, signToken({ key: secret }), 'AUTH_INVALID');
    const ambiguous = verifierFor({ secret, publicKeyFile: files.path('rsa.pub') });
    expectRefused(ambiguous, signToken({ key: secret }), 'AUTH_INVALID');
    expectRefused(ambiguous, signToken({ key: rsa.privateKey, alg: 'RS256' }), 'AUTH_INVALID');
  });
});

describe('createTokenVerifier: JWT_MAX_LIFETIME_SECONDS and iat', () => {
  const NOW_S = Math.floor(TEST_NOW_MS / 1000);
  const DAY = 86_400;
  /** An HS256 token with exactly these claims (signToken always sets iat). */
  const withClaims = (claims: Record<string, unknown>): string =>
    hmacToken({ alg: 'HS256', typ: 'JWT' }, { sub: 'alice', ...claims }, secret);

  it('accepts exp - iat up to the maximum and refuses one second more with AUTH_INVALID', () => {
    const capped = verifierFor({ secret, maxLifetimeSeconds: 3600 });
    expect(capped.verify(signToken({ key: secret, expiresIn: 3600 })).userId).toBe('alice');
    const err = expectRefused(capped, signToken({ key: secret, expiresIn: 3601 }), 'AUTH_INVALID');
    expect(err.message).toMatch(/JWT_MAX_LIFETIME_SECONDS \(3600\)/);
    // Judged on exp - iat, not on what is left: a long token issued long ago is still too long.
    const issuedEarlier = withClaims({ iat: NOW_S - 3000, exp: NOW_S + 601 });
    expectRefused(capped, issuedEarlier, 'AUTH_INVALID');
    expect(capped.verify(withClaims({ iat: NOW_S - 3000, exp: NOW_S + 600 })).userId).toBe('alice');
  });

  it('refuses a 400-day token with the default maximum (86400 s) and accepts a 24 h one', () => {
    expectRefused(hs, signToken({ key: secret, expiresIn: 400 * DAY }), 'AUTH_INVALID');
    expect(hs.verify(signToken({ key: secret, expiresIn: DAY })).userId).toBe('alice');
    expectRefused(hs, signToken({ key: secret, expiresIn: DAY + 1 }), 'AUTH_INVALID');
  });

  it('says AUTH_INVALID, not AUTH_EXPIRED, for an expired token that was too long anyway', () => {
    expectRefused(hs, withClaims({ iat: NOW_S - 500 * DAY, exp: NOW_S - 60 }), 'AUTH_INVALID');
  });

  it('refuses an iat later than now plus the clock tolerance, or a non-numeric iat', () => {
    expect(hs.verify(withClaims({ iat: NOW_S + 5, exp: NOW_S + 600 })).issuedAtSeconds).toBe(NOW_S + 5);
    expect(
      expectRefused(hs, withClaims({ iat: NOW_S + 6, exp: NOW_S + 600 }), 'AUTH_INVALID').message,
    ).toMatch(/future/);
    expectRefused(hs, withClaims({ iat: String(NOW_S), exp: NOW_S + 600 }), 'AUTH_INVALID');
  });

  it('gives issuedAtSeconds as iat rounded down', () => {
    expect(hs.verify(signToken({ key: secret })).issuedAtSeconds).toBe(NOW_S);
    expect(hs.verify(withClaims({ iat: NOW_S - 10.9, exp: NOW_S + 600 })).issuedAtSeconds).toBe(NOW_S - 11);
  });

  it('without iat: accepts exp - now up to the maximum (no tolerance) and counts the token as issued at exp - max', () => {
    const capped = verifierFor({ secret, maxLifetimeSeconds: 3600 });
    const principal = capped.verify(withClaims({ exp: NOW_S + 600 }));
    expect(principal.issuedAtSeconds).toBe(NOW_S + 600 - 3600);
    expect(capped.verify(withClaims({ exp: NOW_S + 3600 })).issuedAtSeconds).toBe(NOW_S);
    expectRefused(capped, withClaims({ exp: NOW_S + 3601 }), 'AUTH_INVALID');
    expectRefused(hs, withClaims({ exp: NOW_S + 400 * DAY }), 'AUTH_INVALID');
  });

  it('applies the same rules to auth:refresh', () => {
    expect(
      failure(() => hs.verifyRefresh(signToken({ key: secret, expiresIn: 400 * DAY }), 'alice')).code,
    ).toBe('AUTH_INVALID');
    expect(hs.verifyRefresh(signToken({ key: secret, expiresIn: DAY }), 'alice').issuedAtSeconds).toBe(NOW_S);
  });
});

describe('verifyRefresh', () => {
  it('accepts a fresh token for the same user and returns its new expiry', () => {
    const principal = hs.verifyRefresh(signToken({ key: secret, sub: 'alice', expiresIn: 7200 }), 'alice');
    expect(principal.expiresAtMs).toBe(Math.floor(TEST_NOW_MS / 1000) * 1000 + 7_200_000);
  });

  it('rejects a valid token for another user with AUTH_SUBJECT_MISMATCH', () => {
    const err = failure(() => hs.verifyRefresh(signToken({ key: secret, sub: 'mallory' }), 'alice'));
    expect(err.code).toBe('AUTH_SUBJECT_MISMATCH');
  });

  it('applies every verify check first: missing, expired and forged tokens keep their codes', () => {
    expect(failure(() => hs.verifyRefresh(undefined, 'alice')).code).toBe('AUTH_MISSING');
    expect(failure(() => hs.verifyRefresh(signToken({ key: secret, expiresIn: -60 }), 'alice')).code).toBe(
      'AUTH_EXPIRED',
    );
    expect(
      failure(() => hs.verifyRefresh(signToken({ key: hsSecret(), sub: 'mallory' }), 'alice')).code,
    ).toBe('AUTH_INVALID');
  });
});
