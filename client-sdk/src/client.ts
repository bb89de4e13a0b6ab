/**
 * The client shell: one socket.io-client socket (its own reconnection off), driven by the pure state
 * machine in connection-machine.ts. It fetches a token before every attempt, keeps `session` current, and
 * sends calls with a request id, holding them while the connection is down and sending them again (same
 * id, so the server answers with the first result) when it is back.
 */
import { io, type Socket } from 'socket.io-client';
import type {
  AckCallback,
  ClientToServerEvents,
  EventId,
  QueueLeaveResult,
  QueuePlace,
  RoomName,
  RoomResult,
  SeatHold,
  SeatId,
  SeatMapResult,
  SeatReleaseResult,
  ServerToClientEvents,
  WireError,
} from './protocol/index.ts';
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
import {
  INITIAL_STATE,
  STOPPED_STATUSES,
  step,
  type ConnectionEvent,
  type ConnectionPolicy,
  type ConnectionState,
} from './connection-machine.ts';
import { SdkError, readWireError, type SdkErrorCode } from './errors.ts';
import { entryOf, idRecord } from './id-record.ts';
import {
  describeChange,
  fromRestored,
  withAdmission,
  withHold,
  withoutQueue,
  withoutSeats,
  withQueuePlace,
  withRooms,
  type ClientSession,
  type SessionChange,
  type SessionChangeCause,
} from './session.ts';

/** Why the SDK asks for a token. */
export type TokenReason = 'connect' | 'reconnect' | 'refresh';

/** A logger the SDK writes to; it is silent without one. Any of pino, console or your own fits. */
export interface SdkLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

/** Timers the client uses; inject fakes in tests. */
export interface SdkTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options of `createClient`. */
export interface ClientOptions {
  /** The gateway (or load balancer) URL, e.g. `https://rt.example.com`. */
  url: string;
  /**
   * Returns a token for the handshake. Called before every (re)connect and when the server warns that the
   * token is about to expire (`auth:expiring`), so return a fresh one each time.
   */
  getToken: (context: { reason: TokenReason }) => string | Promise<string>;
  /** socket.io path. Default `/socket.io`. */
  path?: string;
  /**
   * Engine.IO transports, tried in order. Default `['websocket']`: one connection, no load-balancer
   * stickiness needed. Add `'polling'` for networks whose proxies block websockets:
   * `['websocket', 'polling']` falls back to HTTP long-polling when the websocket fails (every transport
   * is tried before an attempt counts as failed); `['polling', 'websocket']` starts polling and upgrades
   * when it can (the stock socket.io way). Long-polling needs sticky sessions at the load balancer (every
   * poll of a session must reach its node): the shipped HAProxy, nginx and ALB settings in deploy/ have
   * them (a cookie), so with polling the SDK sends cookies (`withCredentials`).
   */
  transports?: ('websocket' | 'polling' | 'webtransport')[];
  /** Reconnect backoff bounds. Default `{ baseMs: 500, capMs: 10_000 }`. */
  backoff?: Partial<BackoffOptions>;
  /** Failed attempts in a row before giving up with status `disconnected`. Default Infinity. */
  maxAttempts?: number;
  /** How long a call may wait for a connection and its answer before failing with CLIENT_TIMEOUT. Default 10,000. */
  callTimeoutMs?: number;
  /** How long one connection attempt may take. Default 10,000. */
  connectTimeoutMs?: number;
  /** Connect at once. Default true; with false, call `connect()`. */
  autoConnect?: boolean;
  /** Where the SDK logs. Default: nowhere. */
  logger?: SdkLogger;
  /** Clock (epoch ms). Default Date.now. */
  now?: () => number;
  /** Random source in [0, 1) for the backoff jitter. Default Math.random. */
  random?: () => number;
  /** Timers. Default the global setTimeout/clearTimeout. */
  timers?: SdkTimers;
  /** Request id generator. Default 16 random bytes as hex. */
  newRequestId?: () => string;
  /** Socket factory (tests). Default socket.io-client's `io`. */
  socketFactory?: typeof io;
  /**
   * The fetch used once after a connection attempt failed without a code, to tell a refused origin from an
   * unreachable server: a browser hides the websocket's HTTP 403, so the SDK GETs the engine's polling URL
   * (`<url><path>/?EIO=4&transport=polling&sid=origin-probe`; the gateway answers a refused origin 403 with
   * CORS headers, anything else 400 without creating a session). A 403 ends in status `forbidden` with
   * ORIGIN_FORBIDDEN, never retried. Default `globalThis.fetch` in a browser (only a page has an origin to
   * refuse), none elsewhere; `null` turns the probe off.
   */
  fetch?: typeof globalThis.fetch | null;
}

/** Per-call options. */
export interface CallOptions {
  /** Overrides `callTimeoutMs` for this call. */
  timeoutMs?: number;
  /** Send your own request id (1-64 characters) to make a retry of your own idempotent too. */
  requestId?: string;
}

type RequestOf<E extends keyof ClientToServerEvents> = Parameters<ClientToServerEvents[E]>[0];
type ResultOf<E extends keyof ClientToServerEvents> =
  Parameters<ClientToServerEvents[E]>[1] extends AckCallback<infer T> ? T : never;
/** A request payload without its request id (the SDK adds it). */
export type RequestPayload<E extends keyof ClientToServerEvents> = Omit<RequestOf<E>, 'requestId'>;
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
   * `data` is typed by the client's `AppEvents` map. Returns the unsubscribe function.
   * @example
   * const client = createClient<{ score: { home: number; away: number } }>({ url, getToken });
   * client.onAppEvent('score', ({ home, away }) => render(home, away));
   */
  onAppEvent<K extends keyof AppEvents & string>(event: K, handler: (data: AppEvents[K]) => void): () => void;
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
   */
  seatMap(eventId: EventId, options?: CallOptions): Promise<SeatMapResult>;
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

interface PendingCall {
  event: keyof ClientToServerEvents;
  payload: Record<string, unknown>;
  /** Bumped at every send, so the ack of an earlier send (on a dropped connection) is ignored. */
  sendSeq: number;
  inFlight: boolean;
  /** Bound to the connection it was sent on: fails instead of being sent again after a reconnect. */
  connectionBound: boolean;
  settle(outcome: { ok: true; data: unknown } | { ok: false; error: SdkError }): void;
}

type AnySocket = Socket<ServerToClientEvents, ClientToServerEvents>;

function defaultRequestId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * After a connection attempt failed without a code: is the page's origin refused? True on HTTP 403 from the
 * engine's polling URL (see `ClientOptions.fetch`); false for anything else, including a failed fetch.
 */
async function originRefused(
  fetchFn: typeof globalThis.fetch,
  url: string,
  path: string | undefined,
): Promise<{ refused: boolean; message?: string | undefined }> {
  let probe: URL;
  try {
    // Relative gateway URLs ('/') are relative to the page, as socket.io-client takes them.
    probe = new URL(url, (globalThis as { location?: { href?: string } }).location?.href);
  } catch {
    return { refused: false };
  }
  probe.pathname = `${(path ?? '/socket.io').replace(/\/+$/, '')}/`;
  probe.search = '?EIO=4&transport=polling&sid=origin-probe';
  try {
    const response = await fetchFn(probe.href, { method: 'GET', credentials: 'omit' });
    if (response.status !== 403) return { refused: false };
    const body: unknown = await response.json().catch(() => undefined);
    return { refused: true, message: readWireError(body)?.message };
  } catch {
    return { refused: false };
  }
}

/** The codes a server puts on an ack of a request it never processed because the token had expired. */
const RESEND_CODES: ReadonlySet<string> = new Set(['AUTH_EXPIRED']);

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
  const callTimeoutMs = options.callTimeoutMs ?? 10_000;
  const newRequestId = options.newRequestId ?? defaultRequestId;
  const policy: ConnectionPolicy = {
    backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
    maxAttempts: options.maxAttempts ?? Infinity,
    random: options.random ?? Math.random,
    now,
  };

  let state: ConnectionState = INITIAL_STATE;
  let session: ClientSession | undefined;
  let token: string | undefined;
  let everConnected = false;
  let retryTimer: unknown;
  /** Bumped by every connect and disconnect effect: a token fetch that returns late is dropped. */
  let attemptSeq = 0;
  /** What the server told us before it closed: a drain hint, or an error meant to be retried. */
  let drainHintMs: number | undefined;
  let serverError: WireError | undefined;
  let closedByApp = false;

  const stateListeners = new Set<(s: ConnectionState, p: ConnectionState) => void>();
  const sessionListeners = new Set<(c: SessionChange) => void>();
  const pending = new Set<PendingCall>();

  const transports = options.transports ?? ['websocket'];
  const socket: AnySocket = (options.socketFactory ?? io)(options.url, {
    autoConnect: false,
    // Our own reconnection: socket.io-client's stops for good after "io server disconnect".
    reconnection: false,
    forceNew: true,
    transports,
    // With polling in the list: try every transport before failing an attempt (a blocked websocket falls
    // back to polling), and send cookies: the load balancer's stickiness cookie keeps polls on one node.
    ...(transports.includes('polling') ? { tryAllTransports: true, withCredentials: true } : {}),
    timeout: options.connectTimeoutMs ?? 10_000,
    ...(options.path === undefined ? {} : { path: options.path }),
    // Read at every connect packet: always the token fetched for this attempt. `retryableConnectErrors`
    // asks the server for retryable refusals as connect_errors with their code and retryAfterMs (we retry
    // them ourselves); without it the server closes the transport, which stock clients retry.
    auth: (cb: (data: object) => void) => cb({ token, retryableConnectErrors: true }),
  });

  const notifyState = (previous: ConnectionState): void => {
    for (const listener of [...stateListeners]) listener(state, previous);
  };

  const setSession = (
    cause: SessionChangeCause,
    next: ClientSession,
    restored?: Parameters<typeof describeChange>[3],
  ) => {
    const previous = session;
    session = next;
    const change = describeChange(cause, previous, next, restored);
    if (change.lostAnything) log?.warn({ lost: change.lost, cause }, 'session lost state');
    for (const listener of [...sessionListeners]) listener(change);
  };
  const updateSession = (cause: SessionChangeCause, update: (s: ClientSession) => ClientSession): void => {
    if (session !== undefined) setSession(cause, update(session));
  };

  const failPending = (error: SdkError): void => {
    for (const call of [...pending]) call.settle({ ok: false, error });
  };

  const dispatch = (event: ConnectionEvent): void => {
    const previous = state;
    const result = step(state, event, policy);
    state = result.state;
    if (state !== previous) {
      log?.debug({ event: event.type, status: state.status, lastError: state.lastError }, 'connection state');
      notifyState(previous);
      if (STOPPED_STATUSES.has(state.status)) {
        failPending(
          closedByApp
            ? new SdkError('CLIENT_CLOSED')
            : new SdkError(
                'CLIENT_OFFLINE',
                `The client stopped (${state.status}, ${state.lastError ?? 'no code'}).`,
              ),
        );
      }
    }
    const effect = result.effect;
    switch (effect.type) {
      case 'none':
        return;
      case 'wait':
        if (retryTimer !== undefined) timers.clearTimeout(retryTimer);
        retryTimer = timers.setTimeout(() => {
          retryTimer = undefined;
          dispatch({ type: 'timer' });
        }, effect.delayMs);
        return;
      case 'disconnect':
        if (retryTimer !== undefined) timers.clearTimeout(retryTimer);
        retryTimer = undefined;
        attemptSeq++;
        socket.disconnect();
        return;
      case 'connect':
        openSocket();
        return;
    }
  };

  const openSocket = (): void => {
    const seq = ++attemptSeq;
    const reason: TokenReason = everConnected ? 'reconnect' : 'connect';
    // A fresh transport for every attempt: a load balancer then picks a live node.
    socket.disconnect();
    drainHintMs = undefined;
    serverError = undefined;
    Promise.resolve()
      .then(() => options.getToken({ reason }))
      .then((fresh) => {
        if (seq !== attemptSeq) return;
        if (typeof fresh !== 'string' || fresh.length === 0) throw new Error('getToken returned no token');
        token = fresh;
        socket.connect();
      })
      .catch((err: unknown) => {
        if (seq !== attemptSeq) return;
        log?.warn({ err }, 'getToken failed');
        dispatch({ type: 'refused', code: 'CLIENT_TOKEN', retryable: true });
      });
  };

  const send = (call: PendingCall): void => {
    const seq = ++call.sendSeq;
    call.inFlight = true;
    const emit = socket.emit.bind(socket) as unknown as (
      event: string,
      payload: unknown,
      ack: (response: unknown) => void,
    ) => void;
    emit(call.event, call.payload, (response: unknown) => {
      if (seq !== call.sendSeq || !pending.has(call)) return;
      call.inFlight = false;
      const ack = (typeof response === 'object' && response !== null ? response : {}) as {
        ok?: unknown;
        data?: unknown;
        error?: unknown;
      };
      if (ack.ok === true) return call.settle({ ok: true, data: ack.data });
      const wire = readWireError(ack.error);
      if (wire === undefined) {
        return call.settle({
          ok: false,
          error: new SdkError('INTERNAL', 'The server sent a malformed ack.'),
        });
      }
      // Refused unprocessed because the token ran out: the reconnect with a fresh token sends it again.
      if (RESEND_CODES.has(wire.code)) return;
      call.settle({ ok: false, error: SdkError.fromWire(wire) });
    });
  };

  const flush = (): void => {
    for (const call of pending) if (!call.inFlight) send(call);
  };

  const request = <E extends keyof ClientToServerEvents>(
    event: E,
    payload: RequestPayload<E>,
    callOptions: CallOptions = {},
    connectionBound = false,
  ): Promise<ResultOf<E>> => {
    if (STOPPED_STATUSES.has(state.status)) {
      return Promise.reject(
        closedByApp
          ? new SdkError('CLIENT_CLOSED')
          : new SdkError(
              'CLIENT_OFFLINE',
              `The client is ${state.status} (${state.lastError ?? 'no code'}).`,
            ),
      );
    }
    const timeoutMs = callOptions.timeoutMs ?? callTimeoutMs;
    return new Promise<ResultOf<E>>((resolve, reject) => {
      const call: PendingCall = {
        event,
        payload: { ...payload, requestId: callOptions.requestId ?? newRequestId() },
        sendSeq: 0,
        inFlight: false,
        connectionBound,
        settle(outcome) {
          if (!pending.delete(call)) return;
          timers.clearTimeout(deadline);
          if (outcome.ok) resolve(outcome.data as ResultOf<E>);
          else reject(outcome.error);
        },
      };
      const deadline = timers.setTimeout(() => {
        call.settle({
          ok: false,
          error: new SdkError(
            'CLIENT_TIMEOUT',
            call.inFlight
              ? `No answer to ${event} within ${timeoutMs} ms.`
              : `Not connected within ${timeoutMs} ms (${state.status}); ${event} was not sent.`,
          ),
        });
      }, timeoutMs);
      pending.add(call);
      if (socket.connected && state.status === 'connected') send(call);
    });
  };

  socket.on('connect', () => {
    everConnected = true;
    dispatch({ type: 'opened' });
    flush();
  });
  const inBrowser = typeof (globalThis as { document?: unknown }).document !== 'undefined';
  const fetchFn = options.fetch === undefined ? (inBrowser ? globalThis.fetch : null) : options.fetch;
  socket.on('connect_error', (err: Error & { data?: unknown }) => {
    const wire = readWireError(err.data);
    log?.debug({ code: wire?.code, message: err.message }, 'connect_error');
    if (wire === undefined && typeof fetchFn === 'function') {
      // No code: unreachable, or a refused origin the browser will not show us. Ask once, then decide.
      const seq = attemptSeq;
      void originRefused(fetchFn, options.url, options.path).then(({ refused, message }) => {
        if (seq !== attemptSeq) return;
        if (refused) log?.warn({ message }, 'the gateway refuses this page origin (CORS_ORIGINS)');
        dispatch(
          refused
            ? { type: 'refused', code: 'ORIGIN_FORBIDDEN', retryable: false }
            : { type: 'refused', code: 'CLIENT_NETWORK', retryable: true },
        );
      });
    } else if (wire === undefined) dispatch({ type: 'refused', code: 'CLIENT_NETWORK', retryable: true });
    else {
      const code = SdkError.fromWire(wire).code;
      dispatch({ type: 'refused', code, retryable: wire.retryable, hintMs: wire.retryAfterMs });
    }
  });
  socket.on('disconnect', (reason) => {
    for (const call of [...pending]) {
      if (call.inFlight && call.connectionBound) {
        call.settle({
          ok: false,
          error: new SdkError('CLIENT_NETWORK', `${call.event}: the connection dropped.`),
        });
      }
      call.inFlight = false;
    }
    if (reason === 'io client disconnect') return;
    const told = serverError;
    const hint = drainHintMs;
    const code: SdkErrorCode =
      told !== undefined
        ? SdkError.fromWire(told).code
        : hint !== undefined
          ? 'SERVER_DRAINING'
          : 'CLIENT_NETWORK';
    // When the server said why (auth:expired, session:ended), its retryable flag decides, whatever closed
    // first; otherwise socket.io's "io server disconnect" is final unless it was a drain.
    const retry =
      told !== undefined ? told.retryable : reason !== 'io server disconnect' || hint !== undefined;
    log?.debug({ reason, code, retry }, 'disconnected');
    dispatch({ type: 'dropped', code, retry, hintMs: hint });
  });
  socket.on('server:draining', ({ reconnectAfterMs }) => {
    drainHintMs = reconnectAfterMs;
  });
  socket.on('auth:expired', (error) => {
    serverError = error;
  });
  // The application ended the session (SESSION_KICKED, or AUTH_REVOKED with the tokens revoked); the
  // "io server disconnect" that follows is final: `disconnected`, or `unauthorized` for AUTH_REVOKED.
  socket.on('session:ended', (error) => {
    serverError = error;
  });
  // A flood cut-off is announced as protocol:error RATE_FLOODED before the final disconnect: keep the reason,
  // so the app sees RATE_FLOODED (not CLIENT_NETWORK) and the SDK does not reconnect into the same loop.
  socket.on('protocol:error', (error) => {
    if (error.code === 'RATE_FLOODED') serverError = error;
  });
  socket.on('auth:expiring', ({ expiresAt }) => {
    log?.debug({ expiresAt }, 'token expiring; refreshing');
    Promise.resolve()
      .then(() => options.getToken({ reason: 'refresh' }))
      .then((fresh) => {
        token = fresh;
        // Bound to this connection: the next one authenticates with a token fetched for it anyway.
        return request('auth:refresh', { token: fresh }, {}, true);
      })
      .catch((err: unknown) => {
        // Not fatal: at expiry the server sends auth:expired and the reconnect fetches a token again.
        log?.warn({ err }, 'token refresh failed');
      });
  });
  socket.on('session:restored', (restored) => {
    setSession('session:restored', fromRestored(restored, session), restored);
  });
  socket.on('room:joined', ({ rooms }) => updateSession('room:joined', (s) => withRooms(s, rooms)));
  socket.on('room:left', ({ rooms }) => updateSession('room:left', (s) => withRooms(s, rooms)));
  socket.on('queue:position', (place) => updateSession('queue:position', (s) => withQueuePlace(s, place)));
  socket.on('queue:admitted', (admitted) =>
    updateSession('queue:admitted', (s) => withAdmission(s, admitted)),
  );
  socket.on('seat:expired', ({ eventId, seatIds }) =>
    updateSession('seat:expired', (s) => withoutSeats(s, eventId, seatIds)),
  );

  const client: StaylineClient<AppEvents> = {
    get state() {
      return state;
    },
    get session() {
      return session;
    },
    connect() {
      closedByApp = false;
      dispatch({ type: 'start' });
    },
    reconnect() {
      closedByApp = false;
      if (retryTimer !== undefined) timers.clearTimeout(retryTimer);
      retryTimer = undefined;
      dispatch({ type: 'reconnect' });
    },
    close() {
      closedByApp = true;
      dispatch({ type: 'close' });
      failPending(new SdkError('CLIENT_CLOSED'));
    },
    onStateChange(listener) {
      stateListeners.add(listener);
      return () => stateListeners.delete(listener);
    },
    onSessionChange(listener) {
      sessionListeners.add(listener);
      return () => sessionListeners.delete(listener);
    },
    on(event, handler) {
      const s = socket as unknown as { on(e: string, h: unknown): void; off(e: string, h: unknown): void };
      s.on(event, handler);
      return () => s.off(event, handler);
    },
    onAppEvent(event, handler) {
      const s = socket as unknown as { on(e: string, h: unknown): void; off(e: string, h: unknown): void };
      s.on(event, handler);
      return () => s.off(event, handler);
    },
    request,
    async joinRoom(room, o) {
      const result = await request('room:join', { room }, o);
      updateSession('call', (s) => withRooms(s, result.rooms));
      return result;
    },
    async leaveRoom(room, o) {
      const result = await request('room:leave', { room }, o);
      updateSession('call', (s) => withRooms(s, result.rooms));
      return result;
    },
    async joinQueue(eventId, o) {
      const place = await request('queue:join', { eventId }, o);
      updateSession('call', (s) => withQueuePlace(s, place));
      return place;
    },
    async leaveQueue(eventId, o) {
      const result = await request('queue:leave', { eventId }, o);
      updateSession('call', (s) => withoutQueue(s, eventId));
      return result;
    },
    async holdSeats(eventId, seatIds, o = {}) {
      const admissionToken = o.admissionToken ?? entryOf(session?.admissions, eventId)?.admissionToken;
      const hold = await request(
        'seat:hold',
        admissionToken === undefined ? { eventId, seatIds } : { eventId, seatIds, admissionToken },
        o,
      );
      updateSession('call', (s) => withHold(s, hold));
      return hold;
    },
    async releaseSeats(eventId, seatIds, o) {
      const result = await request('seat:release', { eventId, seatIds }, o);
      updateSession('call', (s) => withoutSeats(s, eventId, result.seatIds));
      return result;
    },
    // The seats keyed by id without a prototype: a seat may be named `__proto__` or `toString`.
    seatMap: async (eventId, o) => {
      const result = await request('seat:map', { eventId }, o);
      return { ...result, seats: idRecord(result.seats) };
    },
  };

  if (options.autoConnect ?? true) client.connect();
  return client;
}
