/**
 * Test helpers for tokens and keys. Every key is generated at test time (nothing is committed), PEM files
 * go to a temp dir the test removes, and tokens are signed on a fixed clock. `signToken`, `TEST_NOW_MS`
 * and `testAuthConfig` live in dev/tokens.ts (benchmarks use them too) and are re-exported here.
 */
import { createHmac, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_NOW_MS } from '../../../dev/tokens.ts';

export { TEST_NOW_MS, signToken, testAuthConfig, type SignTokenOptions } from '../../../dev/tokens.ts';

/** A random HMAC secret: 32 random bytes as base64url (43 characters, so JWT_SECRET's 32 minimum holds). */
export function hsSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** A generated key pair, as KeyObjects and as PEM text. */
export interface TestKeyPair {
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
  readonly publicPem: string;
  readonly privatePem: string;
}

const pairs = new Map<string, TestKeyPair>();

function remember(id: string, make: () => { publicKey: KeyObject; privateKey: KeyObject }): TestKeyPair {
  let pair = pairs.get(id);
  if (pair === undefined) {
    const { publicKey, privateKey } = make();
    pair = Object.freeze({
      publicKey,
      privateKey,
      publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
    pairs.set(id, pair);
  }
  return pair;
}

/** An RSA key pair, generated once per label per test file (2048-bit generation takes ~100 ms). */
export function rsaKeyPair(label = 'default', modulusLength = 2048): TestKeyPair {
  return remember(`rsa:${modulusLength}:${label}`, () => generateKeyPairSync('rsa', { modulusLength }));
}

/** An EC key pair on `curve`, generated once per label per test file. */
export function ecKeyPair(
  curve: 'P-256' | 'P-384' | 'P-521' | 'secp256k1' = 'P-256',
  label = 'default',
): TestKeyPair {
  return remember(`ec:${curve}:${label}`, () => generateKeyPairSync('ec', { namedCurve: curve }));
}

/** A temp directory holding the given files; call `remove()` in afterEach/afterAll. */
export interface TempDir {
  readonly dir: string;
  /** The absolute path of `name` inside the directory. */
  path(name: string): string;
  remove(): void;
}

/** Creates a temp directory and writes `files` (name → content) into it. */
export function tempKeysDir(files: Readonly<Record<string, string | Buffer>> = {}): TempDir {
  const dir = mkdtempSync(join(tmpdir(), 'stayline-keys-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return {
    dir,
    path: (name) => join(dir, name),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * A hand-built token, signed by nobody: `header.payload.signature` with the given parts. For `alg: none`
 * and malformed-token tests, independent of what jsonwebtoken's sign() allows.
 */
export function craftToken(header: unknown, payload: unknown, signature = ''): string {
  return `${b64url(header)}.${b64url(payload)}.${signature}`;
}

/**
 * A token HMAC-signed by hand with arbitrary secret bytes, for the key-confusion attack (HS256 with the
 * RSA public key's PEM as the secret), whatever jsonwebtoken's sign() would refuse.
 */
export function hmacToken(
  header: Record<string, unknown>,
  payload: unknown,
  secret: string | Buffer,
): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  const hash = header.alg === 'HS512' ? 'sha512' : header.alg === 'HS384' ? 'sha384' : 'sha256';
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
}

/** Standard claims for hand-built tokens: `sub` alice, issued now, expiring in an hour (test clock). */
export function claimsAt(nowMs = TEST_NOW_MS, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(nowMs / 1000);
  return { sub: 'alice', iat, exp: iat + 3600, ...extra };
}
