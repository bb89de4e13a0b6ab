/**
 * The one place a thrown value becomes the wire shape: a schema refusal becomes its bounded summary, a
 * GatewayError its code, anything unexpected INTERNAL (logged with its cause, never a stack on the wire).
 * The request pipeline and the handshake call it exactly once per failure, so an unexpected failure is
 * logged once.
 */
import { ZodError } from 'zod';
import type { WireError } from '@stayline/client-sdk/protocol';
import { isGatewayError, toWireError } from '../../errors/gateway-error.ts';
import { invalidInput } from '../../errors/invalid-input.ts';
import type { Logger } from '../../infra/logger.ts';

/** Maps a thrown value to the wire, logging what is not a deliberate GatewayError. */
export function edgeError(err: unknown, log: Logger, context: Record<string, unknown>): WireError {
  // A schema refusal: a bounded summary, never the input (errors/invalid-input.ts, the one formatter).
  if (err instanceof ZodError) return toWireError(invalidInput(err.issues));
  // A deliberate refusal, STORE_UNAVAILABLE included, is counted by the caller (stayline_rejections_total)
  // and not logged: an outage is logged once when it starts and once when it ends (infra/outage-log.ts).
  if (!isGatewayError(err)) log.error({ err, ...context }, 'request failed unexpectedly');
  return toWireError(err);
}
