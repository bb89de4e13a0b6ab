/**
 * App events with history: every event the server sends that is not a protocol event passes through
 * here once (the binding's catch-all listener), whoever listens. A message with a trailing position is
 * judged by the stream positions (stream-positions.ts): seen already → dropped before any handler; a
 * jump or a new epoch → a gap for `onGap` listeners, then the message. Handlers get the data, and a meta
 * object with the position, never the position as a stray argument. Imports the positions tracker, the
 * protocol and the logger type.
 */
import type { SdkLogger } from './client-options.ts';
import {
  SERVER_EVENTS,
  streamRoom,
  type MessagePosition,
  type RestoredSession,
  type RoomName,
  type RoomResult,
} from './protocol/index.ts';
import { StreamPositions, trailingPosition, type StreamGap } from './stream-positions.ts';

/** What an app event handler gets besides the data. */
export interface AppEventMeta {
  /** The message's place in its stream; undefined for a volatile message (or one from an older gateway). */
  position: MessagePosition | undefined;
  /** The room the message was published to; undefined for a message to the user, or without a position. */
  room: RoomName | undefined;
}

/** A handler of one app event. */
export type AppEventHandler<T = unknown> = (data: T, meta: AppEventMeta) => void;

/** One client's app events (see the file comment). */
export interface AppEventHub {
  /** The streams' positions (the handshake reads them). */
  readonly positions: StreamPositions;
  /** Called with every event the socket receives, its arguments after the name. */
  incoming(event: string, args: readonly unknown[]): void;
  /** Subscribes `handler` to `event`. Returns the unsubscribe function. */
  on(event: string, handler: AppEventHandler): () => void;
  /** Subscribes to gaps. Returns the unsubscribe function. */
  onGap(listener: (gap: StreamGap) => void): () => void;
  /** `session:restored` arrived (after the session copy took it): its gaps go to the listeners. */
  restored(restored: RestoredSession): void;
  /** A room was joined (ack or `room:joined`), with the room's position when history is on. */
  joined(result: RoomResult): void;
  /** A room was left (ack or `room:left`): its position is forgotten. */
  left(room: RoomName): void;
}

const PROTOCOL_EVENTS: ReadonlySet<string> = new Set(SERVER_EVENTS);

/** Creates the app events of one client; `log` hears of gaps and dropped duplicates (debug). */
export function createAppEvents(log: SdkLogger | undefined): AppEventHub {
  const positions = new StreamPositions();
  const handlers = new Map<string, Set<AppEventHandler>>();
  const gapListeners = new Set<(gap: StreamGap) => void>();

  // A throwing listener must not cost the others their message (nor the SDK its position bookkeeping).
  const safely = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (err: unknown) {
      log?.warn({ err, what }, 'an app event listener threw');
    }
  };
  const gap = (g: StreamGap): void => {
    log?.debug({ stream: g.stream, reason: g.reason, missed: g.missed }, 'message gap');
    for (const listener of [...gapListeners]) safely('onGap', () => listener(g));
  };

  return {
    positions,
    incoming(event, args) {
      if (PROTOCOL_EVENTS.has(event)) return;
      const position = trailingPosition(args);
      if (position !== undefined) {
        const verdict = positions.accept(position);
        if (verdict.gap !== undefined) gap(verdict.gap);
        if (!verdict.deliver) {
          log?.debug({ event, stream: position.stream, offset: position.offset }, 'duplicate dropped');
          return;
        }
      }
      const set = handlers.get(event);
      if (set === undefined) return;
      const meta: AppEventMeta = {
        position,
        room: position === undefined ? undefined : streamRoom(position.stream),
      };
      for (const handler of [...set]) safely(event, () => handler(args[0], meta));
    },
    on(event, handler) {
      let set = handlers.get(event);
      if (set === undefined) handlers.set(event, (set = new Set()));
      // Wrapped, so the same function subscribed twice is called twice, as socket.io's `on` would.
      const entry: AppEventHandler = (data, meta) => handler(data, meta);
      set.add(entry);
      return () => {
        set.delete(entry);
        if (set.size === 0 && handlers.get(event) === set) handlers.delete(event);
      };
    },
    onGap(listener) {
      const entry = (g: StreamGap): void => listener(g);
      gapListeners.add(entry);
      return () => gapListeners.delete(entry);
    },
    restored(restored) {
      for (const g of positions.restored(restored)) gap(g);
    },
    joined(result) {
      positions.joined(result.room, result.position);
    },
    left(room) {
      positions.left(room);
    },
  };
}
