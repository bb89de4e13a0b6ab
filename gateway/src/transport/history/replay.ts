/**
 * The replay of one restoring socket: for each of its streams (its rooms, and its own user stream), what it
 * missed since the position its client sent (`auth.positions`), and what `session:restored` says about it.
 *
 * `holdStreams` runs in the connection handler's tick, right after the socket joined its rooms: from then
 * on the sequencer buffers the streams' live messages for it instead of sending them. `prepare` reads
 * history (through the sequencer, batched per stream); `deliver`, called right after `session:restored`,
 * sends the replay, then what was buffered past it, and ends the holds: exactly once, in order, replay
 * first. Without positions (a client without the SDK) nothing is read or held: a recovered session's
 * streams are gaps (`position-unknown`), a fresh one has none. With HISTORY_SIZE 0, `history-off`.
 */
import type {
  GapReason,
  MessagePosition,
  RestoredHistory,
  RoomName,
  StreamName,
  StreamPosition,
} from '@stayline/client-sdk/protocol';
import type { HistoryMetrics } from '../../metrics/history-metrics.ts';
import type { HistoryRead } from '../../session/history-store.ts';
import type { ReplayPlan } from '../../session/restore.ts';
import type { ClientPositions } from '../handshake/read-positions.ts';
import { clientRoom, userRoom } from '../socket-types.ts';
import { streamOf, type StreamSequencer } from './stream-sequencer.ts';

/** The restoring socket, as the replay sees it. */
export interface ReplaySocket {
  readonly id: string;
  /** Sends an app event with its position to this socket only. */
  emitApp(event: string, data: unknown, position: MessagePosition): void;
}

export interface ReplayDeps {
  /** Undefined when history is off (HISTORY_SIZE 0). */
  sequencer: StreamSequencer | undefined;
  metrics: Pick<HistoryMetrics, 'replayed' | 'gaps'>;
}

interface StreamPlan {
  room: string;
  wire: StreamName;
  after: StreamPosition | undefined;
}

/** The socket.io rooms of a socket's streams: its user room first, then its client rooms. */
export function streamRooms(userId: string, rooms: readonly RoomName[]): string[] {
  return [userRoom(userId), ...rooms.map(clientRoom)];
}

/** What a restore without replay says: every stream a gap for `reason` when the session was recovered. */
function allGaps(
  rooms: readonly RoomName[],
  recovered: boolean,
  reason: GapReason,
  deps: ReplayDeps,
): ReplayPlan {
  const history: RestoredHistory = { gaps: [], gapReasons: {}, positions: {} };
  if (recovered) {
    history.gaps = [...rooms];
    const reasons: Partial<Record<StreamName, GapReason>> = Object.create(null) as Partial<
      Record<StreamName, GapReason>
    >;
    reasons.user = reason;
    for (const room of rooms) reasons[`room:${room}`] = reason;
    history.gapReasons = reasons;
    deps.metrics.gaps.inc({ reason }, rooms.length + 1);
  }
  return { history, deliver: () => undefined };
}

/**
 * Holds the socket's streams (synchronously) when it will be replayed, and returns what prepares the
 * replay. Call `forget` with the same rooms when the socket leaves (holds end with it).
 */
export function holdStreams(
  deps: ReplayDeps,
  socket: ReplaySocket,
  session: { userId: string; rooms: readonly RoomName[]; recovered: boolean },
  positions: ClientPositions | undefined,
): () => Promise<ReplayPlan> {
  const { sequencer } = deps;
  if (sequencer === undefined)
    return () => Promise.resolve(allGaps(session.rooms, session.recovered, 'history-off', deps));
  if (positions === undefined)
    return () => Promise.resolve(allGaps(session.rooms, session.recovered, 'position-unknown', deps));
  const plans: StreamPlan[] = streamRooms(session.userId, session.rooms).map((room) => {
    const wire = streamOf(room).wire;
    return { room, wire, after: positions.get(wire) };
  });
  for (const plan of plans) sequencer.hold(plan.room, socket.id);
  return async () => {
    let reads: HistoryRead[];
    try {
      reads = await Promise.all(plans.map((plan) => sequencer.read(plan.room, plan.after)));
    } catch (err) {
      for (const plan of plans) sequencer.release(plan.room, socket.id);
      throw err;
    }
    const history: RestoredHistory = {
      gaps: [],
      gapReasons: Object.create(null) as RestoredHistory['gapReasons'],
      positions: Object.create(null) as RestoredHistory['positions'],
    };
    const replays = plans.map((plan, i) => {
      const read = reads[i]!;
      history.positions[plan.wire] = { epoch: read.epoch, offset: read.last };
      const reason: GapReason | undefined =
        plan.after === undefined ? (session.recovered ? 'position-unknown' : undefined) : read.gap;
      if (reason !== undefined) {
        history.gapReasons[plan.wire] = reason;
        const room = streamOf(plan.room).ref;
        if (room.kind === 'room') history.gaps.push(room.room);
        deps.metrics.gaps.inc({ reason });
      }
      return { plan, read, messages: reason === undefined ? read.messages : [] };
    });
    return {
      history,
      deliver() {
        let replayed = 0;
        for (const { plan, read, messages } of replays) {
          for (const m of messages) {
            socket.emitApp(m.event, m.data, { stream: plan.wire, epoch: read.epoch, offset: m.offset });
            replayed++;
          }
          // Delivered to the stream while held: what the read already covered is skipped, the rest follows.
          for (const held of sequencer.release(plan.room, socket.id)) {
            if (held.position.epoch === read.epoch && held.position.offset <= read.last) continue;
            socket.emitApp(held.event, held.data, held.position);
          }
        }
        if (replayed > 0) deps.metrics.replayed.inc(replayed);
      },
    };
  };
}
