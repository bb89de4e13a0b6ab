/**
 * Request ids through the request ledger: a request whose payload carries `requestId` (1-64 printable
 * ASCII characters) is answered once per (user, requestId). The first attempt sets an in-flight marker with
 * SET NX (so of two identical requests racing, on any nodes, exactly one acts), runs, and records its ack
 * for REQUEST_RESULT_TTL_MS; a retry (say after a dropped ack) gets that same ack and never acts twice. A
 * retry that finds the first attempt still in flight waits for its result. An attempt that failed with
 * STORE_UNAVAILABLE is not recorded (the marker is dropped, best effort), so a retry acts again; every store
 * operation is idempotent, so that is safe.
 *
 * Requests whose feature folds the record into its own atomic step (`idempotency: 'folded'`, e.g.
 * `seat:hold`) and reads (`'none'`) do not come here: see request-pipeline.ts.
 */
import { wireError, type Ack, type WireError } from '@stayline/client-sdk/protocol';
import { GatewayError, isGatewayError } from '../../errors/gateway-error.ts';
import { REQUEST_RESULT_TTL_MS, type RequestLedger } from '../../session/request-ledger.ts';

const REQUEST_ID = /^[\x21-\x7e]{1,64}$/;

export interface LedgerRunOptions {
  /** How long an in-flight marker lives (a crashed attempt blocks its retries at most this long). */
  pendingMs: number;
  /** Poll interval while waiting for an in-flight attempt. Default 25. */
  pollMs?: number;
}

/** Splits `requestId` off a payload; BAD_REQUEST when it is present but not a valid id. */
export function splitRequestId(payload: unknown): { requestId: string | undefined; payload: unknown } {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload) || !('requestId' in payload))
    return { requestId: undefined, payload };
  const { requestId, ...rest } = payload as Record<string, unknown>;
  if (typeof requestId !== 'string' || !REQUEST_ID.test(requestId))
    throw new GatewayError('BAD_REQUEST', 'requestId must be 1-64 printable ASCII characters.');
  return { requestId, payload: rest };
}

/** One request to run through the ledger. */
export interface LedgerRequest<T> {
  userId: string;
  requestId: string;
  event: string;
  /** Runs the request and settles its ack (errors already in the wire shape). */
  act: () => Promise<Ack<T>>;
  /** Turns a ledger failure into the wire shape (the pipeline's one converter). */
  toWire: (err: unknown) => WireError;
}

/** Runs `request.act` at most once per (user, requestId); `replayed` when the ack came from the ledger. */
export async function runThroughLedger<T>(
  ledger: RequestLedger,
  options: LedgerRunOptions,
  request: LedgerRequest<T>,
): Promise<{ ack: Ack<T>; replayed: boolean }> {
  const { userId, requestId, event, toWire } = request;
  const pollMs = options.pollMs ?? 25;
  const deadline = Date.now() + options.pendingMs + 1000;
  for (;;) {
    let entry;
    try {
      entry = await ledger.begin(userId, requestId, options.pendingMs);
    } catch (err) {
      return { ack: { ok: false, error: toWire(err) }, replayed: false };
    }
    if (entry.state === 'done') {
      if (entry.event !== event) {
        const error = wireError('BAD_REQUEST', 'This requestId was used for another request.');
        return { ack: { ok: false, error }, replayed: false };
      }
      return { ack: JSON.parse(entry.ack) as Ack<T>, replayed: true };
    }
    if (entry.state === 'new') {
      const ack = await request.act();
      if (!ack.ok && ack.error.code === 'STORE_UNAVAILABLE') {
        await ledger.abandon(userId, requestId).catch(() => undefined);
        return { ack, replayed: false };
      }
      try {
        await ledger.complete(userId, requestId, event, JSON.stringify(ack), REQUEST_RESULT_TTL_MS);
      } catch (err) {
        // The action happened; only its record failed. Answer it: a retry would act again, idempotently.
        if (!isGatewayError(err)) throw err;
      }
      return { ack, replayed: false };
    }
    if (Date.now() > deadline) {
      const error = wireError('STORE_UNAVAILABLE', 'The first attempt of this request is still in flight.');
      return { ack: { ok: false, error }, replayed: false };
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
