/**
 * The claim store's Lua scripts (lua/claims/*.lua), each prefixed with lua/claims/prelude.lua and
 * registered with ioredis `defineCommand` under a `claim*` name. Every script takes the twelve event keys.
 */
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import { EVENT_KEY_PARTS } from './claim-keys.ts';

const CLAIM_SCRIPT_FILES = {
  claimDefineEvent: 'define-event.lua',
  claimQueueJoin: 'queue-join.lua',
  claimQueueLeave: 'queue-leave.lua',
  claimQueueAdmit: 'queue-admit.lua',
  claimHold: 'seat-hold.lua',
  claimRelease: 'seat-release.lua',
  claimConfirm: 'seat-confirm.lua',
  claimSeatMap: 'seat-map.lua',
  claimSeatChanges: 'seat-changes.lua',
  claimSweep: 'sweep-holds.lua',
  claimSettle: 'settle-members.lua',
  claimUserState: 'user-state.lua',
} as const;

export type ClaimScriptName = keyof typeof CLAIM_SCRIPT_FILES;
/** An argument of a claim script; an array is sent as its elements (ioredis flattens one level). */
export type ClaimScriptArg = string | number | readonly (string | number)[];
export type ClaimScriptCall = (eventKeys: readonly string[], ...args: ClaimScriptArg[]) => Promise<unknown>;
export type ClaimScripts = Readonly<Record<ClaimScriptName, ClaimScriptCall>>;

const read = (file: string): string => readFileSync(new URL(`./lua/claims/${file}`, import.meta.url), 'utf8');
const PRELUDE = read('prelude.lua');

/** Each script's full source (prelude + body), read once at module load. */
export const CLAIM_SCRIPT_SOURCES: Readonly<Record<ClaimScriptName, string>> = Object.fromEntries(
  Object.entries(CLAIM_SCRIPT_FILES).map(([name, file]) => [name, `${PRELUDE}\n${read(file)}`]),
) as Record<ClaimScriptName, string>;

/** Registers every claims script on `redis` (harmless twice) and returns typed callers. */
export function defineClaimScripts(redis: Redis | Cluster): ClaimScripts {
  const entries = (Object.keys(CLAIM_SCRIPT_FILES) as ClaimScriptName[]).map(
    (name): [ClaimScriptName, ClaimScriptCall] => {
      redis.defineCommand(name, { numberOfKeys: EVENT_KEY_PARTS.length, lua: CLAIM_SCRIPT_SOURCES[name] });
      // defineCommand adds a method named after the script; ioredis' types cannot know it.
      const command = (
        redis as unknown as Record<ClaimScriptName, (...a: ClaimScriptArg[]) => Promise<unknown>>
      )[name];
      // Long lists (100,000 seat ids) go as one array argument: spread into the call they can overflow
      // the stack ("Maximum call stack size exceeded" deep inside an express handler).
      return [name, (keys, ...args) => command.call(redis, ...keys, ...args)];
    },
  );
  return Object.fromEntries(entries) as Record<ClaimScriptName, ClaimScriptCall>;
}
