/**
 * Per-socket guards that keep one client from hurting the others:
 * - inbound: a request is processed only if the token is still valid, the message is within
 *   MAX_MESSAGE_BYTES, the socket is within its EVENTS_PER_SECOND budget, the event is part of the protocol
 *   and it carries an ack; otherwise it is dropped unprocessed and answered with its own code. The
 *   RATE_LIMITED answers are budgeted too (FLOOD_DISCONNECT_AFTER_REFUSALS): a socket that spends that
 *   budget is told RATE_FLOODED and handed to `onFlooded` to be cut, and nothing it sends afterwards is
 *   read or answered, so a flooder cannot keep the node busy writing refusals;
 * - outbound: a client that stops reading is cut off once its pending output passes
 *   MAX_OUTBOUND_BUFFER_BYTES (socket.io's own write buffer is unbounded, upstream engine.io #420).
 */
import { CLIENT_EVENTS, wireError, type ErrorCode, type WireError } from '@stayline/client-sdk/protocol';
import { TokenBucket } from '../infra/token-bucket.ts';
import { wireBytesOf } from './engine/sized-parser.ts';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import type { GatewaySocket } from './socket-types.ts';

const KNOWN_EVENTS: ReadonlySet<string> = new Set(CLIENT_EVENTS);

/** A bounded metrics label for an inbound event name. */
export const inboundEventLabel = (event: string): string => (KNOWN_EVENTS.has(event) ? event : 'unknown');

export interface GuardLimits {
  maxMessageBytes: number;
  eventsPerSecond: number;
  eventsBurst: number;
  maxOutboundBufferBytes: number;
  clockToleranceSeconds: number;
  /**
   * RATE_LIMITED refusals a socket may collect before it counts as a flood: an allowance of this many,
   * refilling at a tenth of it per second (FLOOD_DISCONNECT_AFTER_REFUSALS, default 300).
   */
  floodDisconnectAfterRefusals: number;
}

/** What the inbound guard knows about a flood when it hands the socket over to be cut. */
export interface FloodReport {
  /** Bounded label of the event that spent the allowance. */
  event: string;
  /** RATE_LIMITED refusals this socket was answered before the cut. */
  refusals: number;
}

interface EnginePacket {
  data?: unknown;
}

/** Size of an outbound engine packet, for the outbound buffer account. */
function packetBytes(data: unknown): number {
  if (typeof data === 'string') return data.length;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}

/** What the inbound guard needs of the node: shared by every socket (each callback is told which socket). */
export interface InboundGuardDeps {
  metrics: GatewayMetrics;
  /** Wall clock of token expiry, epoch ms. Default Date.now. */
  now?: () => number;
  /** Monotonic clock of the rate buckets, ms. Default performance.now. */
  clock?: () => number;
  /** A request arrived after the token's expiry: end the connection even if its timer has not fired yet. */
  onExpired: (socket: GatewaySocket) => void;
  /**
   * Called once, after the socket was sent `protocol:error` RATE_FLOODED, when it has spent its allowance of
   * RATE_LIMITED refusals: the caller disconnects it.
   */
  onFlooded: (socket: GatewaySocket, report: FloodReport) => void;
  /** Called after each RATE_LIMITED refusal with its wait: the caller may stop reading for that long. */
  onOverRate?: (socket: GatewaySocket, waitMs: number) => void;
  /**
   * Where an accepted request goes. Default: the next middleware (`next()`). Given, the guard is the
   * socket's last middleware and hands the request over itself: one middleware per socket, not two.
   */
  onAccepted?: (socket: GatewaySocket, packet: [string, ...unknown[]]) => void;
}

const monotonic = (): number => performance.now();

/** Answers a refused packet on its ack, or with `protocol:error` when it has none; counts it. */
function refuse(
  socket: GatewaySocket,
  metrics: GatewayMetrics,
  event: string,
  args: unknown[],
  code: ErrorCode,
  message?: string,
  retryAfterMs?: number,
): void {
  const error: WireError = wireError(
    code,
    message,
    retryAfterMs === undefined ? undefined : { retryAfterMs },
  );
  metrics.rejections.inc({ code: error.code });
  const ack = args[args.length - 1];
  if (typeof ack === 'function') (ack as (r: unknown) => void)({ ok: false, error });
  else socket.emit('protocol:error', { ...error, event: inboundEventLabel(event) });
}

/**
 * Installs the inbound guard on `socket`. `deps` is the node's, shared by all sockets: what one socket
 * holds is one middleware, and its two rate buckets once it has sent something.
 */
export function guardInbound(socket: GatewaySocket, limits: GuardLimits, deps: InboundGuardDeps): void {
  const now = deps.now ?? Date.now;
  const clock = deps.clock ?? monotonic;
  const { metrics } = deps;
  // Made on the socket's first event (a full bucket, as at connect): an idle socket holds neither.
  let bucket: TokenBucket | undefined;
  // Refusals are budgeted like events: a burst of them is a client catching up, a stream of them a flood.
  let refusalAllowance: TokenBucket | undefined;
  let rateRefusals = 0;
  let flooded = false;

  socket.use((packet, next) => {
    // Cut: the disconnect is under way, and nothing this socket still sends is read, counted or answered.
    if (flooded) return;
    const [event, ...args] = packet;
    metrics.eventsIn.inc({ event: inboundEventLabel(event) });
    const { principal } = socket.data;
    if (socket.data.expired || now() > principal.expiresAtMs + limits.clockToleranceSeconds * 1000) {
      refuse(
        socket,
        metrics,
        event,
        args,
        'AUTH_EXPIRED',
        'The token expired; nothing sent after expiry is processed.',
      );
      deps.onExpired(socket);
      return;
    }
    if ((wireBytesOf(packet) ?? 0) > limits.maxMessageBytes) {
      refuse(
        socket,
        metrics,
        event,
        args,
        'MESSAGE_TOO_LARGE',
        `Messages are limited to ${limits.maxMessageBytes} bytes.`,
      );
      return;
    }
    bucket ??= new TokenBucket(limits.eventsPerSecond, limits.eventsBurst, clock);
    const waitMs = bucket.take();
    if (waitMs > 0) {
      refusalAllowance ??= new TokenBucket(
        limits.floodDisconnectAfterRefusals / 10,
        limits.floodDisconnectAfterRefusals,
        clock,
      );
      if (refusalAllowance.take() > 0) {
        flooded = true;
        metrics.rejections.inc({ code: 'RATE_FLOODED' });
        const label = inboundEventLabel(event);
        socket.emit('protocol:error', {
          ...wireError(
            'RATE_FLOODED',
            `Went on far over ${limits.eventsPerSecond} events per second after RATE_LIMITED; disconnected.`,
          ),
          event: label,
        });
        deps.onFlooded(socket, { event: label, refusals: rateRefusals });
        return;
      }
      rateRefusals += 1;
      refuse(
        socket,
        metrics,
        event,
        args,
        'RATE_LIMITED',
        `At most ${limits.eventsPerSecond} events per second.`,
        waitMs,
      );
      deps.onOverRate?.(socket, waitMs);
      return;
    }
    if (!KNOWN_EVENTS.has(event)) {
      refuse(socket, metrics, event, args, 'UNKNOWN_EVENT', 'This event is not part of the protocol.');
      return;
    }
    // Every request is exactly (payload, ack): anything else never reaches a handler.
    if (typeof args[args.length - 1] !== 'function') {
      refuse(socket, metrics, event, args, 'ACK_REQUIRED');
      return;
    }
    if (args.length !== 2) {
      refuse(
        socket,
        metrics,
        event,
        args,
        'BAD_REQUEST',
        'A request carries exactly one payload and an ack.',
      );
      return;
    }
    if (deps.onAccepted) deps.onAccepted(socket, packet);
    else next();
  });
}

interface WebSocketLike {
  bufferedAmount?: number;
}

/**
 * Installs the outbound guard: counts bytes queued in the engine's write buffer (added when a packet is
 * created, removed when the buffer is flushed to the transport) plus what the websocket has not yet handed
 * to the kernel, and calls `onExceeded` (with the socket: one callback can serve every socket) once when
 * the sum passes `maxBytes`.
 */
export function guardOutbound(
  socket: GatewaySocket,
  maxBytes: number,
  onExceeded: (socket: GatewaySocket) => void,
): void {
  const conn = socket.conn;
  let queued = 0;
  let tripped = false;
  conn.on('packetCreate', (packet: EnginePacket) => {
    queued += packetBytes(packet.data);
    if (tripped) return;
    const ws =
      conn.transport.name === 'websocket'
        ? (conn.transport as unknown as { socket?: WebSocketLike }).socket
        : undefined;
    if (queued + (ws?.bufferedAmount ?? 0) > maxBytes) {
      tripped = true;
      onExceeded(socket);
    }
  });
  conn.on('flush', (buffer: EnginePacket[]) => {
    for (const packet of buffer) queued -= packetBytes(packet.data);
    if (queued < 0) queued = 0;
  });
}

/**
 * Closes a connection at once, without waiting for its queued output: for a client that stopped reading
 * (a polite close would wait for a drain that never comes, and ws would wait 30 s for the peer's close
 * frame), and for sockets still open at a shutdown deadline.
 */
export function forceClose(socket: GatewaySocket): void {
  const transport = socket.conn.transport as unknown as { name: string; socket?: { terminate?: () => void } };
  if (transport.name === 'websocket' && typeof transport.socket?.terminate === 'function')
    transport.socket.terminate();
  else socket.conn.close(true);
}
