/**
 * Tokens for load: HS256 JWTs minted here with the gateway's secret (node:crypto, no library: minting
 * 20,000 tokens must not cost a second of CPU), or read one per line from a file.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Mints an HS256 token for `sub`, valid for `ttlSeconds` from now. */
export function mintToken(secret: string, sub: string, ttlSeconds = 3600, nowMs = Date.now()): string {
  const iat = Math.floor(nowMs / 1000);
  const input = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub, iat, exp: iat + ttlSeconds })}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** Reads the `sub` claim of a JWT without checking it (to name users of tokens read from a file). */
export function tokenSubject(token: string): string {
  const payload = token.split('.')[1];
  if (payload === undefined) throw new Error('not a JWT');
  const sub = (JSON.parse(Buffer.from(payload, 'base64url').toString()) as { sub?: unknown }).sub;
  if (typeof sub !== 'string') throw new Error('token without a string sub');
  return sub;
}

/** Where tokens come from: a secret to mint with, or a file of tokens (one per line). */
export type TokenSource =
  { kind: 'secret'; secret: string; ttlSeconds: number } | { kind: 'file'; tokens: readonly string[] };

export function tokenSourceFromFile(path: string): TokenSource {
  const tokens = readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (tokens.length === 0) throw new Error(`${path} holds no tokens`);
  return { kind: 'file', tokens };
}

/**
 * The token and user id of synthetic user number `index` (`<prefix><index>` when minting). From a file,
 * user `index` is line `index`; asking for more users than lines is an error, not a silent reuse.
 */
export function userToken(
  source: TokenSource,
  prefix: string,
  index: number,
): { userId: string; token: string } {
  if (source.kind === 'secret') {
    const userId = `${prefix}${index}`;
    return { userId, token: mintToken(source.secret, userId, source.ttlSeconds) };
  }
  const token = source.tokens[index];
  if (token === undefined)
    throw new Error(`the token file has ${source.tokens.length} tokens; user ${index} has none`);
  return { userId: tokenSubject(token), token };
}
