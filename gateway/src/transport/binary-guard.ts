/**
 * Refuses requests that carry binary attachments. Every payload of the protocol is JSON, but socket.io
 * decodes a binary event's attachments into Buffers wherever the sender put placeholders: a handler that
 * reads only some fields (`auth:refresh` reads `token`) would act on a request with megabytes of binary
 * riding along, and a schema would walk into Buffers. Such a request is answered BAD_REQUEST and never
 * reaches a handler. Checked by the request dispatch (connection.ts) after the inbound guard
 * (socket-guards.ts), so the token, size, rate, name and ack checks come first.
 */
import { wireError } from '@stayline/client-sdk/protocol';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import { inboundEventLabel } from './socket-guards.ts';
import { carriesBinary } from './engine/sized-parser.ts';
import type { GatewaySocket } from './socket-types.ts';

/**
 * Refuses `packet` (answers BAD_REQUEST, counts it) when it came with binary attachments; returns whether
 * it did. A function the dispatch calls rather than a middleware of its own: one closure less per socket.
 */
export function refusedAsBinary(
  socket: GatewaySocket,
  packet: [string, ...unknown[]],
  metrics: Pick<GatewayMetrics, 'rejections'>,
): boolean {
  if (!carriesBinary(packet)) return false;
  const error = wireError('BAD_REQUEST', 'Payloads are JSON: binary attachments are not accepted.');
  metrics.rejections.inc({ code: error.code });
  const ack: unknown = packet[packet.length - 1];
  if (typeof ack === 'function') (ack as (response: unknown) => void)({ ok: false, error });
  else socket.emit('protocol:error', { ...error, event: inboundEventLabel(packet[0]) });
  return true;
}
