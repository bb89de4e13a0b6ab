import { mkdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { loadKeyRing, type VerificationKey } from '../../../src/auth/index.ts';
import { ConfigError } from '../../../src/config/index.ts';
import {
  ecKeyPair,
  hsSecret,
  rsaKeyPair,
  tempKeysDir,
  testAuthConfig,
  type TempDir,
} from '../../support/tokens.ts';

const dirs: TempDir[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});
function keysDir(files: Record<string, string | Buffer>): TempDir {
  const d = tempKeysDir(files);
  dirs.push(d);
  return d;
}

function summary(keys: readonly VerificationKey[]): Array<[string | undefined, readonly string[]]> {
  return keys.map((k) => [k.kid, k.algorithms]);
}

function problemsOf(load: () => unknown): readonly string[] {
  try {
    load();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadKeyRing', () => {
  it('loads JWT_SECRET as a secret KeyObject allowed only the HS algorithms its length permits', () => {
    const ring = loadKeyRing(testAuthConfig({ secret: 'x'.repeat(32) }));
    expect(ring.keys).toHaveLength(1);
    expect(ring.keys[0]?.key.type).toBe('secret');
    expect(ring.keys[0]?.source).toBe('JWT_SECRET');
    expect(summary(ring.keys)).toEqual([[undefined, ['HS256']]]);

    const long = loadKeyRing(testAuthConfig({ secret: 'x'.repeat(64), secretKid: 'k1' }));
    expect(summary(long.keys)).toEqual([['k1', ['HS256', 'HS384', 'HS512']]]);
  });

  it('derives RS* for an RSA public key file and the one ES* matching an EC curve', () => {
    const d = keysDir({
      'rsa.pub': rsaKeyPair().publicPem,
      'p256.pub': ecKeyPair('P-256').publicPem,
      'p384.pub': ecKeyPair('P-384').publicPem,
      'p521.pub': ecKeyPair('P-521').publicPem,
    });
    const algs = (file: string): readonly string[] =>
      loadKeyRing(testAuthConfig({ publicKeyFile: d.path(file) })).keys[0]?.algorithms ?? [];
    expect(algs('rsa.pub')).toEqual(['RS256', 'RS384', 'RS512']);
    expect(algs('p256.pub')).toEqual(['ES256']);
    expect(algs('p384.pub')).toEqual(['ES384']);
    expect(algs('p521.pub')).toEqual(['ES512']);
  });

  it('intersects each key with the pinned JWT_ALGORITHMS', () => {
    const d = keysDir({ 'rsa.pem': rsaKeyPair().publicPem });
    const ring = loadKeyRing(
      testAuthConfig({
        secret: 'x'.repeat(64),
        secretKid: 'hs',
        keysDir: d.dir,
        algorithms: ['HS512', 'RS256'],
      }),
    );
    expect(summary(ring.keys)).toEqual([
      ['hs', ['HS512']],
      ['rsa', ['RS256']],
    ]);
  });

  it('loads <kid>.pem and <kid>.secret from the keys directory, skipping dot-files and directories', () => {
    const d = keysDir({
      'rsa-2026.pem': rsaKeyPair().publicPem,
      'ec-2026.pem': ecKeyPair('P-256').publicPem,
      'hs-2025.secret': `${hsSecret()}\n`,
      '.gitkeep': '',
    });
    mkdirSync(d.path('..2026_01_01'));
    const ring = loadKeyRing(testAuthConfig({ keysDir: d.dir }));
    expect(summary(ring.keys)).toEqual([
      ['ec-2026', ['ES256']],
      ['hs-2025', ['HS256']],
      ['rsa-2026', ['RS256', 'RS384', 'RS512']],
    ]);
  });

  it('strips trailing line breaks from a secret file, so `echo secret > kid.secret` matches the issuer', () => {
    const secret = 'y'.repeat(48);
    const d = keysDir({ 'k.secret': `${secret}\r\n` });
    const key = loadKeyRing(testAuthConfig({ keysDir: d.dir })).keys[0]?.key;
    expect(key?.export().toString()).toBe(secret);
  });

  it('reports every bad key file at once, each naming its file', () => {
    const d = keysDir({
      'garbage.pem': 'not a key',
      'private.pem': rsaKeyPair().privatePem,
      'short.secret': 'too-short',
      'empty.secret': '\n',
      'k256.pem': ecKeyPair('secp256k1').publicPem,
      'README.md': '# keys',
    });
    const problems = problemsOf(() => loadKeyRing(testAuthConfig({ keysDir: d.dir })));
    expect(problems).toHaveLength(6);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/garbage\.pem: is not a PEM public key/),
        expect.stringMatching(/private\.pem: is a private key/),
        expect.stringMatching(/short\.secret: the secret is 9 bytes; HS256 needs at least 32/),
        expect.stringMatching(/empty\.secret: is empty/),
        expect.stringMatching(/k256\.pem: the EC curve secp256k1 is not supported/),
        expect.stringMatching(/README\.md: expected <kid>\.pem/),
      ]),
    );
  });

  it('refuses an RSA key shorter than 2048 bits', () => {
    const d = keysDir({ 'weak.pem': rsaKeyPair('weak', 1024).publicPem });
    expect(problemsOf(() => loadKeyRing(testAuthConfig({ publicKeyFile: d.path('weak.pem') })))).toEqual([
      expect.stringMatching(/weak\.pem: the RSA key is 1024 bits/),
    ]);
  });

  it('refuses a missing public key file or keys directory, naming the path', () => {
    const problems = problemsOf(() =>
      loadKeyRing(testAuthConfig({ publicKeyFile: '/nonexistent/key.pem', keysDir: '/nonexistent/keys' })),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^JWT_PUBLIC_KEY_FILE \/nonexistent\/key\.pem: cannot be read/),
      expect.stringMatching(/^JWT_KEYS_DIR \/nonexistent\/keys: cannot be read/),
    ]);
  });

  it('refuses a kid used twice (JWT_SECRET_KID and a file of the keys directory)', () => {
    const d = keysDir({ 'k1.secret': hsSecret() });
    expect(
      problemsOf(() => loadKeyRing(testAuthConfig({ secret: hsSecret(), secretKid: 'k1', keysDir: d.dir }))),
    ).toEqual([expect.stringMatching(/k1\.secret: kid "k1" is already used by JWT_SECRET/)]);
  });

  it('refuses a key that JWT_ALGORITHMS leaves with no algorithm', () => {
    expect(
      problemsOf(() => loadKeyRing(testAuthConfig({ secret: hsSecret(), algorithms: ['RS256'] }))),
    ).toEqual(["JWT_SECRET: JWT_ALGORITHMS (RS256) allows none of this key's algorithms (HS256)"]);
  });

  it('refuses a configuration without any key', () => {
    expect(problemsOf(() => loadKeyRing(testAuthConfig()))).toEqual([
      expect.stringMatching(/no verification key/),
    ]);
  });

  it('selects by kid without fallback, and the single kid-less key for a token without kid', () => {
    const d = keysDir({ 'a.secret': hsSecret() });
    const ring = loadKeyRing(testAuthConfig({ secret: hsSecret(), keysDir: d.dir }));
    const a = ring.select('a');
    expect(a.ok && a.key.kid).toBe('a');
    const none = ring.select(undefined);
    expect(none.ok && none.key.source).toBe('JWT_SECRET');
    expect(ring.select('b')).toEqual({ ok: false, reason: expect.stringMatching(/unknown key id/) });
  });

  it('selects nothing for a token without kid when several keys have none, or when all have one', () => {
    const d = keysDir({ 'rsa.pem': rsaKeyPair().publicPem });
    const ambiguous = loadKeyRing(testAuthConfig({ secret: hsSecret(), publicKeyFile: d.path('rsa.pem') }));
    expect(ambiguous.select(undefined)).toEqual({ ok: false, reason: expect.stringMatching(/several keys/) });
    const allNamed = loadKeyRing(testAuthConfig({ keysDir: d.dir }));
    expect(allNamed.select(undefined)).toEqual({
      ok: false,
      reason: expect.stringMatching(/every configured key/),
    });
  });
});
