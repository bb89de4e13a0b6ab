/**
 * The one script registry: every Lua script of session/lua/ (user, stream, node and global slots), session/lua/session/
 * (the user's hash, each prefixed with session/prelude.lua) and session/lua/claims/ (event slot, each
 * prefixed with claims/prelude.lua), registered with ioredis `defineCommand` (EVALSHA,
 * falling back to EVAL on NOSCRIPT, e.g. after a Redis restart) under its file's name in camelCase
 * (`claims/seat-hold.lua` is `seatHold`). Each file's header comment is the reference for its KEYS, ARGV and
 * reply; the signatures below type the call site: KEYS as an object with named fields (the registry puts
 * them in the script's order; for an ANY_KEYS script, over any number of keys, a list whose length the
 * registry sends as EVAL's numkeys: of one slot, except attachSockets, which the store sends only to a single
 * Redis), ARGV as a labelled tuple. Replies stay `unknown` here: they
 * are decoded, checked and named in session-replies.ts and claim-replies.ts.
 */
import { readFileSync } from 'node:fs';
import type { RedisLike } from '../../infra/redis.ts';
import { EVENT_KEY_PARTS } from './event-keys.ts';

/** An argument; an array is sent as its elements (ioredis flattens one level), so long lists never spread. */
export type ScriptArg = string | number | readonly (string | number)[];

/** Where a script's file is, under lua/: a folder's scripts are each prefixed with its prelude.lua. */
type ScriptFolder = 'claims' | 'session' | '';

/** The KEYS of a script that takes any number of keys, given as a list at each call. */
const ANY_KEYS = 'any' as const;

interface ScriptSpec<K extends readonly string[] | typeof ANY_KEYS, A extends readonly ScriptArg[]> {
  /** KEYS, in the script's order, or ANY_KEYS. */
  readonly keys: K;
  /** lua/claims/ or lua/session/ (each script prefixed with that folder's prelude.lua), or lua/ itself. */
  readonly folder: ScriptFolder;
  /** Carries the ARGV type only. */
  readonly args?: A;
}

const script = <K extends readonly string[] | typeof ANY_KEYS, A extends readonly ScriptArg[]>(
  keys: K,
  folder: ScriptFolder | true = '',
): ScriptSpec<K, A> => ({ keys, folder: folder === true ? 'claims' : folder });

const SESSION = ['session'] as const;
const ATTACH = ['session', 'revoked'] as const;
const LEDGER = ['requests', 'request'] as const;
const HOLD = [...EVENT_KEY_PARTS, 'request'] as const;
const STREAM = ['meta', 'log'] as const;
type Seats = readonly string[];

/** Every script: name (= file name in camelCase) -> KEYS by name, ARGV types. */
const SCRIPTS = {
  // User slot: the session (lua/session/, with its prelude).
  attachSocket: script<
    typeof ATTACH,
    [
      socketId: string,
      nodeId: string,
      maxSockets: number,
      ttlMs: number,
      seenTtlMs: number,
      claimsIndexTtlMs: number,
      tokenIssuedAtSeconds: number,
    ]
  >(ATTACH, 'session'),
  // A single Redis only (standalone, Sentinel): the attaches of a turn, over many users' slots and the node's.
  attachSockets: script<
    typeof ANY_KEYS,
    [
      nodeId: string,
      ttlMs: number,
      seenTtlMs: number,
      claimsIndexTtlMs: number,
      perAttach: readonly (string | number)[],
    ]
  >(ANY_KEYS, 'session'),
  revokeTokens: script<readonly ['revoked'], [keepMs: number]>(['revoked']),
  detachSocket: script<typeof SESSION, [socketId: string, ttlMs: number]>(SESSION, 'session'),
  joinRoom: script<typeof SESSION, [room: string, ttlMs: number, maxRooms: number]>(SESSION, 'session'),
  leaveRoom: script<typeof SESSION, [room: string, ttlMs: number]>(SESSION, 'session'),
  touchSession: script<typeof SESSION, [ttlMs: number]>(SESSION, 'session'),
  getSession: script<typeof SESSION, []>(SESSION, 'session'),
  purgeSockets: script<typeof SESSION, [nodeId: string, ttlMs: number, socketIds: Seats]>(SESSION, 'session'),
  // Node slot (lua/): buckets of one node's socket index.
  nodeIndexAdd: script<typeof ANY_KEYS, [countsAndEntries: Seats]>(ANY_KEYS),
  // User slot: the claim store's index (in the user's hash) and the request ledger (lua/).
  claimsIndexAdd: script<typeof SESSION, [eventId: string, ttlMs: number]>(SESSION),
  claimsIndexRead: script<typeof SESSION, [ttlMs: number]>(SESSION),
  claimsIndexDrop: script<typeof SESSION, [eventIds: readonly string[]]>(SESSION),
  requestBegin: script<typeof LEDGER, [requestId: string, pendingMs: number]>(LEDGER),
  requestComplete: script<typeof LEDGER, [requestId: string, entry: string, ttlMs: number]>(LEDGER),
  requestAbandon: script<typeof LEDGER, [requestId: string]>(LEDGER),
  // Stream slot (a room's, or the user's for the user stream): message history (lua/).
  historyAppend: script<
    typeof STREAM,
    [
      newEpoch: string,
      size: number,
      ttlMs: number,
      event: string,
      data: string,
      channel: string,
      room: string,
      node: string,
    ]
  >(STREAM),
  historySince: script<
    typeof STREAM,
    [newEpoch: string, ttlMs: number, clientEpoch: string, clientOffset: number]
  >(STREAM),
  // Global: the node registry (lua/).
  heartbeatNode: script<readonly ['nodes'], [nodeId: string]>(['nodes']),
  findDeadNodes: script<readonly ['nodes'], [deadAfterMs: number, limit: number]>(['nodes']),
  forgetNode: script<readonly ['nodes'], [nodeId: string, deadAfterMs: number]>(['nodes']),
  // Global: the sweeper's due index (lua/), one hash tag.
  dueIndexSet: script<readonly ['due', 'seqs'], [eventId: string, due: string, seq: string]>(['due', 'seqs']),
  // Event slot (lua/claims/, with the prelude).
  defineEvent: script<
    typeof EVENT_KEY_PARTS,
    [
      requiresAdmission: 0 | 1,
      ratePerSecond: number,
      maxSeats: number,
      holdMs: number,
      sectionSeparator: string,
      seatIds: Seats,
    ]
  >(EVENT_KEY_PARTS, true),
  deleteEvent: script<typeof EVENT_KEY_PARTS, [force: 0 | 1]>(EVENT_KEY_PARTS, true),
  queueJoin: script<typeof EVENT_KEY_PARTS, [userId: string, checkMs: number]>(EVENT_KEY_PARTS, true),
  queueLeave: script<typeof EVENT_KEY_PARTS, [userId: string]>(EVENT_KEY_PARTS, true),
  queueAdmit: script<typeof EVENT_KEY_PARTS, [count: number, admissionTtlMs: number, maxUsers: number]>(
    EVENT_KEY_PARTS,
    true,
  ),
  seatHold: script<
    typeof HOLD,
    [userId: string, admitted: 0 | 1, checkMs: number, recordMs: number, requestId: string, seatIds: Seats]
  >(HOLD, true),
  seatUnhold: script<typeof HOLD, [userId: string, fence: number, requestId: string, seatIds: Seats]>(
    HOLD,
    true,
  ),
  seatRelease: script<typeof EVENT_KEY_PARTS, [userId: string, seatIds: Seats]>(EVENT_KEY_PARTS, true),
  seatConfirm: script<typeof EVENT_KEY_PARTS, [userId: string, fence: number, seatIds: Seats]>(
    EVENT_KEY_PARTS,
    true,
  ),
  seatMap: script<typeof EVENT_KEY_PARTS, [section: string]>(EVENT_KEY_PARTS, true),
  seatChanges: script<typeof EVENT_KEY_PARTS, [after: number | '', maxVersions: number, section: string]>(
    EVENT_KEY_PARTS,
    true,
  ),
  sweepHolds: script<typeof EVENT_KEY_PARTS, [limit: number, force: 0 | 1]>(EVENT_KEY_PARTS, true),
  settleMembers: script<
    typeof EVENT_KEY_PARTS,
    [checkMs: number, userAlivePairs: readonly (string | number)[]]
  >(EVENT_KEY_PARTS, true),
  userStates: script<typeof EVENT_KEY_PARTS, [userIds: readonly string[]]>(EVENT_KEY_PARTS, true),
  // Event slot, the queue alone (lua/): the positions the queue feature pushes.
  queuePositions: script<readonly ['queue'], [userIds: Seats]>(['queue']),
};

type Specs = typeof SCRIPTS;
export type ScriptName = keyof Specs;
type KeysOf<S> = S extends ScriptSpec<infer K, readonly ScriptArg[]> ? K : never;
type ArgsOf<S> = S extends ScriptSpec<readonly string[] | typeof ANY_KEYS, infer A> ? A : never;

/**
 * A script's caller: its KEYS by name (extra fields are ignored), or the list of keys of an ANY_KEYS script,
 * then its ARGV; resolves with the raw reply.
 */
export type ScriptCall<N extends ScriptName> = (
  keys: KeysOf<Specs[N]> extends readonly string[]
    ? Readonly<Record<KeysOf<Specs[N]>[number], string>>
    : readonly string[],
  ...args: ArgsOf<Specs[N]>
) => Promise<unknown>;

export type Scripts = { readonly [N in ScriptName]: ScriptCall<N> };

const fileOf = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`) + '.lua';
const read = (path: string): string => readFileSync(new URL(`../lua/${path}`, import.meta.url), 'utf8');
const PRELUDES = { claims: read('claims/prelude.lua'), session: read('session/prelude.lua') } as const;

/** Every script's full source (its prelude included), read once at module load: a missing file fails at start. */
export const SCRIPT_SOURCES: Readonly<Record<ScriptName, string>> = Object.fromEntries(
  Object.entries(SCRIPTS).map(([name, spec]) => [
    name,
    spec.folder === ''
      ? read(fileOf(name))
      : `${PRELUDES[spec.folder]}\n${read(`${spec.folder}/${fileOf(name)}`)}`,
  ]),
) as Record<ScriptName, string>;

/**
 * Registers every script on `redis` and returns the typed callers. Registering twice on one client (stores
 * sharing it) is harmless: the definitions are identical.
 */
export function defineScripts(redis: RedisLike): Scripts {
  const entries = (Object.keys(SCRIPTS) as ScriptName[]).map((name) => {
    const keyNames: readonly string[] | typeof ANY_KEYS = SCRIPTS[name].keys;
    // Without numberOfKeys, ioredis takes the call's first argument as EVAL's numkeys.
    redis.defineCommand(name, {
      ...(keyNames === ANY_KEYS ? {} : { numberOfKeys: keyNames.length }),
      lua: SCRIPT_SOURCES[name],
    });
    // defineCommand adds a method named after the script; ioredis' types cannot know it.
    const command = (redis as unknown as Record<string, (...a: ScriptArg[]) => Promise<unknown>>)[name]!;
    const call =
      keyNames === ANY_KEYS
        ? (keys: readonly string[], ...args: ScriptArg[]): Promise<unknown> =>
            command.call(redis, keys.length, ...keys, ...args)
        : (keys: Readonly<Record<string, string>>, ...args: ScriptArg[]): Promise<unknown> =>
            command.call(redis, ...keyNames.map((k) => keys[k]!), ...args);
    return [name, call];
  });
  return Object.fromEntries(entries) as Scripts;
}
