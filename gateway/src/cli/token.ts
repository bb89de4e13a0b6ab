/**
 * `npm run token -- --sub alice [--ttl 3600] [--claim key=value ...] [--claim-json key=<json> ...]
 * [--kid K] [--private-key-file key.pem]`
 *
 * Mints a token the configured gateway accepts, from the same environment the gateway reads (JWT_SECRET,
 * JWT_SECRET_KID, JWT_ISSUER, JWT_AUDIENCE, JWT_ALGORITHMS). With no key configured (development), it signs
 * with the development secret kept in DEV_SECRET_FILE (default .stayline/dev-secret), the one `npm start`
 * uses, creating it when missing. Prints only the token on stdout, so `TOKEN=$(npm run -s token -- --sub
 * alice)` works (`-s` keeps npm's own banner out of stdout); everything else goes to stderr.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createTokenSigner, loadPrivateKeyFile } from '../auth/index.ts';
import { loadConfig, readOrCreateDevSecret } from '../config/index.ts';

const USAGE = `Usage: npm run token -- --sub <user> [options]

  --sub <user>               the user id (sub claim); required
  --ttl <seconds>            lifetime, default 3600, at most JWT_MAX_LIFETIME_SECONDS
  --claim <key=value>        an extra string claim; repeatable
  --claim-json <key=json>    an extra claim parsed as JSON (e.g. roles=["admin"]); repeatable
  --kid <kid>                the header kid; default JWT_SECRET_KID (none with a private key)
  --private-key-file <pem>   sign with this RSA/EC private key instead of JWT_SECRET
  -h, --help                 this text`;

/** Where the CLI writes; injectable so it can be run in-process. */
export interface CliIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

/** A usage mistake: printed with the usage text, exit code 2. */
class UsageError extends Error {}

/**
 * Runs the CLI with `argv` (without node and the script) against `env`. Returns the exit code: 0 with the
 * token on stdout, 2 for a usage mistake, 1 when the configuration cannot sign.
 */
export function runTokenCli(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  io: CliIo,
): number {
  try {
    const { values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        sub: { type: 'string' },
        ttl: { type: 'string', default: '3600' },
        claim: { type: 'string', multiple: true, default: [] },
        'claim-json': { type: 'string', multiple: true, default: [] },
        kid: { type: 'string' },
        'private-key-file': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      io.stderr(USAGE);
      return 0;
    }
    if (values.sub === undefined || values.sub === '') throw new UsageError('--sub is required.');
    if (!/^\d+$/.test(values.ttl)) throw new UsageError('--ttl must be a whole number of seconds.');
    const claims: Record<string, unknown> = {};
    for (const pair of values.claim) {
      const [name, value] = splitPair(pair, '--claim');
      claims[name] = value;
    }
    for (const pair of values['claim-json']) {
      const [name, json] = splitPair(pair, '--claim-json');
      try {
        claims[name] = JSON.parse(json) as unknown;
      } catch {
        throw new UsageError(`--claim-json ${name}: the value is not JSON.`);
      }
    }

    const config = loadConfig(env, { devSecret: readOrCreateDevSecret });
    if (Number(values.ttl) > config.auth.maxLifetimeSeconds) {
      throw new UsageError(
        `--ttl ${values.ttl} is longer than JWT_MAX_LIFETIME_SECONDS (${config.auth.maxLifetimeSeconds}): the gateway would refuse the token.`,
      );
    }
    const keyFile = values['private-key-file'];
    if (keyFile === undefined && config.auth.secret === undefined) {
      io.stderr(
        'No JWT_SECRET is configured: set the same JWT_SECRET (and JWT_SECRET_KID, JWT_ISSUER, JWT_AUDIENCE) ' +
          'the gateway uses, or pass --private-key-file for RS*/ES* keys.',
      );
      return 1;
    }
    if (keyFile === undefined && config.devSecret !== undefined) {
      io.stderr(
        `No JWT_SECRET set: signed with the development secret in ${config.devSecret.file}` +
          `${config.devSecret.created ? ' (created now)' : ''}, which \`npm start\` uses in development.`,
      );
    }
    const signer = createTokenSigner(
      config.auth,
      keyFile === undefined ? {} : { privateKey: loadPrivateKeyFile(keyFile) },
    );
    io.stdout(
      signer.sign({
        sub: values.sub,
        ttlSeconds: Number(values.ttl),
        claims,
        ...(values.kid === undefined ? {} : { kid: values.kid }),
      }),
    );
    return 0;
  } catch (err) {
    const usage =
      err instanceof UsageError ||
      (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'));
    io.stderr(err instanceof Error ? err.message : String(err));
    if (usage) {
      io.stderr(`\n${USAGE}`);
      return 2;
    }
    return 1;
  }
}

function splitPair(pair: string, flag: string): [string, string] {
  const at = pair.indexOf('=');
  if (at <= 0) throw new UsageError(`${flag} expects key=value, got "${pair}".`);
  return [pair.slice(0, at), pair.slice(at + 1)];
}

// Run only as a script, so runTokenCli can be imported without side effects.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = runTokenCli(process.argv.slice(2), process.env, {
    stdout: (line) => console.log(line),
    stderr: (line) => console.error(line),
  });
}
