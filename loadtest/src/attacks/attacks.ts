/**
 * Hostile clients for the `abuse` scenario, run one attack at a time in the attack worker (a child process
 * of its own, so a flood does not stall the coordinator). Each attack runs until a deadline it is given and
 * then stops by itself, and reports what the server did to it as a tally of counts: answers by code,
 * HTTP statuses, refusals at connect, disconnects by reason, timeouts. Whatever the server does (answer,
 * refuse, disconnect, stay silent) lands in the tally; no reaction is an error of the attack itself.
 * This folder may import the lean client and `ws`, nothing of the scenarios.
 */
import { bodies } from './bodies.ts';
import { Tally, type AttackParams } from './common.ts';
import { flood } from './flood.ts';
import { idleEngines } from './idle-engines.ts';
import { oversized } from './oversized.ts';

export type { AttackParams } from './common.ts';

/** The attacks, in the order the scenario runs them by default. */
export const ATTACKS = ['oversized', 'bodies', 'flood', 'idle'] as const;
export type AttackName = (typeof ATTACKS)[number];

/** Runs `name` until `untilEpochMs` and resolves with what it counted. */
export async function runAttack(
  name: AttackName,
  params: AttackParams,
  untilEpochMs: number,
): Promise<Record<string, number>> {
  const tally = new Tally();
  switch (name) {
    case 'oversized':
      await oversized(params, untilEpochMs, tally);
      break;
    case 'bodies':
      await bodies(params, untilEpochMs, tally);
      break;
    case 'flood':
      await flood(params, untilEpochMs, tally);
      break;
    case 'idle':
      await idleEngines(params, untilEpochMs, tally);
      break;
  }
  return { ...tally.counts };
}
