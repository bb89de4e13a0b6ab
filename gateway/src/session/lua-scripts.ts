/**
 * The session store's Lua scripts: loaded once from `lua/*.lua` and registered on a client with ioredis
 * `defineCommand` (EVALSHA, falling back to EVAL when Redis answers NOSCRIPT, e.g. after a restart).
 * Each file's header comment is the reference for its KEYS, ARGV and reply.
 */
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

/** Script name (the ioredis command) -> file and number of KEYS. */
const SCRIPT_FILES = {
  attachSocket: { file: 'attach-socket.lua', keys: 6 },
  revokeTokens: { file: 'revoke-tokens.lua', keys: 1 },
  detachSocket: { file: 'detach-socket.lua', keys: 3 },
  joinRoom: { file: 'join-room.lua', keys: 3 },
  leaveRoom: { file: 'leave-room.lua', keys: 3 },
  touchSession: { file: 'touch-session.lua', keys: 3 },
  getSession: { file: 'get-session.lua', keys: 3 },
  purgeSockets: { file: 'purge-sockets.lua', keys: 3 },
  heartbeatNode: { file: 'heartbeat-node.lua', keys: 1 },
  findDeadNodes: { file: 'find-dead-nodes.lua', keys: 1 },
  forgetNode: { file: 'forget-node.lua', keys: 1 },
} as const satisfies Record<string, { file: string; keys: number }>;

export type ScriptName = keyof typeof SCRIPT_FILES;
export type ScriptArg = string | number;
/** KEYS first, then ARGV; resolves with the raw reply, which the caller validates. */
export type ScriptCall = (...keysThenArgs: ScriptArg[]) => Promise<unknown>;
export type SessionScripts = Readonly<Record<ScriptName, ScriptCall>>;

/** Every script's source, read once at module load (a missing file fails at start, not on first use). */
export const SCRIPT_SOURCES: Readonly<Record<ScriptName, string>> = Object.fromEntries(
  Object.entries(SCRIPT_FILES).map(([name, { file }]) => [
    name,
    readFileSync(new URL(`./lua/${file}`, import.meta.url), 'utf8'),
  ]),
) as Record<ScriptName, string>;

/**
 * Registers every script on `redis` and returns them as typed functions. Registering twice on the same
 * client (two stores sharing it) is harmless: the definitions are identical.
 */
export function defineSessionScripts(redis: Redis | Cluster): SessionScripts {
  const entries = (Object.keys(SCRIPT_FILES) as ScriptName[]).map((name): [ScriptName, ScriptCall] => {
    redis.defineCommand(name, { numberOfKeys: SCRIPT_FILES[name].keys, lua: SCRIPT_SOURCES[name] });
    // defineCommand adds a method named after the script; ioredis' types cannot know it.
    const command = (redis as unknown as Record<ScriptName, ScriptCall>)[name];
    return [name, (...args) => command.apply(redis, args)];
  });
  return Object.fromEntries(entries) as Record<ScriptName, ScriptCall>;
}
