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

/** Stops reading from a client's websocket (TCP backpressure): nothing more it sends costs this node CPU. */
export function stopReading(transport: unknown): void {
  const ws = (transport as { name?: unknown; socket?: { pause?: () => void } }).socket;
  if ((transport as { name?: unknown }).name === 'websocket') ws?.pause?.();
}
