/**
 * The WebSocket server engine.io runs on, with one change from ws's default: every message is delivered in
 * its own turn of the event loop (`allowSynchronousEvents: false`). With the default, one read of 64 KB
 * carrying a thousand small frames from one client is handled as a thousand synchronous events, and every
 * other client on the node waits behind it; delivered one per turn, other sockets' reads and timers
 * interleave with a flooder's backlog (https://github.com/websockets/ws/pull/2218).
 */
import { WebSocketServer, type ServerOptions } from 'ws';

export class FairWebSocketServer extends WebSocketServer {
  constructor(options?: ServerOptions, callback?: () => void) {
    super({ ...options, allowSynchronousEvents: false }, callback);
  }
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
