/**
 * The WebSocket server engine.io runs on, and what the node does to a websocket below engine.io: pauses
 * and stops reading (the rate guards), and the connect's writes sent together.
 *
 * Two changes from ws's defaults:
 * - every message is delivered in its own turn of the event loop (`allowSynchronousEvents: false`). With
 *   the default, one read of 64 KB carrying a thousand small frames from one client is handled as a
 *   thousand synchronous events, and every other client on the node waits behind it; delivered one per
 *   turn, other sockets' reads and timers interleave with a flooder's backlog
 *   (https://github.com/websockets/ws/pull/2218).
 * - the 101 response and engine.io's open packet, written in the same turn, leave in one TCP write (the
 *   socket is corked for the rest of the upgrade's turn). On loopback each write costs the writer the
 *   receiver's TCP path too, and the writes of a connect were its largest cost (docs/benchmarks.md §11).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws';

export class FairWebSocketServer extends WebSocketServer {
  constructor(options?: ServerOptions, callback?: () => void) {
    super({ ...options, allowSynchronousEvents: false }, callback);
  }

  override handleUpgrade(
    request: IncomingMessage,
    socket: Duplex,
    upgradeHead: Buffer,
    callback: (client: WebSocket, request: IncomingMessage) => void,
  ): void {
    // ws writes the 101 now; engine.io sends its open packet a few microtasks later, in this same turn.
    // A refused upgrade ends the socket, and end() uncorks it first.
    socket.cork();
    setImmediate(() => socket.uncork());
    super.handleUpgrade(request, socket, upgradeHead, callback);
  }
}

/** What sendTogether needs of engine.io's socket and its websocket transport (engine.io 6 internals). */
interface EngineConnection {
  readyState: string;
  transport: { name?: unknown; writable?: boolean; socket?: { _socket?: Partial<Duplex> } };
  flush(): void;
}

/**
 * Everything engine.io is asked to send on `conn` for the rest of this turn of the event loop leaves in one
 * websocket send and one TCP write: at a connect, socket.io's CONNECT and the gateway's `session:restored`.
 * engine.io's websocket transport sends one batch and waits for its write to complete before the next, so
 * two packets emitted in one turn used to take two writes (and two wake-ups of the client); here the
 * transport is marked busy until the turn ends, then its buffer is flushed with the TCP socket corked.
 * Polling transports batch by themselves and are left alone.
 */
export function sendTogether(conn: unknown): void {
  const engine = conn as EngineConnection;
  const transport = engine.transport;
  const tcp = transport.socket?._socket;
  if (transport.name !== 'websocket' || transport.writable !== true) return;
  if (typeof tcp?.cork !== 'function' || typeof tcp.uncork !== 'function') return;
  transport.writable = false;
  setImmediate(() => {
    transport.writable = true;
    // Flushed even when closing: a polite close (a refusal, a disconnect) waits for the buffer to drain,
    // and without this flush that wait would never end (the connection would hang half-closed).
    if (engine.transport !== transport || engine.readyState === 'closed') return;
    tcp.cork!();
    engine.flush();
    tcp.uncork!();
  });
}

interface PausableWebSocket {
  pause(): void;
  resume(): void;
}

/** The ws socket under an engine.io transport, when it is a websocket (polling cannot be paused). */
function webSocketOf(transport: unknown): PausableWebSocket | undefined {
  const t = transport as { name?: unknown; socket?: Partial<PausableWebSocket> };
  if (t.name !== 'websocket' || typeof t.socket?.pause !== 'function') return undefined;
  return typeof t.socket.resume === 'function' ? (t.socket as PausableWebSocket) : undefined;
}

/** Websockets no longer read at all (a flooder being cut): a pause's timer must not resume them. */
const stopped = new WeakSet<PausableWebSocket>();
/** Websockets paused for a while, until their resume timer fires. */
const paused = new WeakSet<PausableWebSocket>();

/** Stops reading from a client's websocket (TCP backpressure): nothing more it sends costs this node CPU. */
export function stopReading(transport: unknown): void {
  const ws = webSocketOf(transport);
  if (ws === undefined) return;
  stopped.add(ws);
  ws.pause();
}

/**
 * Stops reading from a client's websocket for `ms` (TCP backpressure for a client over its rate): what it
 * sends meanwhile waits in kernel buffers instead of being received, parsed and refused one by one, which
 * for a client sending 32 KB messages as fast as it can is most of what it costs the node. Later calls
 * while paused extend nothing: the first pause ends on time, and a client still over its rate is paused
 * again by its next refusal.
 */
export function pauseReading(transport: unknown, ms: number): void {
  const ws = webSocketOf(transport);
  if (ws === undefined || stopped.has(ws) || paused.has(ws)) return;
  paused.add(ws);
  ws.pause();
  setTimeout(() => {
    paused.delete(ws);
    if (!stopped.has(ws)) ws.resume();
  }, ms).unref();
}
