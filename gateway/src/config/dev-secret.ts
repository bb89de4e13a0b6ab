/**
 * The development secret, kept in a file so tokens (and the demo page) survive a restart of `npm start`,
 * and `npm run token` signs for the running development gateway. Only read when no key is configured
 * outside production; never in production, where a missing key is an error.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `.stayline/dev-secret` at the repository root (ignored by git); DEV_SECRET_FILE overrides it. */
export const DEFAULT_DEV_SECRET_FILE = fileURLToPath(
  new URL('../../../.stayline/dev-secret', import.meta.url),
);

/** What `readOrCreateDevSecret` found. */
export interface DevSecret {
  readonly secret: string;
  readonly file: string;
  /** True when this call generated the secret and wrote the file. */
  readonly created: boolean;
}

/** Reads and checks a secret file's content; throws naming the file when it is not a usable secret. */
function parseSecret(text: string, file: string): string {
  const secret = text.trim();
  if (!/^[A-Za-z0-9_-]{43,}$/.test(secret)) {
    throw new Error(`${file} does not hold a development secret: delete it and start again to generate one.`);
  }
  return secret;
}

const codeOf = (err: unknown): unknown =>
  typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;

/**
 * The secret in `file`, or a new one (32 random bytes, base64url) written there (mode 0600) when the file
 * is missing. Several processes starting at once agree: the file is created exclusively, and a loser reads
 * the winner's.
 */
export function readOrCreateDevSecret(file: string = DEFAULT_DEV_SECRET_FILE): DevSecret {
  try {
    return { secret: parseSecret(readFileSync(file, 'utf8'), file), file, created: false };
  } catch (err) {
    if (codeOf(err) !== 'ENOENT') throw err;
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('base64url');
  try {
    writeFileSync(file, `${secret}\n`, { flag: 'wx', mode: 0o600 });
    return { secret, file, created: true };
  } catch (err) {
    if (codeOf(err) !== 'EEXIST') throw err;
    return { secret: parseSecret(readFileSync(file, 'utf8'), file), file, created: false };
  }
}
