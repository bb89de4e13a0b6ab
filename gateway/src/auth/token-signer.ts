/**
 * Signs tokens the gateway itself will accept: the dev token `npm start` prints when it generated a
 * secret, `npm run token`, and tests. Production tokens come from the application's own auth service.
 */
import { createPrivateKey, createSecretKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import jwt from 'jsonwebtoken';
import type { JwtAlgorithmName } from '../config/index.ts';
import { algorithmsForKey, type AuthConfig } from './key-ring.ts';
import { MAX_SUBJECT_LENGTH } from './token-verifier.ts';

/** What to put in a token. */
export interface SignTokenInput {
  /** The user id (`sub`): 1 to 256 characters. */
  sub: string;
  /** Lifetime in whole seconds from now (`exp - iat`); a positive integer. */
  ttlSeconds: number;
  /** Extra claims. `sub`, `iat` and `exp` are the signer's, and so are `iss`/`aud` when configured. */
  claims?: Readonly<Record<string, unknown>>;
  /** The header `kid`. Default: JWT_SECRET_KID for the HS secret, none for a private key. */
  kid?: string;
}

/** A signer bound to one key and algorithm. */
export interface TokenSigner {
  /** The algorithm every token of this signer uses. */
  readonly algorithm: JwtAlgorithmName;
  /** Returns a compact JWT. Throws Error for bad input (empty sub, non-integer ttl, reserved claim). */
  sign(input: SignTokenInput): string;
}

/** Options of createTokenSigner. */
export interface TokenSignerOptions {
  /** Sign with this RSA/EC private key instead of the HS secret. Default: the HS secret (JWT_SECRET). */
  privateKey?: KeyObject;
  /** The algorithm. Default: the first the key allows within JWT_ALGORITHMS (HS256, RS256, ES256...). */
  algorithm?: JwtAlgorithmName;
  /** The clock, in epoch milliseconds. Default: `Date.now`. */
  now?: () => number;
}

/**
 * Builds a signer over the HS secret (as a KeyObject, built once: see node-jsonwebtoken #1046 on the
 * cost of string secrets) or over `options.privateKey`. Throws Error when there is no usable key or the
 * algorithm is not one the gateway's verifier would accept.
 */
export function createTokenSigner(auth: AuthConfig, options: TokenSignerOptions = {}): TokenSigner {
  let key: KeyObject;
  if (options.privateKey !== undefined) {
    if (options.privateKey.type !== 'private') throw new Error('privateKey must be a private key.');
    key = options.privateKey;
  } else {
    if (auth.secret === undefined) throw new Error('No JWT_SECRET is configured to sign with.');
    key = createSecretKey(Buffer.from(auth.secret, 'utf8'));
  }
  const allowed = algorithmsForKey(key);
  if ('problem' in allowed) throw new Error(`Cannot sign: ${allowed.problem}.`);
  const pinned = auth.algorithms;
  const usable =
    pinned === undefined ? allowed.algorithms : allowed.algorithms.filter((a) => pinned.includes(a));
  const algorithm = options.algorithm ?? usable[0];
  if (algorithm === undefined || !usable.includes(algorithm)) {
    throw new Error(
      `Cannot sign with ${options.algorithm ?? 'this key'}: the gateway accepts only ${usable.join(', ') || 'nothing'} for it.`,
    );
  }
  const defaultKid = options.privateKey === undefined ? auth.secretKid : undefined;
  const reserved = new Set(['sub', 'iat', 'exp']);
  if (auth.issuer !== undefined) reserved.add('iss');
  if (auth.audience !== undefined) reserved.add('aud');
  const now = options.now ?? Date.now;

  return Object.freeze({
    algorithm,
    sign(input: SignTokenInput): string {
      if (input.sub.length === 0 || input.sub.length > MAX_SUBJECT_LENGTH) {
        throw new Error(`sub must be 1 to ${MAX_SUBJECT_LENGTH} characters.`);
      }
      if (!Number.isSafeInteger(input.ttlSeconds) || input.ttlSeconds <= 0) {
        throw new Error('ttlSeconds must be a positive integer.');
      }
      const claims = input.claims ?? {};
      const clash = Object.keys(claims).find((name) => reserved.has(name));
      if (clash !== undefined) throw new Error(`The claim ${clash} is set by the signer.`);

      const iat = Math.floor(now() / 1000);
      const payload = {
        ...claims,
        sub: input.sub,
        iat,
        exp: iat + input.ttlSeconds,
        ...(auth.issuer === undefined ? {} : { iss: auth.issuer }),
        ...(auth.audience === undefined ? {} : { aud: auth.audience }),
      };
      const kid = input.kid ?? defaultKid;
      // jsonwebtoken validates every option key that is present, so an undefined keyid must be left out.
      return jwt.sign(payload, key, { algorithm, ...(kid === undefined ? {} : { keyid: kid }) });
    },
  });
}

/** Reads a PEM private key (RSA or EC) for createTokenSigner; the error names the file. */
export function loadPrivateKeyFile(file: string): KeyObject {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot be read (${err instanceof Error ? err.message : String(err)})`, {
      cause: err,
    });
  }
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new Error(`${file}: is not an unencrypted PEM private key`, { cause: err });
  }
}
