/**
 * What every attack shares: its parameters, the tally it counts into, deadlines as epoch times, and the
 * attacker's counted connect.
 */
import type { LeanClient } from '../lean-client.ts';

/** What the attacks need to know; each reads its own part. */
export interface AttackParams {
  /** Gateway URLs (loopback). */
  urls: string[];
  /** How long one request or connect may wait for the server (bounded by the deadline too). */
  timeoutMs: number;
  oversized: {
    /** One token per attacker. */
    tokens: string[];
    /** `seatIds` per `seat:hold` (16,000 numbers ≈ 32 KB). */
    seats: number;
    /** Requests each attacker keeps in flight. */
    inflight: number;
    eventId: string;
  };
  bodies: {
    streams: number;
    /** Size of each deeply nested JSON body. */
    bytes: number;
    targets: { method: string; path: string }[];
  };
  /** One token per node: a flooder each. */
  flood: { tokens: string[] };
  idle: { sockets: number };
}

/** Counts by key; keys read `what` or `what:detail` (e.g. `answer:RATE_LIMITED`, `status:413`). */
export class Tally {
  readonly counts: Record<string, number> = Object.create(null) as Record<string, number>;
  add(key: string, n = 1): void {
    this.counts[key] = (this.counts[key] ?? 0) + n;
  }
}

/** Milliseconds since the epoch, with sub-ms precision (deadlines cross processes as epoch times). */
export const nowEpoch = (): number => performance.timeOrigin + performance.now();

export const pause = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** A short name for why a connection or request failed (the errno code when there is one). */
export function failureKind(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  const message = err instanceof Error ? err.message : String(err);
  const http = /Unexpected server response: (\d+)/.exec(message)?.[1];
  if (http !== undefined) return `http-${http}`;
  if (/no session:restored within/.test(message)) return 'TIMEOUT';
  if (/closed \(/.test(message)) return 'CLOSED';
  return 'ERROR';
}

/** The code of an ack (`ok` for a success, `none` for something that is not an ack). */
export function ackCode(value: unknown): string {
  if (typeof value !== 'object' || value === null) return 'none';
  const ack = value as { ok?: unknown; error?: { code?: unknown } };
  if (ack.ok === true) return 'ok';
  return typeof ack.error?.code === 'string' ? ack.error.code : 'none';
}

/**
 * One authenticated connection attempt for an attacker, counted: `connected`, `refused:<code>` (a
 * `connect_error`) or `connect-failed:<kind>`. Resolves whether it is up.
 */
export async function connectAttacker(client: LeanClient, tally: Tally, until: number): Promise<boolean> {
  try {
    const outcome = await client.connect(Math.max(1, until - nowEpoch()));
    if (outcome.error) {
      tally.add(`refused:${outcome.error.code ?? 'CONNECT_ERROR'}`);
      client.close();
      return false;
    }
    tally.add('connected');
    return true;
  } catch (err) {
    if (nowEpoch() < until) tally.add(`connect-failed:${failureKind(err)}`);
    return false;
  }
}
