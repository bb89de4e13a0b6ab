/**
 * The options of every scenario as zod schemas: commander collects the flags as given (strings, or the
 * defaults it shows in --help), and one schema per scenario turns them into the typed options the scenario
 * takes, so no option is read through a cast. A bad value fails with one line naming the flag:
 * `--clients: expected a whole number, got "ten"`. Imports zod and the scenarios' option types only.
 */
import { z } from 'zod';
import { ATTACKS, type AbuseOptions, type AttackName } from '../scenarios/abuse.ts';
import type { ConnectOptions } from '../scenarios/connect.ts';
import type { ContentionOptions } from '../scenarios/contention.ts';
import type { FanoutOptions } from '../scenarios/fanout.ts';
import type { IdleOptions } from '../scenarios/idle.ts';
import type { StormMode, StormOptions } from '../scenarios/storm.ts';

/** A flag value as commander hands it over: the raw text, or the default as declared. */
const raw = z.union([z.string(), z.number()]);

/** A number that passes `check`, from its text. */
const num = (check: (n: number) => boolean, expected: string) =>
  raw.transform((v, ctx) => {
    const n = typeof v === 'number' ? v : v.trim() === '' ? NaN : Number(v);
    if (check(n)) return n;
    ctx.addIssue({ code: 'custom', message: `expected ${expected}, got "${String(v)}"` });
    return z.NEVER;
  });
const int = num((n) => Number.isInteger(n) && n >= 0, 'a whole number');
const positive = num((n) => Number.isFinite(n) && n > 0, 'a positive number');
const nonNegative = num((n) => Number.isFinite(n) && n >= 0, 'a number ≥ 0');

/** `a,b,c` (or a default already split): the trimmed, non-empty parts. */
const strings = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((x) => x.trim()).filter((x) => x.length > 0));
/** `100,200`: positive numbers. */
const numbers = strings.pipe(z.array(positive).min(1, 'expected at least one number'));
/** `K=V,K2=V2`: gateway environment for --start-cluster (`K` alone sets it empty; an empty key is skipped). */
const envPairs = strings.transform((pairs) => {
  const env: Record<string, string> = {};
  for (const kv of pairs) {
    const [k, ...v] = kv.split('=');
    if (k) env[k] = v.join('=');
  }
  return env;
});
const attackList = strings.transform((names, ctx): AttackName[] => {
  for (const n of names) {
    if ((ATTACKS as readonly string[]).includes(n)) continue;
    ctx.addIssue({ code: 'custom', message: `unknown attack "${n}"; known: ${ATTACKS.join(', ')}` });
    return z.NEVER;
  }
  if (names.length === 0) ctx.addIssue({ code: 'custom', message: 'expected at least one attack' });
  return names as AttackName[];
});
/** `POST /v1/publish,PUT /v1/events/x`: method and path pairs. */
const httpTargets = strings.transform((list, ctx) => {
  const targets: { method: string; path: string }[] = [];
  for (const t of list) {
    const [method, path, ...rest] = t.split(/\s+/);
    if (!method || !/^[A-Z]+$/.test(method) || !path?.startsWith('/') || rest.length > 0) {
      ctx.addIssue({ code: 'custom', message: `expected "METHOD /path", got "${t}"` });
      return z.NEVER;
    }
    targets.push({ method, path });
  }
  if (targets.length === 0) ctx.addIssue({ code: 'custom', message: 'expected at least one target' });
  return targets;
});
const flag = z.boolean().default(false);

/** The options every scenario takes (targets, tokens, client, scale, reports). */
export const commonSchema = z.object({
  url: strings,
  startCluster: int.optional(),
  clusterEnv: envPairs,
  plain: flag,
  compiled: flag,
  profileNodes: z.string().optional(),
  jwtSecret: z.string().optional(),
  tokensFile: z.string().optional(),
  tokenTtl: int,
  userPrefix: z.string().optional(),
  policy: z.enum(['sdk', 'socketio', 'none']),
  client: z.enum(['lean', 'sdk']),
  baseMs: int.optional(),
  capMs: int.optional(),
  workers: int,
  sourceAddresses: strings,
  connectTimeoutMs: int,
  maxSeconds: int,
  serviceToken: z.string().optional(),
  redisUrl: z.string().optional(),
  pingIntervalMs: int.optional(),
  pingTimeoutMs: int.optional(),
  json: z.string().optional(),
  html: z.string().optional(),
  slo: z.string().optional(),
  quiet: flag,
});
export type CommonOptions = z.output<typeof commonSchema>;

/** `connect`: the options of runConnect (plainUrl is filled in by the CLI with --start-cluster --plain). */
export const connectSchema = z
  .object({
    rates: numbers,
    stepSeconds: positive,
    boundMs: positive,
    plainUrl: z.string().optional(),
    continueAfterFail: flag,
    warmupSeconds: nonNegative,
  })
  .transform((o): ConnectOptions => ({ ...o, plainUrl: o.plainUrl }));

const STORM_MODES = ['kill', 'drain', 'drop', 'blackhole'] as const;
/** `storm`; `heartbeatMs` comes from the common ping options. */
export const stormSchema = z
  .object({
    clients: int,
    kill: flag,
    drain: flag,
    drop: flag,
    blackhole: flag,
    node: int,
    roomsPerClient: int,
    roomCount: int.optional(),
    eventId: z.string(),
    ramp: positive,
    restoreTimeout: int,
    baseline: z.boolean().default(true),
    claims: z.boolean().default(true),
    stock: z.enum(['none', 'jwt']).optional(),
  })
  .transform((o, ctx): Omit<StormOptions, 'heartbeatMs'> => {
    const modes = STORM_MODES.filter((m) => o[m]);
    const mode: StormMode | undefined = modes[0];
    if (mode === undefined || modes.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'storm needs exactly one of --kill, --drain, --drop, --blackhole',
      });
      return z.NEVER;
    }
    return {
      clients: o.clients,
      mode,
      node: o.node,
      roomsPerClient: o.roomsPerClient,
      roomCount: o.roomCount ?? Math.max(1, Math.ceil(o.clients / 10)),
      eventId: o.eventId,
      rampPerSecond: o.ramp,
      restoreTimeoutSeconds: o.restoreTimeout,
      baseline: o.baseline,
      stock: o.stock,
      claims: o.claims,
    };
  });

/** `fanout`. */
export const fanoutSchema = z
  .object({
    sizes: numbers,
    rate: positive,
    duration: positive,
    storm: z.enum(['none', 'kill', 'drop']),
    stormAt: positive,
    stormClients: int,
    node: int,
    ramp: positive,
    baseline: z.enum(['none', 'volatile', 'plain']),
    rounds: int.pipe(z.number().min(1, 'expected at least 1 round')),
  })
  .transform((o): FanoutOptions => ({
    sizes: o.sizes.map(Math.round),
    rate: o.rate,
    durationSeconds: o.duration,
    storm: o.storm,
    stormAtSeconds: o.stormAt,
    stormClients: o.stormClients,
    node: o.node,
    rampPerSecond: o.ramp,
    baseline: o.baseline,
    rounds: o.rounds,
  }));

/** `contention`. */
export const contentionSchema = z
  .object({ clients: int, seats: int, eventId: z.string(), ramp: positive })
  .transform((o): ContentionOptions => ({
    clients: o.clients,
    seats: Math.max(1, o.seats),
    eventId: o.eventId,
    rampPerSecond: o.ramp,
  }));

/** `idle` (plainUrl is filled in by the CLI). */
export const idleSchema = z
  .object({ clients: int, ramp: positive, hold: positive })
  .transform((o): IdleOptions => ({ clients: o.clients, rampPerSecond: o.ramp, holdSeconds: o.hold }));

/** `replay` (the trace files are its arguments). */
export const replaySchema = z.object({ speed: positive, maxUsers: int });

/** `abuse`. */
export const abuseSchema = z
  .object({
    control: int,
    controlRate: positive,
    phaseSeconds: positive,
    recoverySeconds: nonNegative,
    attacks: attackList,
    oversizedAttackers: int,
    oversizedSeats: int,
    oversizedInflight: int,
    bodyStreams: int,
    bodyMb: positive,
    bodyTargets: httpTargets,
    idleSockets: int,
    ramp: positive,
    requestTimeoutMs: int,
    maxP99Ratio: positive.optional(),
    eventId: z.string(),
  })
  .transform((o): AbuseOptions => ({
    control: Math.max(1, o.control),
    controlRate: o.controlRate,
    phaseSeconds: o.phaseSeconds,
    recoverySeconds: o.recoverySeconds,
    attacks: o.attacks,
    oversizedAttackers: o.oversizedAttackers,
    oversizedSeats: o.oversizedSeats,
    oversizedInflight: Math.max(1, o.oversizedInflight),
    bodyStreams: o.bodyStreams,
    bodyBytes: Math.round(o.bodyMb * 1024 * 1024),
    bodyTargets: o.bodyTargets,
    idleSockets: o.idleSockets,
    rampPerSecond: o.ramp,
    requestTimeoutMs: Math.max(1, o.requestTimeoutMs),
    maxP99Ratio: o.maxP99Ratio,
    eventId: o.eventId,
  }));

/** A bad option: its message is one line naming the flag. */
export class OptionError extends Error {}

const flagName = (key: PropertyKey | undefined): string =>
  key === undefined ? '' : `--${String(key).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: `;

/** Parses `values` with `schema`, or throws an OptionError naming every bad flag on one line. */
export function parseOptions<S extends z.ZodTypeAny>(
  schema: S,
  values: Record<string, unknown>,
): z.output<S> {
  const result = schema.safeParse(values);
  if (result.success) return result.data as z.output<S>;
  const issues = result.error.issues.map((i) => {
    // zod's own messages (a wrong type, a missing choice) get the value the flag had.
    const key = i.path[0];
    const shown =
      i.code === 'custom' ? '' : ` (got ${JSON.stringify(key === undefined ? '' : values[String(key)])})`;
    return `${flagName(key)}${i.message}${shown}`;
  });
  throw new OptionError(issues.join('; '));
}
