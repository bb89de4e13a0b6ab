/**
 * The verification keys, loaded once at start as `KeyObject`s: the HS secret, a public key file, and a keys
 * directory for rotation. Each key carries the algorithms it may verify, decided by its own type, so a
 * token's header can never talk the verifier into using a key with the wrong algorithm.
 */
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type GatewayConfig, type JwtAlgorithmName } from '../config/index.ts';

/** The `auth` part of the gateway config: everything token verification and signing need. */
export type AuthConfig = GatewayConfig['auth'];

/** One key the gateway verifies tokens with. */
export interface VerificationKey {
  /** The `kid` a token names to select this key; undefined for the key used by tokens without a kid. */
  readonly kid: string | undefined;
  /** Where the key came from (`JWT_SECRET`, or a file path): for startup errors and logs, never a secret. */
  readonly source: string;
  readonly key: KeyObject;
  /** The algorithms this key may verify: its type's family, intersected with JWT_ALGORITHMS when pinned. */
  readonly algorithms: readonly JwtAlgorithmName[];
}

/** The outcome of choosing a key for a token header's `kid`. */
export type KeySelection = { ok: true; key: VerificationKey } | { ok: false; reason: string };

/** The loaded keys and the rule that picks one for a token. */
export interface KeyRing {
  readonly keys: readonly VerificationKey[];
  /**
   * A token with a kid gets exactly the key with that kid (no fallback); a token without one gets the single
   * key configured without a kid, and nothing when there are none or several.
   */
  select(kid: string | undefined): KeySelection;
}

/**
 * Minimum HMAC key size per algorithm in bytes: RFC 7518 §3.2 says a key "of the same size as the hash
 * output or larger MUST be used", so a 32-byte secret may verify HS256 but not HS512.
 */
const HMAC_MIN_BYTES: ReadonlyArray<readonly [JwtAlgorithmName, number]> = [
  ['HS256', 32],
  ['HS384', 48],
  ['HS512', 64],
];

/** The JOSE algorithm for each EC curve (RFC 7518 §3.4), in Node's curve names. */
const EC_CURVE_ALGORITHMS: Readonly<Record<string, JwtAlgorithmName>> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};

/** RSA below 2048 bits is refused (RFC 7518 §3.3); jsonwebtoken refuses to sign with it, but not to verify. */
const RSA_MIN_MODULUS_BITS = 2048;

/**
 * The algorithms a key's own type allows, or why it can verify none. Works for secret, public and private
 * keys, so the signer picks its algorithm by the same rule the verifier checks.
 */
export function algorithmsForKey(key: KeyObject): { algorithms: JwtAlgorithmName[] } | { problem: string } {
  if (key.type === 'secret') {
    const bytes = key.symmetricKeySize ?? 0;
    const algorithms = HMAC_MIN_BYTES.filter(([, min]) => bytes >= min).map(([alg]) => alg);
    return algorithms.length > 0
      ? { algorithms }
      : { problem: `the secret is ${bytes} bytes; HS256 needs at least 32 (RFC 7518 §3.2)` };
  }
  const type = key.asymmetricKeyType;
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    return bits >= RSA_MIN_MODULUS_BITS
      ? { algorithms: ['RS256', 'RS384', 'RS512'] }
      : { problem: `the RSA key is ${bits} bits; at least ${RSA_MIN_MODULUS_BITS} are required` };
  }
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
    const alg = EC_CURVE_ALGORITHMS[curve];
    return alg === undefined
      ? { problem: `the EC curve ${curve} is not supported (use P-256, P-384 or P-521)` }
      : { algorithms: [alg] };
  }
  // rsa-pss, ed25519 and the rest have no algorithm in JWT_ALGORITHM_NAMES.
  return { problem: `the key type ${type ?? 'unknown'} is not supported (use RSA, EC or an HMAC secret)` };
}

/**
 * Loads every configured key once. Throws ConfigError listing every bad key at once, each naming its
 * variable and file, so a broken rotation is found at start and not at the first handshake.
 */
export function loadKeyRing(auth: AuthConfig): KeyRing {
  const problems: string[] = [];
  const keys: VerificationKey[] = [];

  const add = (kid: string | undefined, source: string, key: KeyObject): void => {
    const allowed = algorithmsForKey(key);
    if ('problem' in allowed) {
      problems.push(`${source}: ${allowed.problem}`);
      return;
    }
    const pinned = auth.algorithms;
    const algorithms =
      pinned === undefined ? allowed.algorithms : allowed.algorithms.filter((a) => pinned.includes(a));
    if (algorithms.length === 0) {
      problems.push(
        `${source}: JWT_ALGORITHMS (${pinned?.join(', ') ?? ''}) allows none of this key's algorithms (${allowed.algorithms.join(', ')})`,
      );
      return;
    }
    const clash = keys.find((k) => k.kid !== undefined && k.kid === kid);
    if (clash !== undefined) {
      problems.push(`${source}: kid "${kid ?? ''}" is already used by ${clash.source}`);
      return;
    }
    keys.push(Object.freeze({ kid, source, key, algorithms: Object.freeze(algorithms) }));
  };

  if (auth.secret !== undefined) {
    // The same bytes jsonwebtoken would derive from a string secret (Buffer.from, UTF-8), so tokens signed
    // elsewhere with the string still verify.
    add(
      auth.secretKid,
      auth.secretKid === undefined ? 'JWT_SECRET' : `JWT_SECRET (kid ${auth.secretKid})`,
      createSecretKey(Buffer.from(auth.secret, 'utf8')),
    );
  }
  if (auth.publicKeyFile !== undefined) {
    const source = `JWT_PUBLIC_KEY_FILE ${auth.publicKeyFile}`;
    const loaded = readPublicKeyFile(auth.publicKeyFile);
    if ('problem' in loaded) problems.push(`${source}: ${loaded.problem}`);
    else add(undefined, source, loaded.key);
  }
  if (auth.keysDir !== undefined) loadKeysDir(auth.keysDir, add, problems);

  if (problems.length === 0 && keys.length === 0) {
    problems.push(
      'JWT_SECRET: no verification key is configured (JWT_SECRET, JWT_PUBLIC_KEY_FILE or JWT_KEYS_DIR)',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return createKeyRing(keys);
}

function createKeyRing(keys: readonly VerificationKey[]): KeyRing {
  const byKid = new Map<string, VerificationKey>();
  for (const key of keys) if (key.kid !== undefined) byKid.set(key.kid, key);
  const unnamed = keys.filter((k) => k.kid === undefined);
  // Precomputed: the answer for kid-less tokens never changes after start.
  const noKid: KeySelection =
    unnamed.length === 1 && unnamed[0] !== undefined
      ? { ok: true, key: unnamed[0] }
      : {
          ok: false,
          reason:
            unnamed.length === 0
              ? 'The token has no kid and every configured key has one.'
              : 'The token has no kid and several keys are configured without one.',
        };
  return Object.freeze({
    keys: Object.freeze([...keys]),
    select(kid: string | undefined): KeySelection {
      if (kid === undefined) return noKid;
      const key = byKid.get(kid);
      // The kid is attacker-chosen, so it is not echoed back.
      return key === undefined
        ? { ok: false, reason: 'The token names an unknown key id (kid).' }
        : { ok: true, key };
    },
  });
}

/** `<kid>.pem` public keys and `<kid>.secret` HMAC secrets; dot-files are skipped (Kubernetes' `..data`). */
function loadKeysDir(
  dir: string,
  add: (kid: string | undefined, source: string, key: KeyObject) => void,
  problems: string[],
): void {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (err) {
    problems.push(`JWT_KEYS_DIR ${dir}: cannot be read (${describe(err)})`);
    return;
  }
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const file = join(dir, name);
    const source = `JWT_KEYS_DIR ${file}`;
    try {
      // statSync follows symlinks: mounted secrets are symlinks to regular files.
      if (!statSync(file).isFile()) continue;
    } catch (err) {
      problems.push(`${source}: cannot be read (${describe(err)})`);
      continue;
    }
    const match = /^(.+)\.(pem|secret)$/.exec(name);
    const kid = match?.[1];
    if (match === null || kid === undefined) {
      problems.push(`${source}: expected <kid>.pem (public key) or <kid>.secret (HMAC secret)`);
      continue;
    }
    const loaded = match[2] === 'pem' ? readPublicKeyFile(file) : readSecretFile(file);
    if ('problem' in loaded) problems.push(`${source}: ${loaded.problem}`);
    else add(kid, source, loaded.key);
  }
}

function readPublicKeyFile(file: string): { key: KeyObject } | { problem: string } {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    return { problem: `cannot be read (${describe(err)})` };
  }
  // createPublicKey would happily derive the public half of a private key; a private key has no business
  // on a node that only verifies, so say so instead.
  if (pem.includes('PRIVATE KEY-----')) {
    return { problem: 'is a private key; the gateway needs only the public key (openssl pkey -pubout)' };
  }
  try {
    return { key: createPublicKey(pem) };
  } catch (err) {
    return { problem: `is not a PEM public key (${describe(err)})` };
  }
}

function readSecretFile(file: string): { key: KeyObject } | { problem: string } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    return { problem: `cannot be read (${describe(err)})` };
  }
  // Trailing line breaks come from `echo` and editors, never from the issuer's secret.
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end -= 1;
  if (end === 0) return { problem: 'is empty' };
  return { key: createSecretKey(bytes.subarray(0, end)) };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
