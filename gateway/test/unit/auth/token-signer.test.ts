import jwt from 'jsonwebtoken';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createTokenSigner,
  createTokenVerifier,
  loadPrivateKeyFile,
  type AuthConfig,
} from '../../../src/auth/index.ts';
import {
  ecKeyPair,
  hsSecret,
  rsaKeyPair,
  tempKeysDir,
  testAuthConfig,
  TEST_NOW_MS,
} from '../../support/tokens.ts';

const now = () => TEST_NOW_MS;
const secret = hsSecret();
const rsa = rsaKeyPair();
const ec = ecKeyPair('P-256');
const files = tempKeysDir({
  'rsa.pub': rsa.publicPem,
  'rsa.key': rsa.privatePem,
  'ec.pub': ec.publicPem,
  'ec.key': ec.privatePem,
  'bad.key': 'nope',
});
afterAll(() => files.remove());

function roundTrip(auth: AuthConfig, token: string) {
  return createTokenVerifier(auth, { now }).verify(token);
}

describe('createTokenSigner', () => {
  it('signs HS256 tokens with JWT_SECRET that the verifier accepts, with iat, exp, iss, aud and claims', () => {
    const auth = testAuthConfig({ secret, issuer: 'https://auth.example', audience: 'stayline' });
    const signer = createTokenSigner(auth, { now });
    expect(signer.algorithm).toBe('HS256');
    const token = signer.sign({ sub: 'alice', ttlSeconds: 900, claims: { role: 'agent' } });
    const principal = roundTrip(auth, token);
    const iat = TEST_NOW_MS / 1000;
    expect(principal.claims).toEqual({
      sub: 'alice',
      role: 'agent',
      iat,
      exp: iat + 900,
      iss: 'https://auth.example',
      aud: 'stayline',
    });
  });

  it('puts JWT_SECRET_KID in the header by default, and an explicit kid instead when given', () => {
    const signer = createTokenSigner(testAuthConfig({ secret, secretKid: 'k1' }), { now });
    expect(jwt.decode(signer.sign({ sub: 'a', ttlSeconds: 60 }), { complete: true })?.header.kid).toBe('k1');
    expect(
      jwt.decode(signer.sign({ sub: 'a', ttlSeconds: 60, kid: 'k2' }), { complete: true })?.header.kid,
    ).toBe('k2');
    const plain = createTokenSigner(testAuthConfig({ secret }), { now });
    expect(
      jwt.decode(plain.sign({ sub: 'a', ttlSeconds: 60 }), { complete: true })?.header,
    ).not.toHaveProperty('kid');
  });

  it('signs RS256 and ES256 with a private key file, matching the verifier of its public key', () => {
    for (const [priv, pub, alg] of [
      ['rsa.key', 'rsa.pub', 'RS256'],
      ['ec.key', 'ec.pub', 'ES256'],
    ] as const) {
      const auth = testAuthConfig({ publicKeyFile: files.path(pub) });
      const signer = createTokenSigner(auth, { privateKey: loadPrivateKeyFile(files.path(priv)), now });
      expect(signer.algorithm).toBe(alg);
      expect(roundTrip(auth, signer.sign({ sub: 'bob', ttlSeconds: 60 })).userId).toBe('bob');
    }
  });

  it('follows the pinned JWT_ALGORITHMS and refuses an algorithm the verifier would not accept', () => {
    const long = hsSecret(64);
    expect(createTokenSigner(testAuthConfig({ secret: long, algorithms: ['HS512'] })).algorithm).toBe(
      'HS512',
    );
    expect(() => createTokenSigner(testAuthConfig({ secret, algorithms: ['RS256'] }))).toThrow(
      /accepts only nothing/,
    );
    expect(() => createTokenSigner(testAuthConfig({ secret }), { algorithm: 'HS512' })).toThrow(
      /accepts only HS256/,
    );
  });

  it('refuses to build without a secret or private key', () => {
    expect(() => createTokenSigner(testAuthConfig())).toThrow(/No JWT_SECRET/);
    expect(() => createTokenSigner(testAuthConfig(), { privateKey: rsa.publicKey })).toThrow(/private key/);
  });

  it('refuses an empty sub, a non-integer ttl and claims the signer owns', () => {
    const signer = createTokenSigner(testAuthConfig({ secret, issuer: 'iss' }), { now });
    expect(() => signer.sign({ sub: '', ttlSeconds: 60 })).toThrow(/sub/);
    expect(() => signer.sign({ sub: 'a', ttlSeconds: 1.5 })).toThrow(/ttlSeconds/);
    expect(() => signer.sign({ sub: 'a', ttlSeconds: 0 })).toThrow(/ttlSeconds/);
    expect(() => signer.sign({ sub: 'a', ttlSeconds: 60, claims: { exp: 1 } })).toThrow(
      /exp is set by the signer/,
    );
    expect(() => signer.sign({ sub: 'a', ttlSeconds: 60, claims: { iss: 'x' } })).toThrow(
      /iss is set by the signer/,
    );
  });

  it('names the file when a private key file is unreadable or not a key', () => {
    expect(() => loadPrivateKeyFile(files.path('bad.key'))).toThrow(
      /bad\.key: is not an unencrypted PEM private key/,
    );
    expect(() => loadPrivateKeyFile(files.path('missing.key'))).toThrow(/missing\.key: cannot be read/);
  });
});
