/**
 * A background loop: runs an async round every `intervalMs`, never two rounds at once (a slow round makes
 * the next tick skip), and hands a failed round to `onError` (which logs and counts: a catch that does not
 * rethrow logs and counts). The timer does not keep the process alive.
 */
import { isGatewayError } from '../errors/gateway-error.ts';
import type { Logger } from './logger.ts';

/**
 * The usual `onError` of background loops: every failed round is counted; one that failed because the store
 * could not answer is logged at debug only (the outage log reports an outage once, outage-log.ts), anything
 * else as a warning with its cause.
 */
export function countAndLogFailedRound(
  log: Logger,
  count: (loop: string) => void,
  message: string,
): (err: unknown, loop: string) => void {
  return (err, loop) => {
    count(loop);
    if (isGatewayError(err, 'STORE_UNAVAILABLE'))
      log.debug({ operation: loop }, `${message}: store unavailable`);
    else log.warn({ err, operation: loop }, message);
  };
}
export interface Periodic {
  stop(): void;
}

export function startPeriodic(
  intervalMs: number,
  round: () => Promise<void>,
  onError: (err: unknown) => void,
): Periodic {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    round()
      .catch(onError)
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** Starts several loops and stops them together. */
export class Loops {
  private readonly running: Periodic[] = [];

  constructor(private readonly onError: (err: unknown, loop: string) => void) {}

  every(intervalMs: number, loop: string, round: () => Promise<void>): void {
    this.running.push(startPeriodic(intervalMs, round, (err) => this.onError(err, loop)));
  }

  stopAll(): void {
    for (const loop of this.running.splice(0)) loop.stop();
  }
}
