/**
 * What the Redis-backed stores share: the operation runner (timing, the observe hook, and the mapping of
 * "Redis could not answer" to STORE_UNAVAILABLE) and the checks of script replies. Replies are checked,
 * not cast: a reply of the wrong shape is a bug, and surfaces as INTERNAL.
 */
import { GatewayError } from '../../errors/gateway-error.ts';
import { toStoreError } from '../../infra/redis.ts';

/** Reports one store operation's latency and outcome (a bounded `command` label). Must not throw. */
export type ObserveCommand = (command: string, seconds: number, outcome: 'ok' | 'error') => void;

/**
 * Runs one store operation: refused with STORE_UNAVAILABLE after close(), timed and reported, and any
 * Redis availability error mapped to STORE_UNAVAILABLE (other errors pass through as bugs).
 */
export async function runStoreOperation<T>(
  store: { readonly closed: boolean; readonly name: string; readonly observe: ObserveCommand | undefined },
  operation: string,
  fn: () => Promise<T>,
): Promise<T> {
  if (store.closed) throw new GatewayError('STORE_UNAVAILABLE', `${store.name} is closed`);
  const started = performance.now();
  try {
    const result = await fn();
    store.observe?.(operation, (performance.now() - started) / 1000, 'ok');
    return result;
  } catch (err) {
    store.observe?.(operation, (performance.now() - started) / 1000, 'error');
    throw toStoreError(err, operation);
  }
}

export function unexpected(script: string, reply: unknown): Error {
  return new Error(`Unexpected reply from ${script}: ${JSON.stringify(reply)}`);
}

export function asArray(script: string, value: unknown): unknown[] {
  if (Array.isArray(value)) return value as unknown[];
  throw unexpected(script, value);
}

export function asInt(script: string, value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  throw unexpected(script, value);
}

export function asString(script: string, value: unknown): string {
  if (typeof value === 'string') return value;
  throw unexpected(script, value);
}

export function asStrings(script: string, value: unknown): string[] {
  if (Array.isArray(value) && value.every((v): v is string => typeof v === 'string')) return value;
  throw unexpected(script, value);
}

/** Sorted here, not in Lua, so the Redis and memory stores use the same (JavaScript) order. */
export function sortedStrings(script: string, value: unknown): string[] {
  return asStrings(script, value).sort();
}
