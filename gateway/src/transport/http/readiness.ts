/**
 * A node's readiness, as `/readyz` reports it: not draining, and every named check passing (each store's
 * Redis is a writable primary, the Lua scripts are loaded or loadable there, the adapter's subscriber is
 * live and subscribed). The checks run in parallel; a failed check is named with its state (`unavailable`,
 * `replica`, `sentinel`, `not-loadable`, `not-subscribed`), never an error. Each check's result is kept for `cacheMs`, so a flood of probes on
 * this unauthenticated route costs Redis at most one round trip per check per interval. Why a check fails
 * is logged once when it starts failing (and once per new reason), and once when it passes again: never on
 * every probe.
 */
import type { Logger } from '../../infra/logger.ts';
import { NotReadyError } from '../../infra/redis-role.ts';

/** One thing a node needs to serve, by the name `/readyz` shows it under. */
export interface ReadinessCheck {
  name: string;
  /** Resolves when fine; rejects when not (a NotReadyError names the state, anything else is `unavailable`). */
  ping(): Promise<unknown>;
}

/** Resolves `{ ready, checks }`: `checks` names each check's state (`draining` first), `ok` when fine. */
export type Readiness = () => Promise<{ ready: boolean; checks: Record<string, string> }>;

/** Options of createReadiness. */
export interface ReadinessOptions {
  /** Where state changes are logged. Default: not logged. */
  log?: Logger;
  /** How long a check's result is reused, ms. Default 0 (every call checks). */
  cacheMs?: number;
  /** Clock, epoch ms. Default Date.now. */
  now?: () => number;
}

interface Outcome {
  state: string;
  reason: string | undefined;
}

/** `check` run at most once per `cacheMs`, concurrent callers sharing the one in flight. */
function cachedOutcome(check: ReadinessCheck, cacheMs: number, now: () => number): () => Promise<Outcome> {
  let last: { at: number; outcome: Promise<Outcome> } | undefined;
  return () => {
    const at = now();
    if (last !== undefined && at - last.at < cacheMs) return last.outcome;
    const outcome = check.ping().then(
      (): Outcome => ({ state: 'ok', reason: undefined }),
      (err: unknown): Outcome =>
        err instanceof NotReadyError
          ? { state: err.state, reason: err.message }
          : { state: 'unavailable', reason: err instanceof Error ? err.message : String(err) },
    );
    last = { at, outcome };
    return outcome;
  };
}

/** Readiness over `checks` (in their order) and the drain flag. */
export function createReadiness(
  checks: readonly ReadinessCheck[],
  isDraining: () => boolean,
  options: ReadinessOptions = {},
): Readiness {
  const now = options.now ?? Date.now;
  const runs = checks.map((check) => cachedOutcome(check, options.cacheMs ?? 0, now));
  // Per check: the failure states already logged since it last passed (undefined: passing, or never seen).
  const logged = new Map<string, Set<string>>();
  const report = (name: string, outcome: Outcome): void => {
    const seen = logged.get(name);
    if (outcome.state === 'ok') {
      if (seen === undefined) return;
      logged.delete(name);
      options.log?.info({ check: name }, `readiness check ${name} passes again`);
      return;
    }
    if (seen?.has(outcome.state) === true) return;
    if (seen === undefined) logged.set(name, new Set([outcome.state]));
    else seen.add(outcome.state);
    options.log?.warn(
      { check: name, state: outcome.state, reason: outcome.reason },
      `not ready: ${name} is ${outcome.state}: ${outcome.reason ?? ''}`,
    );
  };
  return async () => {
    const draining = isDraining();
    const outcomes = await Promise.all(runs.map((run) => run()));
    const states: Record<string, string> = { draining: draining ? 'draining' : 'ok' };
    checks.forEach((check, i) => {
      const outcome = outcomes[i] ?? { state: 'unavailable', reason: undefined };
      states[check.name] = outcome.state;
      report(check.name, outcome);
    });
    return { ready: !draining && outcomes.every((o) => o.state === 'ok'), checks: states };
  };
}
