/**
 * The client's position in each message stream (docs/protocol.md "Offsets, epochs and gaps"), as a small
 * pure-logic tracker: it judges every app message that carries a trailing MessagePosition (deliver it,
 * or drop it as already seen), notices jumps and epoch changes (gaps), takes the starting points the
 * server gives (`room:join`'s `position`, `session:restored`'s `positions` and `gaps`), and hands the
 * handshake what it knows (`auth.positions`). No sockets, timers or listeners in here; imports the
 * protocol and the id-record helpers only.
 *
 * Memory stays bounded by the streams the user is in: leaving a room forgets its stream, and a restore
 * keeps only the restored rooms' streams and the user's own.
 */
import { entryOf, idRecord, withoutEntry } from './id-record.ts';
import {
  USER_STREAM,
  roomStream,
  streamRoom,
  type GapReason,
  type MessagePosition,
  type RestoredSession,
  type RoomName,
  type StreamName,
  type StreamPosition,
} from './protocol/index.ts';

/**
 * Why a stream has a gap: the server's reasons (GapReason, from `session:restored`), or `skipped`, which
 * the SDK notices itself on a live connection: a message's offset jumped past the next one in the same
 * epoch (the ones in between never arrived). A message of a new epoch is `epoch-changed`.
 */
export type StreamGapReason = GapReason | 'skipped';

/** Messages of one stream the app did not get: resync that room (or the user's data) from your backend. */
export interface StreamGap {
  stream: StreamName;
  /** The room of a room stream; undefined for the user's own stream. */
  room: RoomName | undefined;
  reason: StreamGapReason;
  /** How many messages are missing, when the SDK can count them (`skipped`); else undefined. */
  missed: number | undefined;
  /** The position the client had before the gap (undefined when it had none). */
  before: StreamPosition | undefined;
  /** Where the stream goes on from (undefined when the server did not say). */
  after: StreamPosition | undefined;
}

/** What to do with one message that carried a position. */
export type MessageVerdict =
  { deliver: true; gap: StreamGap | undefined } | { deliver: false; gap: undefined };

const EPOCH = /^.{1,32}$/s;

/**
 * The MessagePosition at the end of an app event's arguments, or undefined: at least two arguments (a
 * volatile message, or one from an older gateway, has only its data) and a well-formed last one.
 */
export function trailingPosition(args: readonly unknown[]): MessagePosition | undefined {
  if (args.length < 2) return undefined;
  const last = args[args.length - 1];
  if (typeof last !== 'object' || last === null) return undefined;
  const { stream, epoch, offset } = last as Partial<Record<keyof MessagePosition, unknown>>;
  if (typeof stream !== 'string' || !(stream === USER_STREAM || stream.startsWith('room:'))) return undefined;
  if (typeof epoch !== 'string' || !EPOCH.test(epoch)) return undefined;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) return undefined;
  return { stream: stream as StreamName, epoch, offset };
}

const gapOf = (
  stream: StreamName,
  reason: StreamGapReason,
  before: StreamPosition | undefined,
  after: StreamPosition | undefined,
  missed?: number,
): StreamGap => ({ stream, room: streamRoom(stream), reason, missed, before, after });

const copy = (p: StreamPosition): StreamPosition => ({ epoch: p.epoch, offset: p.offset });

/** One client's positions (see the file comment). */
export class StreamPositions {
  // Null-prototype: a room may be named `__proto__` or `toString`.
  private known: Record<string, StreamPosition> = idRecord<StreamPosition>();

  /** The position known for `stream`, if any. */
  get(stream: StreamName): StreamPosition | undefined {
    return entryOf(this.known, stream);
  }

  /** How many streams have a position (bounded by the rooms the user is in, plus the user stream). */
  get size(): number {
    return Object.keys(this.known).length;
  }

  /** What the handshake sends as `auth.positions`: a copy, undefined when nothing is known. */
  forHandshake(): Partial<Record<StreamName, StreamPosition>> | undefined {
    const streams = Object.keys(this.known);
    if (streams.length === 0) return undefined;
    const out = idRecord<StreamPosition>();
    for (const s of streams) out[s] = copy(this.known[s] as StreamPosition);
    // A plain object on the wire (socket.io encodes it as JSON either way).
    return { ...out };
  }

  /**
   * Judges one message: already seen (same epoch, offset at or below the known one) → not delivered;
   * the next offset → delivered; a jump in the same epoch → delivered with a `skipped` gap; another epoch
   * → delivered with an `epoch-changed` gap. A stream seen for the first time starts at the message. The
   * position only moves forward, so handlers see each message once and in order.
   */
  accept(position: MessagePosition): MessageVerdict {
    const { stream } = position;
    const before = entryOf(this.known, stream);
    const now = { epoch: position.epoch, offset: position.offset };
    if (before !== undefined && before.epoch === now.epoch && now.offset <= before.offset)
      return { deliver: false, gap: undefined };
    this.known[stream] = now;
    if (before === undefined) return { deliver: true, gap: undefined };
    if (before.epoch !== now.epoch)
      return { deliver: true, gap: gapOf(stream, 'epoch-changed', before, copy(now)) };
    const missed = now.offset - before.offset - 1;
    return {
      deliver: true,
      gap: missed > 0 ? gapOf(stream, 'skipped', before, copy(now), missed) : undefined,
    };
  }

  /**
   * The room was joined (`room:join` ack, or `room:joined` from another tab) at `position`, the room's
   * current position. A position already known in the same epoch is kept, higher or lower: higher, a
   * message that overtook the ack was already delivered; lower, the user was in the room already and
   * the messages in between are on their way (or will be replayed), so none may be dropped.
   */
  joined(room: RoomName, position: StreamPosition | undefined): void {
    if (position === undefined) return;
    const stream = roomStream(room);
    const before = entryOf(this.known, stream);
    if (before === undefined || before.epoch !== position.epoch) this.known[stream] = copy(position);
  }

  /** The room was left: its position is forgotten (a later join starts from the join's position). */
  left(room: RoomName): void {
    this.known = withoutEntry(this.known, roomStream(room));
  }

  /**
   * A `session:restored` arrived. Streams of rooms the session no longer has are forgotten. Each stream
   * the server names in `gapReasons` (rooms in `gaps`, and the user stream) is a gap with that reason, and
   * its position is reset to `positions` (or forgotten when the server gave none). A stream with no
   * position takes the one in `positions`. A stream whose known epoch differs from the one in `positions`
   * without the server naming a gap is reported as `epoch-changed` (never a silent hole), and reset.
   * Returns the gaps, in the order of `gaps` (the user stream last).
   */
  restored(restored: RestoredSession): StreamGap[] {
    const keep = new Set<string>([USER_STREAM, ...restored.rooms.map(roomStream)]);
    const next = idRecord<StreamPosition>();
    for (const s of Object.keys(this.known)) if (keep.has(s)) next[s] = this.known[s] as StreamPosition;
    // Older gateways send none of the history fields.
    const positions = idRecord<StreamPosition>(restored.positions as Record<string, StreamPosition>);
    const reasons = idRecord<GapReason>(restored.gapReasons as Record<string, GapReason>);
    const gapStreams = [...(restored.gaps ?? []).map(roomStream)];
    if (entryOf(reasons, USER_STREAM) !== undefined) gapStreams.push(USER_STREAM);
    const gaps: StreamGap[] = [];
    const seen = new Set<string>();
    for (const stream of gapStreams) {
      if (seen.has(stream)) continue;
      seen.add(stream);
      const after = entryOf(positions, stream);
      // A room in `gaps` without a reason is still a gap; `position-unknown` is the least the server knew.
      const reason = entryOf(reasons, stream) ?? 'position-unknown';
      gaps.push(gapOf(stream, reason, entryOf(next, stream), after === undefined ? undefined : copy(after)));
      if (after === undefined) delete next[stream];
      else next[stream] = copy(after);
    }
    for (const stream of Object.keys(positions)) {
      if (seen.has(stream) || !keep.has(stream)) continue;
      const after = positions[stream] as StreamPosition;
      const before = entryOf(next, stream);
      if (before !== undefined && before.epoch !== after.epoch)
        gaps.push(gapOf(stream as StreamName, 'epoch-changed', before, copy(after)));
      if (before === undefined || before.epoch !== after.epoch) next[stream] = copy(after);
    }
    this.known = next;
    return gaps;
  }

  /** Forgets everything (a new user, or a client that starts again without its history). */
  clear(): void {
    this.known = idRecord<StreamPosition>();
  }
}
