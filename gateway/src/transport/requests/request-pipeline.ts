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

export function createRequestPipeline<S extends RequestSource = RequestSource>(
  deps: RequestPipelineDeps,
): RequestPipeline<S> {
  const run = async (source: S, request: PipelineRequest<S>, raw: unknown): Promise<Ack<unknown>> => {
    const { event } = request;
    const toWire = (err: unknown) => edgeError(err, source.log, { event });
    const settle = async (act: () => Promise<unknown>): Promise<Ack<unknown>> => {
      try {
        return { ok: true, data: await act() };
      } catch (err) {
        return { ok: false, error: toWire(err) };
      }
    };
    let replayed = false;
    let requestId: string | undefined;
    let payload: unknown;
    try {
      ({ requestId, payload } = splitRequestId(raw));
      payload = request.schema.parse(payload);
    } catch (err) {
      return { ok: false, error: toWire(err) };
    }
    const ctx: RequestContext = {
      userId: source.userId,
      claims: source.claims,
      requestId: request.idempotency === 'folded' ? requestId : undefined,
      replayed: () => {
        replayed = true;
      },
    };
    let ack: Ack<unknown>;
    if (request.idempotency === 'ledger' && requestId !== undefined) {
      const outcome = await runThroughLedger(deps.ledger, deps.ledgerOptions, {
        userId: source.userId,
        requestId,
        event,
        act: () => settle(() => request.handle(ctx, payload, source)),
        toWire,
      });
      ack = outcome.ack;
      replayed ||= outcome.replayed;
    } else {
      ack = await settle(() => request.handle(ctx, payload, source));
    }
    if (replayed) deps.replays.inc({ event });
    return ack;
  };

  return (source, request, payload, ack) => {
    source.inflight.begin();
    run(source, request, payload).then(
      (answer) => {
        if (!answer.ok) deps.metrics.rejections.inc({ code: answer.error.code });
        ack(answer);
        source.inflight.end();
      },
      (err: unknown) => {
        // Only a bug gets here (every step above settles into an ack); the client still gets its answer.
        const error = edgeError(err, source.log, { event: request.event });
        deps.metrics.rejections.inc({ code: error.code });
        ack({ ok: false, error });
        source.inflight.end();
      },
    );
  };
}
