/**
 * Message history and replay (the wire contract; docs/protocol.md "Offsets, epochs and gaps").
 *
 * Every application event published with history (`POST /v1/publish` without `volatile: true`) belongs to
 * a stream: a client room (`room:<name>`) or the user's own stream (`user`, for `userId` publishes). In a
 * stream each message gets the next offset (1, 2, 3...); the stream's epoch names the lifetime of its
 * history and changes when that history is lost (Redis restarted empty, history expired). A client that
 * knows its position in a stream can be sent exactly what it missed.
 *
 * On the wire a message with history is the app's own event with one extra trailing argument:
 * `emit(event, data, position)` where `position` is a MessagePosition. A volatile publish has no position.
 */
import type { RoomName } from './events.ts';

/** The user's own stream (publishes by `userId`). */
export const USER_STREAM = 'user';
/** A stream: `room:<name>` for a client room, or USER_STREAM. */
export type StreamName = `room:${RoomName}` | typeof USER_STREAM;

/** The stream of a client room. */
export function roomStream(room: RoomName): StreamName {
  return `room:${room}`;
}

/** The room of a room stream, or undefined for the user stream. */
export function streamRoom(stream: StreamName): RoomName | undefined {
  return stream.startsWith('room:') ? stream.slice('room:'.length) : undefined;
}

/** A place in a stream: the client has seen every message up to and including `offset` of `epoch`. */
export interface StreamPosition {
  /** Opaque, 1-32 characters; changes when the stream's history is lost. */
  epoch: string;
  /** 0 before the first message of the epoch; each message adds 1. */
  offset: number;
}

/** The trailing argument of an app event published with history. */
export interface MessagePosition extends StreamPosition {
  stream: StreamName;
}

/**
 * Why messages of a stream could not be replayed (the app resyncs that room from its backend):
 * - `trimmed`: older than the HISTORY_SIZE newest messages of the stream;
 * - `expired`: older than HISTORY_TTL_SECONDS;
 * - `epoch-changed`: the stream's history was lost (Redis restarted empty, or every message expired);
 * - `position-unknown`: the client did not say where it was (a client without the SDK; protocol.md says why
 *   socket.io-client's own recovery offset cannot be exact here);
 * - `history-off`: HISTORY_SIZE is 0 on this deployment.
 */
export type GapReason = 'trimmed' | 'expired' | 'epoch-changed' | 'position-unknown' | 'history-off';

/** What the client sends in its handshake `auth` to be replayed what it missed. */
export interface ReplayAuth {
  /** The client's last position per stream (at most one per stream it is in). */
  positions?: Partial<Record<StreamName, StreamPosition>>;
}

/** The replay part of `session:restored`. */
export interface RestoredHistory {
  /** Rooms whose missed messages could not be replayed (the app resyncs them); empty when none. */
  gaps: RoomName[];
  /** Why, per room in `gaps`, and for the user stream under `user` when its messages could not be replayed. */
  gapReasons: Partial<Record<StreamName, GapReason>>;
  /**
   * Each stream's position once the replay that follows `session:restored` has been delivered: the
   * client's starting point when it had none.
   */
  positions: Partial<Record<StreamName, StreamPosition>>;
}
