/**
 * Refuses requests that carry binary attachments. Every payload of the protocol is JSON, but socket.io
 * decodes a binary event's attachments into Buffers wherever the sender put placeholders: a handler that
 * reads only some fields (`auth:refresh` reads `token`) would act on a request with megabytes of binary
 * riding along, and a schema would walk into Buffers. Such a request is answered BAD_REQUEST and never
 * reaches a handler. Installed after the inbound guard (socket-guards.ts), so the token, size, rate, name
 * and ack checks come first.
 */
import { wireError } from '@stayline/client-sdk/protocol';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import { inboundEventLabel } from './socket-guards.ts';
import { carriesBinary } from './engine/sized-parser.ts';
import type { GatewaySocket } from './socket-types.ts';

/** Installs the binary refusal on a connected socket. */
export function refuseBinary(socket: GatewaySocket, deps: { metrics: GatewayMetrics }): void {
  socket.use((packet, next) => {
    if (!carriesBinary(packet)) return next();
    const error = wireError('BAD_REQUEST', 'Payloads are JSON: binary attachments are not accepted.');
    deps.metrics.rejections.inc({ code: error.code });
    const ack: unknown = packet[packet.length - 1];
    if (typeof ack === 'function') (ack as (response: unknown) => void)({ ok: false, error });
    else socket.emit('protocol:error', { ...error, event: inboundEventLabel(packet[0]) });
  });
}
