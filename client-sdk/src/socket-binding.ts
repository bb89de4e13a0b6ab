/**
 * The socket binding: the one socket.io-client socket of a client (its own reconnection off) and the pure
 * state machine of connection-machine.ts, joined. Socket events become machine events (`opened`,
 * `refused`, `dropped`), the machine's effects become socket actions (fetch a token and connect, wait,
 * disconnect), and what the server says about the session (`session:restored`, `room:joined`...) goes to
 * the client's session through hooks. Knows nothing of calls: the facade wires it to the call queue.
 */
import { io, type Socket } from 'socket.io-client';
import type { ClientSession, SessionChangeCause } from './session.ts';
import type { ClientOptions, SdkLogger, SdkTimers, TokenReason } from './client-options.ts';
import {
  INITIAL_STATE,
  STOPPED_STATUSES,
  step,
  type ConnectionEvent,
  type ConnectionPolicy,
  type ConnectionState,
} from './connection-machine.ts';
import { SdkError, readWireError, type SdkErrorCode } from './errors.ts';
import { originRefused } from './origin-probe.ts';
import type {
  ClientToServerEvents,
  ReplayAuth,
  RestoredSession,
  RoomResult,
  ServerToClientEvents,
  WireError,
} from './protocol/index.ts';
import { withAdmission, withoutSeats, withQueuePlace, withRooms } from './session.ts';

type AnySocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** What the binding tells the rest of the client. */
export interface BindingHooks {
  /** The handshake was accepted (after the state changed to `connected`): send what waits. */
  opened(): void;
  /** The connection dropped (before the state machine hears of it). */
  connectionLost(): void;
  /** The state changed to a stopped status (idle, disconnected, unauthorized, forbidden). */
  stopped(state: ConnectionState): void;
  /** The server warned that the token expires: send `auth:refresh` with this fresh one. */
  refreshToken(token: string): Promise<unknown>;
  /** `session:restored` arrived. */
  restored(restored: RestoredSession): void;
  /** A server event changed the session. */
  sessionEvent(cause: SessionChangeCause, update: (s: ClientSession) => ClientSession): void;
  /** Another tab of the user joined (`room:joined`) or left (`room:left`) a room. */
  roomEvent(kind: 'joined' | 'left', result: RoomResult): void;
  /** Every event the socket receives (protocol events too), with its arguments after the name. */
  anyEvent(event: string, args: unknown[]): void;
  /** The stream positions to send in this attempt's handshake (`auth.positions`); undefined for none. */
  positions(): ReplayAuth['positions'];
}

/** The socket binding of one client (see the file comment). */
export interface SocketBinding {
  /** The connection state; a new object on every change. */
  readonly state: ConnectionState;
  /** True when a call can be sent now: the socket is connected and the machine says `connected`. */
  readonly ready: boolean;
  /** Feeds one event to the machine and carries out its effect. */
  dispatch(event: ConnectionEvent): void;
  /** A fresh attempt at once: the wait for the next attempt (if any) is cut short. */
  reconnect(): void;
  onStateChange(listener: (state: ConnectionState, previous: ConnectionState) => void): () => void;
  /** Emits a request with its ack callback on the current connection. */
  emit(event: string, payload: unknown, ack: (response: unknown) => void): void;
  /** Subscribes to any server event by name. Returns the unsubscribe function. */
  listen(event: string, handler: unknown): () => void;
}

/** Creates the socket (not connected) and binds it to a state machine starting at INITIAL_STATE. */
export function createSocketBinding(
  options: ClientOptions,
  deps: { policy: ConnectionPolicy; timers: SdkTimers; log: SdkLogger | undefined; hooks: BindingHooks },
): SocketBinding {
  const { policy, timers, log, hooks } = deps;
  let state: ConnectionState = INITIAL_STATE;
  let token: string | undefined;
  let everConnected = false;
  let retryTimer: unknown;
  /** Bumped by every connect and disconnect effect: a token fetch that returns late is dropped. */
  let attemptSeq = 0;
  /** What the server told us before it closed: a drain hint, or an error meant to be retried. */
  let drainHintMs: number | undefined;
  let serverError: WireError | undefined;
  const stateListeners = new Set<(s: ConnectionState, p: ConnectionState) => void>();

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
    // `positions`: where the client is in each message stream, read now, so the server replays exactly
    // what this attempt missed (the client sends `{}` while nothing is known; undefined leaves it out).
    auth: (cb: (data: object) => void) => {
      const positions = hooks.positions();
      cb({ token, retryableConnectErrors: true, ...(positions === undefined ? {} : { positions }) });
    },
  });
  const untyped = socket as unknown as { on(e: string, h: unknown): void; off(e: string, h: unknown): void };

  const clearRetryTimer = (): void => {
    if (retryTimer !== undefined) timers.clearTimeout(retryTimer);
    retryTimer = undefined;
  };

  const dispatch = (event: ConnectionEvent): void => {
    const previous = state;
    const result = step(state, event, policy);
    state = result.state;
    if (state !== previous) {
      log?.debug({ event: event.type, status: state.status, lastError: state.lastError }, 'connection state');
      for (const listener of [...stateListeners]) listener(state, previous);
      if (STOPPED_STATUSES.has(state.status)) hooks.stopped(state);
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
        clearRetryTimer();
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

  socket.on('connect', () => {
    everConnected = true;
    dispatch({ type: 'opened' });
    hooks.opened();
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
    hooks.connectionLost();
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
        return hooks.refreshToken(fresh);
      })
      .catch((err: unknown) => {
        // Not fatal: at expiry the server sends auth:expired and the reconnect fetches a token again.
        log?.warn({ err }, 'token refresh failed');
      });
  });
  socket.on('session:restored', (restored) => hooks.restored(restored));
  socket.on('room:joined', (result) => {
    hooks.sessionEvent('room:joined', (s) => withRooms(s, result.rooms));
    hooks.roomEvent('joined', result);
  });
  socket.on('room:left', (result) => {
    hooks.sessionEvent('room:left', (s) => withRooms(s, result.rooms));
    hooks.roomEvent('left', result);
  });
  // One catch-all for app events (socket.io-client calls it before the named listeners): each message is
  // judged once by its position, however many handlers the app has (app-events.ts).
  socket.onAny((event: string, ...args: unknown[]) => hooks.anyEvent(event, args));
  socket.on('queue:position', (place) =>
    hooks.sessionEvent('queue:position', (s) => withQueuePlace(s, place)),
  );
  socket.on('queue:admitted', (admitted) =>
    hooks.sessionEvent('queue:admitted', (s) => withAdmission(s, admitted)),
  );
  socket.on('seat:expired', ({ eventId, seatIds }) =>
    hooks.sessionEvent('seat:expired', (s) => withoutSeats(s, eventId, seatIds)),
  );

  return {
    get state() {
      return state;
    },
    get ready() {
      return socket.connected && state.status === 'connected';
    },
    dispatch,
    reconnect() {
      clearRetryTimer();
      dispatch({ type: 'reconnect' });
    },
    onStateChange(listener) {
      stateListeners.add(listener);
      return () => stateListeners.delete(listener);
    },
    emit(event, payload, ack) {
      (socket.emit.bind(socket) as unknown as (e: string, p: unknown, a: (r: unknown) => void) => void)(
        event,
        payload,
        ack,
      );
    },
    listen(event, handler) {
      untyped.on(event, handler);
      return () => untyped.off(event, handler);
    },
  };
}
