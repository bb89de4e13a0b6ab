/**
 * The edge between handlers and the wire: runs a request handler, answers its ack with exactly one
 * `{ ok: true, data }` or `{ ok: false, error }`, and turns anything unexpected into INTERNAL (logged with
 * its cause, counted; never a stack on the wire).
 */
import { ZodError } from 'zod';
import type { Ack, WireError } from '@stayline/client-sdk/protocol';
import { isGatewayError, toWireError } from '../errors/gateway-error.ts';
import { invalidInput } from '../errors/invalid-input.ts';
import type { Logger } from '../infra/logger.ts';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import type { Inflight } from './inflight.ts';

/** Maps a thrown value to the wire, logging what is not a deliberate GatewayError. */
export function edgeError(err: unknown, log: Logger, context: Record<string, unknown>): WireError {
  // A schema refusal: a bounded summary, never the input (errors/invalid-input.ts, the one formatter).
  if (err instanceof ZodError) return toWireError(invalidInput(err.issues));
  if (!isGatewayError(err)) log.error({ err, ...context }, 'request failed unexpectedly');
  else if (err.code === 'STORE_UNAVAILABLE')
    log.warn({ err: err.cause ?? err, ...context }, 'store unavailable');
  return toWireError(err);
}

/** Runs `handler` and acks once; `ack` must be a function (checked by the inbound guard). */
export function answer<T>(
  ack: (response: Ack<T>) => void,
  handler: () => Promise<T>,
  deps: { log: Logger; metrics: GatewayMetrics; event: string; inflight?: Inflight },
): void {
  deps.inflight?.begin();
  // A handler that throws synchronously is answered like one that rejects.
  new Promise<T>((resolve) => resolve(handler())).then(
    (data) => {
      ack({ ok: true, data });
      deps.inflight?.end();
    },
    (err: unknown) => {
      const error = edgeError(err, deps.log, { event: deps.event });
      deps.metrics.rejections.inc({ code: error.code });
      ack({ ok: false, error });
      deps.inflight?.end();
    },
  );
}
