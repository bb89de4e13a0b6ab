/**
 * The call queue: every request the client sends, from the call to its settled promise. A call gets a
 * request id, waits while the connection is down, is sent when it is up, and is sent again with the same
 * id after a reconnect (so the server answers with the first result); it fails with CLIENT_TIMEOUT when no
 * answer came in time. Knows nothing of socket.io: the socket binding hands it an `emit`.
 */
import type { AckCallback, ClientToServerEvents } from './protocol/index.ts';
import type { SdkTimers } from './client-options.ts';
import { SdkError, readWireError } from './errors.ts';

/** Per-call options. */
export interface CallOptions {
  /** Overrides `callTimeoutMs` for this call. */
  timeoutMs?: number;
  /** Send your own request id (1-64 characters) to make a retry of your own idempotent too. */
  requestId?: string;
}

type RequestOf<E extends keyof ClientToServerEvents> = Parameters<ClientToServerEvents[E]>[0];
/** What a request resolves with: the `data` of its successful ack. */
export type ResultOf<E extends keyof ClientToServerEvents> =
  Parameters<ClientToServerEvents[E]>[1] extends AckCallback<infer T> ? T : never;
/** A request payload without its request id (the SDK adds it). */
export type RequestPayload<E extends keyof ClientToServerEvents> = Omit<RequestOf<E>, 'requestId'>;

interface PendingCall {
  event: keyof ClientToServerEvents;
  payload: Record<string, unknown>;
  /** Bumped at every send, so the ack of an earlier send (on a dropped connection) is ignored. */
  sendSeq: number;
  inFlight: boolean;
  /** Bound to the connection it was sent on: fails instead of being sent again after a reconnect. */
  connectionBound: boolean;
  settle(outcome: { ok: true; data: unknown } | { ok: false; error: SdkError }): void;
}

/** What the queue needs from the rest of the client. */
export interface CallQueueDeps {
  timers: SdkTimers;
  /** Default deadline of a call, in ms. */
  callTimeoutMs: number;
  newRequestId: () => string;
  /** Emits one request with its ack callback on the current connection. */
  emit(event: string, payload: unknown, ack: (response: unknown) => void): void;
  /** True when a call may be sent now (the socket is connected and the state says so). */
  canSend(): boolean;
  /** The error a new call fails with at once (the client is stopped), or undefined to queue it. */
  refusal(): SdkError | undefined;
  /** The connection status, for the message of a call that timed out before it was sent. */
  status(): string;
}

/** The call queue of one client (see the file comment). */
export interface CallQueue {
  /** Sends (or queues) a request; `connectionBound` calls fail on a drop instead of being sent again. */
  request<E extends keyof ClientToServerEvents>(
    event: E,
    payload: RequestPayload<E>,
    options?: CallOptions,
    connectionBound?: boolean,
  ): Promise<ResultOf<E>>;
  /** Sends every queued call that is not in flight (the connection is up). */
  flush(): void;
  /** The connection dropped: connection-bound calls in flight fail, the others wait to be sent again. */
  connectionLost(): void;
  /** Fails every pending call with `error`. */
  failAll(error: SdkError): void;
}

/** The codes a server puts on an ack of a request it never processed because the token had expired. */
const RESEND_CODES: ReadonlySet<string> = new Set(['AUTH_EXPIRED']);

/** 16 random bytes as hex: the default request id. */
export function defaultRequestId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Creates the call queue of one client. */
export function createCallQueue(deps: CallQueueDeps): CallQueue {
  const { timers } = deps;
  const pending = new Set<PendingCall>();

  const send = (call: PendingCall): void => {
    const seq = ++call.sendSeq;
    call.inFlight = true;
    deps.emit(call.event, call.payload, (response: unknown) => {
      if (seq !== call.sendSeq || !pending.has(call)) return;
      call.inFlight = false;
      const ack = (typeof response === 'object' && response !== null ? response : {}) as {
        ok?: unknown;
        data?: unknown;
        error?: unknown;
      };
      if (ack.ok === true) return call.settle({ ok: true, data: ack.data });
      const wire = readWireError(ack.error);
      if (wire === undefined) {
        return call.settle({
          ok: false,
          error: new SdkError('INTERNAL', 'The server sent a malformed ack.'),
        });
      }
      // Refused unprocessed because the token ran out: the reconnect with a fresh token sends it again.
      if (RESEND_CODES.has(wire.code)) return;
      call.settle({ ok: false, error: SdkError.fromWire(wire) });
    });
  };

  return {
    request(event, payload, callOptions = {}, connectionBound = false) {
      const refused = deps.refusal();
      if (refused !== undefined) return Promise.reject(refused);
      const timeoutMs = callOptions.timeoutMs ?? deps.callTimeoutMs;
      return new Promise((resolve, reject) => {
        const call: PendingCall = {
          event,
          payload: { ...payload, requestId: callOptions.requestId ?? deps.newRequestId() },
          sendSeq: 0,
          inFlight: false,
          connectionBound,
          settle(outcome) {
            if (!pending.delete(call)) return;
            timers.clearTimeout(deadline);
            if (outcome.ok) resolve(outcome.data as never);
            else reject(outcome.error);
          },
        };
        const deadline = timers.setTimeout(() => {
          call.settle({
            ok: false,
            error: new SdkError(
              'CLIENT_TIMEOUT',
              call.inFlight
                ? `No answer to ${event} within ${timeoutMs} ms.`
                : `Not connected within ${timeoutMs} ms (${deps.status()}); ${event} was not sent.`,
            ),
          });
        }, timeoutMs);
        pending.add(call);
        if (deps.canSend()) send(call);
      });
    },
    flush() {
      for (const call of pending) if (!call.inFlight) send(call);
    },
    connectionLost() {
      for (const call of [...pending]) {
        if (call.inFlight && call.connectionBound) {
          call.settle({
            ok: false,
            error: new SdkError('CLIENT_NETWORK', `${call.event}: the connection dropped.`),
          });
        }
        call.inFlight = false;
      }
    },
    failAll(error) {
      for (const call of [...pending]) call.settle({ ok: false, error });
    },
  };
}
