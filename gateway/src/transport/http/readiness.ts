/**
 * A node's readiness, as `/readyz` reports it: not draining, and every named check (a store's ping)
 * answering. The checks are read in parallel; a failed ping is `unavailable`, never an error.
 */

/** One thing a node needs to serve, by the name `/readyz` shows it under. */
export interface ReadinessCheck {
  name: string;
  ping(): Promise<unknown>;
}

/** Resolves `{ ready, checks }`: `checks` names each check's state (`draining` first), `ok` when fine. */
export type Readiness = () => Promise<{ ready: boolean; checks: Record<string, string> }>;

/** Readiness over `checks` (in their order) and the drain flag. */
export function createReadiness(checks: readonly ReadinessCheck[], isDraining: () => boolean): Readiness {
  return async () => {
    const draining = isDraining();
    const states: Record<string, string> = { draining: draining ? 'draining' : 'ok' };
    const results = await Promise.all(
      checks.map((check) =>
        check.ping().then(
          () => 'ok',
          () => 'unavailable',
        ),
      ),
    );
    checks.forEach((check, i) => {
      states[check.name] = results[i] ?? 'unavailable';
    });
    return { ready: !draining && results.every((r) => r === 'ok'), checks: states };
  };
}
