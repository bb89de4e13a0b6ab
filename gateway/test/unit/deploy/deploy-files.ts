/**
 * Readers shared by the deploy/ checks: file paths, the schema's defaults, duration parsing, and the
 * environment variable names each kind of manifest uses.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { envSchema, type ParsedEnv } from '../../../src/config/schema.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const deployPath = (relative: string): string => `${REPO_ROOT}deploy/${relative}`;
export const readDeploy = (relative: string): string => readFileSync(deployPath(relative), 'utf8');

/** The gateway's defaults, read from the schema itself (never copied into the tests). */
export const DEFAULTS: ParsedEnv = envSchema.parse({});

/** Every variable name the gateway knows. */
export const SCHEMA_NAMES: ReadonlySet<string> = new Set(Object.keys(envSchema.shape));

/**
 * How long a drain may take beyond DRAIN_SECONDS: transport/drain.ts gives acks in flight up to 5 s
 * (`ackGraceMs`) after the last batch, then closing Redis and the server takes about a second.
 */
export const DRAIN_TAIL_SECONDS = 6;

/** Parses a config value through the schema, so manifests are checked with the gateway's own rules. */
export function parseEnv(env: Record<string, string>): ParsedEnv {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    throw new Error(result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  return result.data;
}

/** `60s`, `1h`, `500ms`, `2m`, `5000` (HAProxy's default unit is ms) → seconds. */
export function durationSeconds(value: string, defaultUnit: 'ms' | 's' = 'ms'): number {
  const match = /^(\d+(?:\.\d+)?)(us|ms|s|m|h|d)?$/.exec(value.trim());
  if (!match?.[1]) throw new Error(`not a duration: "${value}"`);
  const factors: Record<string, number> = { us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600, d: 86400 };
  const factor = factors[match[2] ?? defaultUnit];
  if (factor === undefined) throw new Error(`unknown unit in "${value}"`);
  return Number(match[1]) * factor;
}

/** A YAML file (merge keys `<<` resolved). */
export const readYaml = (relative: string): unknown => parseYaml(readDeploy(relative), { merge: true });

/** Every document of a multi-document YAML file. */
export const readYamlDocs = (relative: string): unknown[] =>
  parseAllDocuments(readDeploy(relative), { merge: true }).map((d) => d.toJS() as unknown);

/**
 * The environment variables a Dockerfile sets or reads: `ENV` instructions (both syntaxes, continuation
 * lines joined) and `process.env.NAME` / `process.env['NAME']` in RUN, CMD and HEALTHCHECK commands.
 */
export function dockerfileEnvNames(text: string): string[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  const names = new Set<string>();
  for (const line of joined.split(/\r?\n/)) {
    const env = /^\s*ENV\s+(.*)$/i.exec(line);
    if (env?.[1] === undefined) continue;
    const rest = env[1].trim();
    if (/^[A-Za-z_][A-Za-z0-9_]*\s+[^=]*$/.test(rest)) names.add(rest.split(/\s+/)[0] ?? '');
    else for (const m of rest.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=/g)) if (m[1]) names.add(m[1]);
  }
  for (const m of joined.matchAll(
    /process\.env(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[['"]([A-Za-z_][A-Za-z0-9_]*)['"]\])/g,
  )) {
    const name = m[1] ?? m[2];
    if (name) names.add(name);
  }
  return [...names];
}

/** Replaces compose interpolations: `${A:-x}` → x, `${A:?msg}` / `${A}` → a 40-character stand-in. */
export function composeInterpolate(value: string): string {
  return value.replace(
    /\$\{[A-Za-z_][A-Za-z0-9_]*(?::?([-?])([^}]*))?\}/g,
    (_m, op: string | undefined, arg: string) => (op === '-' ? arg : 'x'.repeat(40)),
  );
}
