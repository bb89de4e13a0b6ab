/**
 * Logs a store outage as two lines, when it starts and when it ends, instead of one line per failed call:
 * during an outage every request, handshake and background round fails the same way, and logging each
 * (with a stack) turned a 5 s Redis stall into megabytes of identical warnings. The failed calls are
 * counted here (and by the metrics), and the end line says how many there were and for how long.
 *
 * It watches outcomes, not connections: a stalled Redis (SIGSTOP, a black-holed network) keeps its TCP
 * connection, so only the calls' timeouts show the outage (infra/redis.ts logs connection losses). Failures
 * before the first success are not an outage but a start (the connections are still coming up; a store
 * still down at start is logged by the node's start-up wait). `downMs` counts from the first failed call.
 */
import type { Logger } from './logger.ts';

export interface OutageLog {
  /** A store call failed because the store could not answer. */
  failed(operation: string): void;
  /** A store call succeeded. */
  succeeded(): void;
}

export function createOutageLog(log: Logger, now: () => number = Date.now): OutageLog {
  let outage: { since: number; failedCalls: number; firstOperation: string } | undefined;
  let servedOnce = false;
  return {
    failed(operation) {
      if (!servedOnce) return;
      if (outage !== undefined) {
        outage.failedCalls += 1;
        return;
      }
      outage = { since: now(), failedCalls: 1, firstOperation: operation };
      log.warn(
        { operation },
        'store unavailable: calls are answered STORE_UNAVAILABLE (retryable) until it recovers',
      );
    },
    succeeded() {
      servedOnce = true;
      if (outage === undefined) return;
      log.info(
        {
          downMs: now() - outage.since,
          failedCalls: outage.failedCalls,
          firstOperation: outage.firstOperation,
        },
        'store available again',
      );
      outage = undefined;
    },
  };
}
