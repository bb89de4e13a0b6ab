/**
 * The node's sequencer: exactly once and in order, per stream, for this node's sockets. Every message with
 * history reaches a node once per publish (the publishing node delivers its own, the others get it through
 * the adapter's `serverSideEmit`) and passes here, where the stream's last delivered offset is the judge:
 * - offset <= last: already delivered (a repair got there first): dropped;
 * - last + 1: delivered now, then any waiting successors;
 * - a jump (pub/sub lost or reordered some): held, and after GAP_WAIT_MS without the missing ones the node
 *   reads them from history and delivers them in order first.
 * After a pub/sub resubscribe every stream catches up from history. Sockets being restored are held out of
 * their streams' deliveries (`hold`), which are buffered for them instead; their replay and the buffer are
 * handed over at `release`, so what they get is exactly once, in order, replay first.
 *
 * History reads of one stream are batched: while one batch is in flight, every read asked for meanwhile
 * waits for the next batch, and the stream's live messages wait in `pending` (one Redis round trip).
 */
import type { MessagePosition, StreamName, StreamPosition } from '@stayline/client-sdk/protocol';
import type { Logger } from '../../infra/logger.ts';
import type { HistoryMetrics } from '../../metrics/history-metrics.ts';
import type { HistoryRead, HistoryStore, StreamRef } from '../../session/history-store.ts';

/** A message with history on its way to a node's sockets; `room` is the socket.io room (`r:…` or `u:…`). */
export interface SequencedMessage {
  room: string;
  epoch: string;
  offset: number;
  event: string;
  data: unknown;
}

/** What a held socket is handed at release: messages delivered to its stream while it was held. */
export interface HeldMessage {
  event: string;
  data: unknown;
  position: MessagePosition;
}

export interface StreamSequencerDeps {
  history: Pick<HistoryStore, 'since'>;
  /** Emits to this node's sockets in a socket.io room, except the given socket ids. */
  emitLocal(
    room: string,
    except: readonly string[],
    event: string,
    data: unknown,
    position: MessagePosition,
  ): void;
  /** True while a socket of this node is in the socket.io room. */
  hasLocal(room: string): boolean;
  metrics: HistoryMetrics;
  log: Logger;
  /** How long a jump waits for the missing messages before reading them from history. Default 25 ms. */
  gapWaitMs?: number;
  /** Wait before retrying a failed history read. Default 500 ms. */
  retryMs?: number;
}

/** A socket.io room's stream, as the store and the wire name it. */
export function streamOf(room: string): { ref: StreamRef; wire: StreamName } {
  if (room.startsWith('u:')) return { ref: { kind: 'user', userId: room.slice(2) }, wire: 'user' };
  const name = room.slice(2);
  return { ref: { kind: 'room', room: name }, wire: `room:${name}` };
}

interface ReadJob {
  after: StreamPosition | undefined;
  resolve(read: HistoryRead): void;
  reject(err: unknown): void;
}

interface StreamState {
  readonly room: string;
  readonly ref: StreamRef;
  readonly wire: StreamName;
  epoch: string;
  /** The last offset delivered here; undefined until the first read or message says where the stream is. */
  last: number | undefined;
  /** Messages ahead of `last`, or received while a read was in flight. */
  readonly pending: Map<number, SequencedMessage>;
  readonly jobs: ReadJob[];
  running: boolean;
  /** A catch-up from history is wanted (a jump, a resubscribe, an epoch change). */
  catchUp: 'gap' | 'resubscribe' | undefined;
  gapTimer: NodeJS.Timeout | undefined;
  /**
   * Set after a failed read (the store is down): catch-ups wait for it. Retrying at once would loop, since
   * a fail-fast client rejects in the same tick: the loop would starve the event loop.
   */
  retryTimer: NodeJS.Timeout | undefined;
  /** Held sockets (being restored) and what was delivered to the stream meanwhile. */
  readonly holds: Map<string, HeldMessage[]>;
}

/** Past this many waiting messages a stream reads history at once instead of waiting for the gap. */
const MAX_PENDING = 10_000;

export class StreamSequencer {
  private readonly streams = new Map<string, StreamState>();
  private readonly gapWaitMs: number;
  private readonly retryMs: number;
  private closed = false;

  constructor(private readonly deps: StreamSequencerDeps) {
    this.gapWaitMs = deps.gapWaitMs ?? 25;
    this.retryMs = deps.retryMs ?? 500;
  }

  /** A message for this node's sockets (from this node's publish or another node's). */
  receive(message: SequencedMessage): void {
    let state = this.streams.get(message.room);
    if (state === undefined) {
      if (!this.deps.hasLocal(message.room)) return;
      // Sockets here that joined without a read (another tab's room:join): the stream starts here.
      state = this.create(message.room, message.epoch, message.offset - 1);
    }
    if (state.running) {
      state.pending.set(message.offset, message);
      return;
    }
    if (state.last === undefined) {
      // Held sockets whose read has not started yet: the stream starts here (their reads sort out the rest).
      state.epoch = message.epoch;
      state.last = message.offset - 1;
    }
    if (message.epoch !== state.epoch) {
      // The stream's history was lost and begun again: its offsets start over.
      state.epoch = message.epoch;
      state.last = 0;
      state.pending.clear();
    }
    if (message.offset <= state.last) return void this.deps.metrics.duplicates.inc();
    state.pending.set(message.offset, message);
    this.drain(state);
  }

  /**
   * Holds a socket out of a stream's deliveries (buffered for it instead) until `release`; synchronous, so a
   * socket joined to its rooms in the same tick misses nothing and gets nothing early.
   */
  hold(room: string, socketId: string): void {
    const state = this.streams.get(room) ?? this.create(room, '', undefined);
    state.holds.set(socketId, []);
  }

  /** Ends a hold: what was delivered to the stream meanwhile, in order (empty when there was no hold). */
  release(room: string, socketId: string): HeldMessage[] {
    const state = this.streams.get(room);
    const held = state?.holds.get(socketId) ?? [];
    state?.holds.delete(socketId);
    if (state !== undefined) this.dropIfIdle(state);
    return held;
  }

  /** Ends every hold of a socket that left. */
  forgetSocket(socketId: string, rooms: Iterable<string>): void {
    for (const room of rooms) this.release(room, socketId);
  }

  /**
   * Reads the stream's history after `after` (its head when undefined), in the stream's next batch; the
   * node catches up to at least the head read before this resolves. Rejects when the store cannot answer.
   */
  read(room: string, after: StreamPosition | undefined): Promise<HistoryRead> {
    const state = this.streams.get(room) ?? this.create(room, '', undefined);
    return new Promise<HistoryRead>((resolve, reject) => {
      state.jobs.push({ after, resolve, reject });
      this.kick(state);
    });
  }

  /** After a pub/sub resubscribe: every stream reads what it may have missed. */
  catchUpAll(): void {
    for (const state of this.streams.values()) {
      if (state.last === undefined) continue;
      state.catchUp = 'resubscribe';
      this.kick(state);
    }
  }

  /** The socket.io room is gone from this node (its last socket left). */
  roomGone(room: string): void {
    const state = this.streams.get(room);
    if (state !== undefined) this.dropIfIdle(state);
  }

  close(): void {
    this.closed = true;
    for (const state of this.streams.values()) {
      clearTimeout(state.gapTimer);
      clearTimeout(state.retryTimer);
    }
    this.streams.clear();
    this.deps.metrics.streams.set(0);
  }

  private create(room: string, epoch: string, last: number | undefined): StreamState {
    const { ref, wire } = streamOf(room);
    const state: StreamState = {
      room,
      ref,
      wire,
      epoch,
      last,
      pending: new Map(),
      jobs: [],
      running: false,
      catchUp: undefined,
      gapTimer: undefined,
      retryTimer: undefined,
      holds: new Map(),
    };
    this.streams.set(room, state);
    this.deps.metrics.streams.set(this.streams.size);
    return state;
  }

  private dropIfIdle(state: StreamState): void {
    if (state.running || state.jobs.length > 0 || state.holds.size > 0 || this.deps.hasLocal(state.room))
      return;
    clearTimeout(state.gapTimer);
    clearTimeout(state.retryTimer);
    this.streams.delete(state.room);
    this.deps.metrics.streams.set(this.streams.size);
  }

  /** Delivers the waiting messages that follow `last`; a jump waits, then reads history. */
  private drain(state: StreamState): void {
    if (state.last === undefined) return;
    let foreign = false;
    for (const [offset, message] of state.pending) {
      if (message.epoch !== state.epoch) foreign = true;
      if (offset <= state.last || message.epoch !== state.epoch) state.pending.delete(offset);
    }
    for (
      let next = state.pending.get(state.last + 1);
      next !== undefined;
      next = state.pending.get(state.last + 1)
    ) {
      state.pending.delete(next.offset);
      this.deliver(state, next);
      state.last = next.offset;
    }
    // Messages of another epoch: the history was lost and begun again; the read sorts out where it stands.
    if (foreign) state.catchUp = 'gap';
    if (state.catchUp !== undefined || state.pending.size >= MAX_PENDING) return this.kick(state, 'gap');
    if (state.pending.size > 0 && state.gapTimer === undefined) {
      const timer = setTimeout(() => {
        // Timers run before the poll phase: when the whole process was stalled (a busy shared machine, a
        // long GC) the wait expires with the missing message already in a socket buffer, unread. Deciding
        // after this iteration's poll phase (setImmediate) lets it in first, instead of a needless history
        // read that holds back every message behind it for one more round trip and delivers the late one as
        // a repair (its live copy then dropped as a duplicate).
        setImmediate(() => {
          if (state.gapTimer !== timer || this.streams.get(state.room) !== state) return; // a read started
          state.gapTimer = undefined;
          if (state.pending.size === 0) return;
          this.deps.metrics.gapWaits.inc();
          this.kick(state, 'gap');
        });
      }, this.gapWaitMs);
      state.gapTimer = timer;
      timer.unref();
    }
  }

  private deliver(state: StreamState, message: { event: string; data: unknown; offset: number }): void {
    const position: MessagePosition = { stream: state.wire, epoch: state.epoch, offset: message.offset };
    const except = state.holds.size === 0 ? [] : [...state.holds.keys()];
    this.deps.emitLocal(state.room, except, message.event, message.data, position);
    for (const held of state.holds.values())
      held.push({ event: message.event, data: message.data, position });
  }

  /** Starts a batch unless one is in flight (it starts the next one when done). */
  private kick(state: StreamState, catchUp?: 'gap' | 'resubscribe'): void {
    if (catchUp !== undefined) state.catchUp ??= catchUp;
    if (state.running || this.closed) return;
    if (state.jobs.length === 0 && (state.catchUp === undefined || state.last === undefined)) return;
    // Reads asked for go at once (they fail fast to their callers); a catch-up waits out a failed read.
    if (state.jobs.length === 0 && state.retryTimer !== undefined) return;
    state.running = true;
    void this.batch(state);
  }

  /** One batch: the node's own catch-up read and every waiting read, at once. */
  private async batch(state: StreamState): Promise<void> {
    const jobs = state.jobs.splice(0);
    const trigger = state.catchUp ?? 'read';
    state.catchUp = undefined;
    clearTimeout(state.gapTimer);
    state.gapTimer = undefined;
    const known = state.last;
    const nodeAfter = known === undefined ? undefined : { epoch: state.epoch, offset: known };
    let failed = false;
    try {
      const [nodeRead, ...reads] = await Promise.all([
        nodeAfter === undefined ? undefined : this.deps.history.since(state.ref, nodeAfter),
        ...jobs.map((job) => this.deps.history.since(state.ref, job.after)),
      ]);
      if (nodeRead !== undefined) this.applyNodeRead(state, nodeRead, trigger);
      else this.startFrom(state, reads);
      jobs.forEach((job, i) => job.resolve(reads[i]!));
    } catch (err) {
      failed = true;
      for (const job of jobs) job.reject(err);
      this.deps.metrics.catchUpFailures.inc();
      this.deps.log.debug({ err, stream: state.wire }, 'history read failed; retrying');
    } finally {
      state.running = false;
    }
    if (this.closed) return;
    if (failed && (state.pending.size > 0 || trigger !== 'read')) {
      // The store is down: try again later (live messages that follow on still get through meanwhile).
      state.catchUp ??= trigger === 'read' ? 'gap' : trigger;
      if (state.retryTimer === undefined) {
        state.retryTimer = setTimeout(() => {
          state.retryTimer = undefined;
          this.kick(state);
        }, this.retryMs);
        state.retryTimer.unref();
      }
    }
    this.drain(state);
    if (state.jobs.length > 0) this.kick(state);
    this.dropIfIdle(state);
  }

  /** A stream whose position was unknown starts at the lowest head its reads saw (later ones follow live). */
  private startFrom(state: StreamState, reads: readonly HistoryRead[]): void {
    const newest = reads.at(-1);
    if (newest === undefined) return;
    const sameEpoch = reads.filter((r) => r.epoch === newest.epoch);
    state.epoch = newest.epoch;
    state.last = Math.min(...sameEpoch.map((r) => r.last));
  }

  private applyNodeRead(
    state: StreamState,
    read: HistoryRead,
    trigger: 'gap' | 'resubscribe' | 'read',
  ): void {
    if (read.gap === 'epoch-changed') {
      // The node's epoch is gone: start the new one from its beginning (a second read brings its messages).
      state.epoch = read.epoch;
      state.last = 0;
      if (read.last > 0) state.catchUp = trigger === 'read' ? 'gap' : trigger;
      return;
    }
    let repaired = 0;
    for (const message of read.messages) {
      if (state.last !== undefined && message.offset <= state.last) continue;
      // Counted as repaired only when pub/sub never brought it (not merely late).
      if (!state.pending.delete(message.offset)) repaired++;
      this.deliver(state, message);
      state.last = message.offset;
    }
    if (state.last === undefined || state.last < read.last) state.last = read.last;
    if (repaired > 0) this.deps.metrics.repaired.inc({ trigger }, repaired);
  }
}
