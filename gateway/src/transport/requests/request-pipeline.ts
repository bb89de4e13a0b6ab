/**
 * The one request pipeline: every acknowledged request a socket sends goes
 * split the request id → validate (the request's schema) → ledger (by the request's idempotency) → handler
 * → exactly one ack. A failure becomes the wire shape once (request-edge.ts), is logged once and counted
 * once; a replayed ack is sent as recorded. The socket's in-flight count covers the whole way, so a drain
 * waits for the answer.
 */
import type { Ack, AckCallback } from '@stayline/client-sdk/protocol';
import type { AnyFeatureRequest, RequestContext } from '../../features/feature.ts';
import type { Logger } from '../../infra/logger.ts';
import type { ClaimMetrics } from '../../metrics/claim-metrics.ts';
import type { GatewayMetrics } from '../../metrics/gateway-metrics.ts';
import type { RequestLedger } from '../../session/request-ledger.ts';
import { runThroughLedger, splitRequestId, type LedgerRunOptions } from './idempotency.ts';
import type { Inflight } from './inflight.ts';
import { edgeError } from './request-edge.ts';

/** Who sends the request: from the verified token and the socket, never from the payload. */
export interface RequestSource {
  readonly userId: string;
  readonly claims: Readonly<Record<string, unknown>>;
  /** The socket's logger (may be created on first use: most sockets never log). */
  readonly log: Logger;
  readonly inflight: Inflight;
}

/**
 * A request the pipeline answers: a feature's (AnyFeatureRequest), or one of transport's own that also
 * needs the socket it came from (`auth:refresh` re-arms that socket's token expiry).
 */
export interface PipelineRequest<S extends RequestSource = RequestSource> extends Omit<
  AnyFeatureRequest,
  'handle'
> {
  handle(ctx: RequestContext, payload: unknown, source: S): Promise<unknown>;
}

export interface RequestPipelineDeps {
  ledger: RequestLedger;
  ledgerOptions: LedgerRunOptions;
  metrics: Pick<GatewayMetrics, 'rejections'>;
  replays: ClaimMetrics['requestReplays'];
}

/** Answers one request on `ack`; `ack` must be a function (checked by the inbound guard). */
export type RequestPipeline<S extends RequestSource = RequestSource> = (
  source: S,
  request: PipelineRequest<S>,
  payload: unknown,
  ack: AckCallback<unknown>,
) => void;

/**
 * The context a handler gets. A class, so a request allocates one small object and no closures: this path
 * runs for every request (in the queue-seats bench the pipeline's closures, named by tsx's `keepNames`,
 * were ~2 % of the node's CPU).
 */
class PipelineContext implements RequestContext {
  /** Set when a folded request's outcome came from its record. */
  wasReplayed = false;

  constructor(
    readonly userId: string,
    readonly claims: Readonly<Record<string, unknown>>,
    readonly requestId: string | undefined,
  ) {}

  replayed(): void {
    this.wasReplayed = true;
  }
}

export function createRequestPipeline<S extends RequestSource = RequestSource>(
  deps: RequestPipelineDeps,
): RequestPipeline<S> {
  const { rejections } = deps.metrics;
  const run = async (source: S, request: PipelineRequest<S>, raw: unknown): Promise<Ack<unknown>> => {
    const { event } = request;
    let requestId: string | undefined;
    let payload: unknown;
    try {
      ({ requestId, payload } = splitRequestId(raw));
      // The fast check accepts only what the schema accepts (features/fast-check.ts); the rest, refusals
      // included, is the schema's.
      payload = request.check?.(payload) ?? request.schema.parse(payload);
    } catch (err) {
      return { ok: false, error: edgeError(err, source.log, { event }) };
    }
    const ctx = new PipelineContext(
      source.userId,
      source.claims,
      request.idempotency === 'folded' ? requestId : undefined,
    );
    let ack: Ack<unknown>;
    let replayed = false;
    if (request.idempotency === 'ledger' && requestId !== undefined) {
      const toWire = (err: unknown) => edgeError(err, source.log, { event });
      const outcome = await runThroughLedger(deps.ledger, deps.ledgerOptions, {
        userId: source.userId,
        requestId,
        event,
        act: async () => {
          try {
            return { ok: true, data: await request.handle(ctx, payload, source) };
          } catch (err) {
            return { ok: false, error: toWire(err) };
          }
        },
        toWire,
      });
      ack = outcome.ack;
      replayed = outcome.replayed;
    } else {
      try {
        ack = { ok: true, data: await request.handle(ctx, payload, source) };
      } catch (err) {
        ack = { ok: false, error: edgeError(err, source.log, { event }) };
      }
    }
    if (replayed || ctx.wasReplayed) deps.replays.inc({ event });
    return ack;
  };

  // One async function per request (not a promise with two callbacks): it answers exactly once.
  const answer = async (
    source: S,
    request: PipelineRequest<S>,
    payload: unknown,
    ack: AckCallback<unknown>,
  ): Promise<void> => {
    let reply: Ack<unknown>;
    try {
      reply = await run(source, request, payload);
    } catch (err) {
      // Only a bug gets here (every step above settles into an ack); the client still gets its answer.
      reply = { ok: false, error: edgeError(err, source.log, { event: request.event }) };
    }
    if (!reply.ok) rejections.inc({ code: reply.error.code });
    ack(reply);
    source.inflight.end();
  };

  return (source, request, payload, ack) => {
    source.inflight.begin();
    void answer(source, request, payload, ack);
  };
}
