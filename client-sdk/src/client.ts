/**
 * The client facade: `createClient` composes the socket binding (socket-binding.ts: the socket.io-client
 * socket and the connection state machine), the call queue (call-queue.ts: request ids, waiting for a
 * connection, resending, timeouts), the session copy (session-copy.ts) and the app events with their
 * stream positions (app-events.ts: dedup, gaps, the handshake's positions), and returns the public API.
 * The types of that API live here and in client-options.ts.
 */
import type {
  ClientToServerEvents,
  EventId,
  QueueLeaveResult,
  QueuePlace,
  RoomName,
  RoomResult,
  SeatHold,
  SeatId,
  SeatMapRequest,
  SeatMapResult,
  SeatReleaseResult,
  ServerToClientEvents,
} from './protocol/index.ts';
import { createAppEvents, type AppEventMeta } from './app-events.ts';
import { DEFAULT_BACKOFF } from './backoff.ts';
import {
  createCallQueue,
  defaultRequestId,
  type CallOptions,
  type RequestPayload,
  type ResultOf,
} from './call-queue.ts';
import type { ClientOptions, SdkTimers } from './client-options.ts';
import { STOPPED_STATUSES, type ConnectionPolicy, type ConnectionState } from './connection-machine.ts';
import { SdkError } from './errors.ts';
import { entryOf } from './id-record.ts';
import { toSeatMap, type SeatMapOptions } from './seat-map.ts';
import { createSessionCopy } from './session-copy.ts';
import {
  withHold,
  withoutQueue,
  withoutSeats,
  withQueuePlace,
  withRooms,
  type ClientSession,
  type SessionChange,
} from './session.ts';
import { createSocketBinding } from './socket-binding.ts';
import type { StreamGap } from './stream-positions.ts';

export type { ClientOptions, SdkLogger, SdkTimers, TokenReason } from './client-options.ts';
export type { CallOptions, RequestPayload } from './call-queue.ts';
export type { AppEventHandler, AppEventMeta } from './app-events.ts';
export type { StreamGap, StreamGapReason } from './stream-positions.ts';
/** The names of server events. */
export type ServerEventName = keyof ServerToClientEvents;

/**
 * Your backend's own events (published through the service API) by name, with the type of their data:
 * `createClient<{ score: { home: number; away: number } }>(...)` types `onAppEvent('score', ...)`.
 * The default allows any name, with `unknown` data.
 */
export type AppEventMap = Record<string, unknown>;

/**
 * A connected (or connecting) Stayline client. `AppEvents` types the app events of `onAppEvent` (and of
 * React's `useAppEvent` and `useRoom`).
 */
export interface StaylineClient<AppEvents extends object = AppEventMap> {
  /** The connection state; a new object on every change. */
  readonly state: ConnectionState;
  /** The session as last restored and updated; undefined until the first `session:restored`. */
  readonly session: ClientSession | undefined;
  /** Starts connecting (from `idle` after `autoConnect: false`, or after `close()`, `unauthorized`, `forbidden`). */
  connect(): void;
  /**
   * Opens a new connection now, whatever the state: a live connection is replaced (a fresh transport and
   * token, the session restored), a wait for the next attempt is cut short, a stopped client starts. Calls
   * in flight are sent again after it, with the same request id.
   * @example
   * window.addEventListener('online', () => client.reconnect());
   */
  reconnect(): void;
  /** Closes the connection, stops reconnecting, and fails pending calls with CLIENT_CLOSED. */
  close(): void;
  /**
   * Calls `listener` on every state change. Returns the unsubscribe function.
   * @example
   * client.onStateChange((s) => console.log(s.status, s.lastError));
   */
  onStateChange(listener: (state: ConnectionState, previous: ConnectionState) => void): () => void;
  /**
   * Calls `listener` on every session change, with what was restored and what was lost.
   * @example
   * client.onSessionChange((c) => { if (c.lostAnything) showNotice(c.lost); });
   */
  onSessionChange(listener: (change: SessionChange) => void): () => void;
  /**
   * Subscribes to a server event of the protocol. Returns the unsubscribe function.
   * @example
   * const off = client.on('queue:position', ({ eventId, position }) => show(eventId, position));
   */
  on<E extends ServerEventName>(event: E, handler: ServerToClientEvents[E]): () => void;
  /**
   * Subscribes to an app event your backend publishes through the service API (outside the protocol);
   * `data` is typed by the client's `AppEvents` map. Each message reaches the handler once and in its
   * stream's order, across reconnects and node crashes (what was missed is replayed; what cannot be is an
   * `onGap`). The optional `meta` says where the message stands: its `position` and `room` (undefined for
   * a volatile message). Returns the unsubscribe function.
   * @example
   * const client = createClient<{ score: { home: number; away: number } }>({ url, getToken });
   * client.onAppEvent('score', ({ home, away }) => render(home, away));
   * client.onAppEvent('chat', (msg, { room }) => append(room, msg));
   */
  onAppEvent<K extends keyof AppEvents & string>(
    event: K,
    handler: (data: AppEvents[K], meta: AppEventMeta) => void,
  ): () => void;
  /**
   * Calls `listener` when messages of a stream were lost for good: the server could not replay them
   * (`trimmed`, `expired`, `epoch-changed`, `position-unknown`, `history-off`, from `session:restored`) or
   * the SDK saw offsets skipped (`skipped`) or a new epoch on a live connection. Re-read that room's state
   * (`gap.room`; undefined for the user's own stream) from your backend. Returns the unsubscribe function.
   * @example
   * client.onGap(({ room, reason }) => { if (room === 'match:42') void reloadMatch(); });
   */
  onGap(listener: (gap: StreamGap) => void): () => void;
  /**
   * Joins a room; resolves with the user's rooms.
   * @example
   * const { rooms } = await client.joinRoom('match:42');
   */
  joinRoom(room: RoomName, options?: CallOptions): Promise<RoomResult>;
  /**
   * Leaves a room; resolves with the user's rooms.
   * @example
   * await client.leaveRoom('match:42');
   */
  leaveRoom(room: RoomName, options?: CallOptions): Promise<RoomResult>;
  /**
   * Joins an event's waiting queue; resolves with the place (positions then arrive as `queue:position`).
   * @example
   * const { position, size } = await client.joinQueue('ev1');
   */
  joinQueue(eventId: EventId, options?: CallOptions): Promise<QueuePlace>;
  /**
   * Leaves an event's queue (idempotent: `left` is false when the user was not in it).
   * @example
   * await client.leaveQueue('ev1');
   */
  leaveQueue(eventId: EventId, options?: CallOptions): Promise<QueueLeaveResult>;
  /**
   * Holds seats, all or none; the admission token from `queue:admitted` is added when the session has one.
   * Rejects with SEAT_UNAVAILABLE (`error.seatIds` names the taken seats), SEAT_LIMIT, ADMISSION_REQUIRED...
   * @example
   * const hold = await client.holdSeats('ev1', ['A1', 'A2']);
   */
  holdSeats(
    eventId: EventId,
    seatIds: SeatId[],
    options?: CallOptions & { admissionToken?: string },
  ): Promise<SeatHold>;
  /**
   * Releases held seats.
   * @example
   * await client.releaseSeats('ev1', ['A2']);
   */
  releaseSeats(eventId: EventId, seatIds: SeatId[], options?: CallOptions): Promise<SeatReleaseResult>;
  /**
   * Reads an event's seat map at its current change `version`, and follows the event: its `seat:update`s
   * (coalesced, versioned) then reach every socket of the user. Apply them with `applySeatUpdate`, or let
   * `followSeatMap` (or React's `useSeats`) do it, re-reading when changes were missed.
   * @example
   * const { version, seats } = await client.seatMap('ev1'); // 42, { A1: 'free', A2: 'held', ... }
   * const section = await client.seatMap('ev1', { section: 'S12', compact: true }); // one section, small on the wire
   * const changes = await client.seatMap('ev1', { since: 42 }); // `since` set: only seats changed after 42
   */
  seatMap(eventId: EventId, options?: CallOptions & SeatMapOptions): Promise<SeatMapResult>;
  /**
   * Sends any request of the protocol with a request id, waiting for a connection when needed.
   * @example
   * const place = await client.request('queue:join', { eventId: 'ev1' });
   */
  request<E extends keyof ClientToServerEvents>(
    event: E,
    payload: RequestPayload<E>,
    options?: CallOptions,
  ): Promise<ResultOf<E>>;
}

/**
 * Creates a client and (unless `autoConnect: false`) starts connecting.
 * @example
 * const client = createClient({
 *   url: 'https://rt.example.com',
 *   getToken: async () => (await fetch('/api/stayline-token')).text(),
 * });
 * client.onStateChange((s) => console.log(s.status));
 * const place = await client.joinQueue('ev1');
 */
export function createClient<AppEvents extends object = AppEventMap>(
  options: ClientOptions,
): StaylineClient<AppEvents> {
  const now = options.now ?? Date.now;
  const timers: SdkTimers = options.timers ?? {
    setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
    clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof globalThis.setTimeout>),
  };
  const log = options.logger;
  const policy: ConnectionPolicy = {
    backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
    maxAttempts: options.maxAttempts ?? Infinity,
    random: options.random ?? Math.random,
    now,
  };
  const session = createSessionCopy(log);
  const appEvents = createAppEvents(log);
  let closedByApp = false;
  /** Why calls fail while the client is stopped; `stopped` when it just stopped, else `is`. */
  const stoppedError = (s: ConnectionState, verb: 'stopped' | 'is'): SdkError =>
    closedByApp
      ? new SdkError('CLIENT_CLOSED')
      : new SdkError(
          'CLIENT_OFFLINE',
          verb === 'stopped'
            ? `The client stopped (${s.status}, ${s.lastError ?? 'no code'}).`
            : `The client is ${s.status} (${s.lastError ?? 'no code'}).`,
        );

  // The hooks run on socket events only, after both parts exist.
  const binding = createSocketBinding(options, {
    policy,
    timers,
    log,
    hooks: {
      opened: () => queue.flush(),
      connectionLost: () => queue.connectionLost(),
      stopped: (s) => queue.failAll(stoppedError(s, 'stopped')),
      refreshToken: (token) => queue.request('auth:refresh', { token }, {}, true),
      // The session first: a gap listener may read `client.session`.
      restored: (restored) => {
        session.restored(restored);
        appEvents.restored(restored);
      },
      sessionEvent: (cause, update) => session.update(cause, update),
      roomEvent: (kind, result) =>
        kind === 'joined' ? appEvents.joined(result) : appEvents.left(result.room),
      anyEvent: (event, args) => appEvents.incoming(event, args),
      // Always sent, `{}` while nothing is known: a handshake with positions is answered with every stream's
      // position (`session:restored.positions`), so the SDK knows its user stream from the first connect. Left
      // out, the gateway reads no history, the user stream stays unknown until a user message arrives, and
      // every later restore reported it as a `position-unknown` gap (found by test/integration/replay-e2e).
      positions: () => appEvents.positions.forHandshake() ?? {},
    },
  });
  const queue = createCallQueue({
    timers,
    callTimeoutMs: options.callTimeoutMs ?? 10_000,
    newRequestId: options.newRequestId ?? defaultRequestId,
    emit: (event, payload, ack) => binding.emit(event, payload, ack),
    canSend: () => binding.ready,
    refusal: () =>
      STOPPED_STATUSES.has(binding.state.status) ? stoppedError(binding.state, 'is') : undefined,
    status: () => binding.state.status,
  });
  const request = <E extends keyof ClientToServerEvents>(
    event: E,
    payload: RequestPayload<E>,
    o?: CallOptions,
  ): Promise<ResultOf<E>> =>
    queue.request(event, payload, o).then((result) => {
      // Room calls move the stream positions whichever way they were made (joinRoom or request).
      if (event === 'room:join') appEvents.joined(result as RoomResult);
      else if (event === 'room:leave') appEvents.left((result as RoomResult).room);
      return result;
    });

  const client: StaylineClient<AppEvents> = {
    get state() {
      return binding.state;
    },
    get session() {
      return session.current;
    },
    connect() {
      closedByApp = false;
      binding.dispatch({ type: 'start' });
    },
    reconnect() {
      closedByApp = false;
      binding.reconnect();
    },
    close() {
      closedByApp = true;
      binding.dispatch({ type: 'close' });
      queue.failAll(new SdkError('CLIENT_CLOSED'));
    },
    onStateChange: (listener) => binding.onStateChange(listener),
    onSessionChange: (listener) => session.onChange(listener),
    on: (event, handler) => binding.listen(event, handler),
    onAppEvent: (event, handler) =>
      appEvents.on(event, handler as (data: unknown, meta: AppEventMeta) => void),
    onGap: (listener) => appEvents.onGap(listener),
    request,
    async joinRoom(room, o) {
      const result = await request('room:join', { room }, o);
      session.update('call', (s) => withRooms(s, result.rooms));
      return result;
    },
    async leaveRoom(room, o) {
      const result = await request('room:leave', { room }, o);
      session.update('call', (s) => withRooms(s, result.rooms));
      return result;
    },
    async joinQueue(eventId, o) {
      const place = await request('queue:join', { eventId }, o);
      session.update('call', (s) => withQueuePlace(s, place));
      return place;
    },
    async leaveQueue(eventId, o) {
      const result = await request('queue:leave', { eventId }, o);
      session.update('call', (s) => withoutQueue(s, eventId));
      return result;
    },
    async holdSeats(eventId, seatIds, o = {}) {
      const admissionToken =
        o.admissionToken ?? entryOf(session.current?.admissions, eventId)?.admissionToken;
      const hold = await request(
        'seat:hold',
        admissionToken === undefined ? { eventId, seatIds } : { eventId, seatIds, admissionToken },
        o,
      );
      session.update('call', (s) => withHold(s, hold));
      return hold;
    },
    async releaseSeats(eventId, seatIds, o) {
      const result = await request('seat:release', { eventId, seatIds }, o);
      session.update('call', (s) => withoutSeats(s, eventId, result.seatIds));
      return result;
    },
    // The seats keyed by id without a prototype: a seat may be named `__proto__` or `toString`.
    seatMap: async (eventId, o) => {
      const { section, compact, since, ...call } = o ?? {};
      const payload: SeatMapRequest = { eventId };
      if (section !== undefined) payload.section = section;
      if (compact === true) payload.format = 'compact';
      if (since !== undefined) payload.since = since;
      return toSeatMap(await request('seat:map', payload, call));
    },
  };

  if (options.autoConnect ?? true) client.connect();
  return client;
}
