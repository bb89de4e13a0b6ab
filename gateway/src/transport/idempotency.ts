/**
 * Request ids: a request whose payload carries `requestId` (1-64 characters) is answered once per
 * (user, requestId). The first attempt sets an in-flight marker with SET NX (so of two identical requests
 * racing, on any nodes, exactly one acts), runs, and records its ack for REQUEST_RESULT_TTL_MS; a retry
 * (say after a dropped ack) gets that same ack and never acts twice. A retry that finds the first attempt
 * still in flight waits for its result. An attempt that failed with STORE_UNAVAILABLE is not recorded (the
 * marker is dropped, best effort), so a retry acts again; every store operation is idempotent, so that is
 * safe. `requestId` is removed from the payload before the handler's schema sees it.
 */
import { wireError, type Ack, type WireError } from '@stayline/client-sdk/protocol';
import { GatewayError, isGatewayError } from '../errors/gateway-error.ts';
import type { RequestLedger } from '../session/request-ledger.ts';

/** How long a recorded ack answers retries. */
export const REQUEST_RESULT_TTL_MS = 120_000;
const REQUEST_ID = /^[\x21-\x7e]{1,64}$/;

export interface IdempotencyOptions {
  /** How long an in-flight marker lives (a crashed attempt blocks its retries at most this long). */
  pendingMs: number;
  /** Poll interval while waiting for an in-flight attempt. Default 25. */
  pollMs?: number;
}

export type RequestRunner = <T>(
  userId: string,
  event: string,
  payload: unknown,
  handler: (payload: unknown) => Promise<T>,
  toWire: (err: unknown) => WireError,
) => Promise<Ack<T>>;

/** Splits `requestId` off a payload; BAD_REQUEST when it is present but not a valid id. */
export function splitRequestId(payload: unknown): { requestId: string | undefined; payload: unknown } {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload) || !('requestId' in payload))
    return { requestId: undefined, payload };
  const { requestId, ...rest } = payload as Record<string, unknown>;
  if (typeof requestId !== 'string' || !REQUEST_ID.test(requestId))
    throw new GatewayError('BAD_REQUEST', 'requestId must be 1-64 printable ASCII characters.');
  return { requestId, payload: rest };
}

export function createRequestRunner(store: RequestLedger, options: IdempotencyOptions): RequestRunner {
  const pollMs = options.pollMs ?? 25;
  const settle = async <T>(
    handler: () => Promise<T>,
    toWire: (err: unknown) => WireError,
  ): Promise<Ack<T>> => {
    try {
      return { ok: true, data: await handler() };
    } catch (err) {
      return { ok: false, error: toWire(err) };
    }
  };
  return async (userId, event, rawPayload, handler, toWire) => {
    let split;
    try {
      split = splitRequestId(rawPayload);
    } catch (err) {
      return { ok: false, error: toWire(err) };
    }
    const { requestId, payload } = split;
    if (requestId === undefined) return settle(() => handler(payload), toWire);
    const deadline = Date.now() + options.pendingMs + 1000;
    for (;;) {
      let entry;
      try {
        entry = await store.begin(userId, requestId, options.pendingMs);
      } catch (err) {
        return { ok: false, error: toWire(err) };
      }
      if (entry.state === 'done') {
        if (entry.event !== event)
          return {
            ok: false,
            error: wireError('BAD_REQUEST', 'This requestId was used for another request.'),
          };
        return JSON.parse(entry.ack) as Ack<never>;
      }
      if (entry.state === 'new') {
        const ack = await settle(() => handler(payload), toWire);
        if (!ack.ok && ack.error.code === 'STORE_UNAVAILABLE') {
          await store.abandon(userId, requestId).catch(() => undefined);
          return ack;
        }
        try {
          await store.complete(userId, requestId, event, JSON.stringify(ack), REQUEST_RESULT_TTL_MS);
        } catch (err) {
          // The action happened; only its record failed. Answer it: a retry would act again, idempotently.
          if (!isGatewayError(err)) throw err;
        }
        return ack;
      }
      if (Date.now() > deadline)
        return {
          ok: false,
          error: wireError('STORE_UNAVAILABLE', 'The first attempt of this request is still in flight.'),
        };
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  };
}
