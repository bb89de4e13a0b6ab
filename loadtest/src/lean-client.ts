/**
 * A lean Stayline client that speaks the Engine.IO v4 / Socket.IO v5 wire directly over `ws`: websocket
 * transport only, text packets only, the default namespace only. It costs a fraction of socket.io-client's
 * CPU per connect (measured beside us: 0.24-0.30 ms vs 0.85-3.5 ms), so one 2-core machine can drive a
 * gateway instead of being the bottleneck. It answers pings, sends acknowledged requests, and reports the
 * moment `session:restored` arrives. Like socket.io-client it watches the heartbeat: no ping within
 * pingInterval + pingTimeout (from the server's open packet) closes the connection as "ping timeout".
 * `drop()` resets the TCP connection (RST, no close handshake) and `blackhole()` stops reading and
 * answering, so only heartbeats on either side can notice. It reconnects never by itself: what to do after
 * an attempt or a connection ends is the caller's policy (src/client-policy.ts), told apart by
 * `engineOpened` and `endReason`.
 */
import type { Socket } from 'node:net';
import WebSocket from 'ws';

/** Engine.IO packet types (first character of a text frame). */
const EIO_OPEN = '0';
const EIO_PING = '2';
const EIO_PONG = '3';
const EIO_MESSAGE = '4';
/** Socket.IO packet types (second character, after the Engine.IO "message" type). */
const SIO_CONNECT = '0';
const SIO_DISCONNECT = '1';
const SIO_EVENT = '2';
const SIO_ACK = '3';
const SIO_CONNECT_ERROR = '4';

export interface LeanClientOptions {
  /** Base URL, e.g. http://127.0.0.1:3000 */
  url: string;
  token?: string;
  /**
   * Send `retryableConnectErrors: true` next to the token in the handshake auth payload, as the SDK does: the
   * server may then answer retryable refusals with `connect_error` (which a stock socket.io-client would
   * never recover from). Default false: the auth payload is `{ token }`, as a stock client sends it.
   */
  retryableConnectErrors?: boolean;
  /**
   * Where the client is in each message stream, sent as `auth.positions` so the gateway replays what this
   * user missed (as the SDK does; docs/protocol.md). Default none, as a stock client sends.
   */
  positions?: Partial<Record<string, { epoch: string; offset: number }>>;
  /**
   * Let the connect timeout cover only the engine open, as socket.io-client's `timeout` does (cleared when
   * the engine opens; then it waits for the server, whose `connectTimeout` closes an idle transport).
   * Default false: the timeout runs until `session:restored`.
   */
  openTimeoutOnly?: boolean;
  /** Source address to bind (127.0.0.x), to spread connections over more ephemeral port ranges. */
  localAddress?: string;
  /** Called with every ack the server sends (ack id, value), also for ids nobody waits for (see `emit`). */
  onAck?: (id: number, value: unknown) => void;
  /**
   * Called for every server event (name, first argument, the arguments after it: a message with history
   * ends with its position), or only for those in `events`.
   */
  onEvent?: (event: string, data: unknown, rest: unknown[]) => void;
  /**
   * The server events `onEvent` wants; the others are not even parsed (a tester with thousands of clients
   * watching a seat map would spend its CPU decoding updates it ignores). Default: all of them.
   */
  events?: ReadonlySet<string>;
  /**
   * Called once when the connection ends, for whatever reason: `dropped`/`closed` when this side did it,
   * `ping timeout` from the heartbeat watchdog, `io server disconnect` when the server sent a Socket.IO
   * DISCONNECT, `transport close` when the server or the network closed the transport.
   */
  onClose?: (reason: string) => void;
}

export interface ConnectOutcome {
  /** Milliseconds from opening the TCP connection to `session:restored` (or to the refusal). */
  ms: number;
  /**
   * Milliseconds from opening the TCP connection to the server's Engine.IO open packet: the node accepted
   * the connection, read the upgrade and answered. In a herd, the part of `ms` spent waiting for the node
   * to take the connection at all (its accept queue), apart from the Socket.IO CONNECT and the restore.
   */
  openMs?: number;
  /** The session:restored payload, or undefined when refused. */
  session?: unknown;
  /** The connect_error data, when refused. */
  error?: { code?: string; message?: string; retryable?: boolean; retryAfterMs?: number };
}

export class LeanClient {
  private ws: WebSocket | undefined;
  private nextAckId = 0;
  private readonly pendingAcks = new Map<number, (value: unknown) => void>();
  private closeReason: string | undefined;
  private silent = false;
  private watchdog: NodeJS.Timeout | undefined;
  private heartbeatMs = 0;
  private opened = false;
  private ended: string | undefined;

  constructor(private readonly options: LeanClientOptions) {}

  /**
   * Opens the connection and resolves at `session:restored` or `connect_error`; rejects when the attempt
   * fails otherwise (engine open failed, transport closed first, timeout): `engineOpened` tells which.
   */
  connect(timeoutMs = 30_000): Promise<ConnectOutcome> {
    const started = performance.now();
    let openMs: number | undefined;
    const wsUrl = `${this.options.url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
    const ws = new WebSocket(wsUrl, {
      perMessageDeflate: false,
      ...(this.options.localAddress === undefined ? {} : { localAddress: this.options.localAddress }),
    });
    this.ws = ws;
    return new Promise<ConnectOutcome>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(
        () => finish(new Error(`no session:restored within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const finish = (outcome: ConnectOutcome | Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (outcome instanceof Error) {
          ws.terminate();
          reject(outcome);
        } else resolve(openMs === undefined ? outcome : { ...outcome, openMs });
      };
      ws.on('message', (raw: WebSocket.RawData) => {
        const frame = Buffer.isBuffer(raw)
          ? raw.toString()
          : Buffer.concat(Array.isArray(raw) ? raw : [Buffer.from(raw)]).toString();
        const type = frame[0];
        if (this.silent) return;
        if (type === EIO_PING) {
          this.armWatchdog();
          return ws.send(EIO_PONG);
        }
        if (type === EIO_OPEN) {
          openMs = performance.now() - started;
          const open = JSON.parse(frame.slice(1)) as { pingInterval?: number; pingTimeout?: number };
          this.heartbeatMs = (open.pingInterval ?? 25_000) + (open.pingTimeout ?? 20_000);
          this.opened = true;
          if (this.options.openTimeoutOnly === true) clearTimeout(timer);
          this.armWatchdog();
          return ws.send(`${EIO_MESSAGE}${SIO_CONNECT}${this.authPayload()}`);
        }
        if (type !== EIO_MESSAGE) return;
        const sioType = frame[1];
        if (sioType === SIO_DISCONNECT) {
          // "io server disconnect": socket.io-client destroys the socket and does not reconnect.
          this.closeReason ??= 'io server disconnect';
          ws.close();
          return;
        }
        if (sioType === SIO_CONNECT_ERROR) {
          const payload = JSON.parse(frame.slice(2)) as { data?: ConnectOutcome['error'] };
          finish({ ms: performance.now() - started, error: payload.data ?? {} });
          ws.close();
          return;
        }
        if (sioType === SIO_EVENT) {
          const wanted = this.options.events;
          if (wanted !== undefined && frame.startsWith('["', 2)) {
            // Server events carry no ack id: the name is the first JSON string, with no escapes in it.
            const name = frame.slice(4, frame.indexOf('"', 4));
            if (name !== 'session:restored' && !wanted.has(name)) return;
          }
          const [event, data, ...rest] = JSON.parse(frame.slice(2)) as [string, unknown, ...unknown[]];
          if (event === 'session:restored') finish({ ms: performance.now() - started, session: data });
          this.options.onEvent?.(event, data, rest);
          return;
        }
        if (sioType === SIO_ACK) {
          const match = /^(\d+)(.*)$/s.exec(frame.slice(2));
          if (!match) return;
          const id = Number(match[1]);
          const [value] = JSON.parse(match[2] ?? '[]') as [unknown];
          this.options.onAck?.(id, value);
          this.pendingAcks.get(id)?.(value);
          this.pendingAcks.delete(id);
        }
        // SIO_CONNECT ("40{sid}") needs no answer: session:restored follows it.
      });
      ws.on('error', (err) => finish(err));
      ws.on('close', (code) => {
        clearTimeout(this.watchdog);
        this.ended = this.closeReason ?? 'transport close';
        for (const settle of this.pendingAcks.values()) settle(undefined);
        this.pendingAcks.clear();
        finish(new Error(`closed (${code}, ${this.ended}) before session:restored`));
        this.options.onClose?.(this.ended);
      });
    });
  }

  /** Sends an acknowledged request and resolves with the ack. */
  request(event: string, payload: unknown, timeoutMs = 10_000): Promise<unknown> {
    return this.requestEncoded(JSON.stringify([event, payload]), timeoutMs, event);
  }

  /**
   * `request` with the `[event, payload]` JSON already encoded: a load that repeats one large payload
   * encodes it once. `label` names the request in a timeout error.
   */
  requestEncoded(args: string, timeoutMs = 10_000, label = 'request'): Promise<unknown> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error('not connected'));
    const id = this.nextAckId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingAcks.delete(id);
        reject(new Error(`no ack for ${label} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pendingAcks.set(id, (value) => {
        clearTimeout(timer);
        resolve(value);
      });
      ws.send(`${EIO_MESSAGE}${SIO_EVENT}${id}${args}`);
    });
  }

  /**
   * Sends a request with an ack id and waits for nothing: the ack, if any, reaches `onAck` only (a flood
   * must not grow a map of callbacks the server may never answer). Returns false when not connected.
   */
  emit(event: string, payload: unknown): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(`${EIO_MESSAGE}${SIO_EVENT}${this.nextAckId++}${JSON.stringify([event, payload])}`);
    return true;
  }

  /** Bytes queued on the WebSocket and not yet handed to the kernel (a flood paces itself on this). */
  get bufferedAmount(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  /** True once the server's Engine.IO open packet arrived on this connection. */
  get engineOpened(): boolean {
    return this.opened;
  }

  /** Why the connection ended (as given to `onClose`), once it has; undefined while open. */
  get endReason(): string | undefined {
    return this.ended;
  }

  /** Closes politely (a leave). */
  close(): void {
    this.closeReason ??= 'closed';
    this.ws?.close();
  }

  /** Drops the TCP connection abruptly: a RST, no WebSocket or TCP close handshake. */
  drop(): void {
    this.closeReason ??= 'dropped';
    const socket = this.rawSocket();
    if (socket && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    this.ws?.terminate();
  }

  /**
   * A network black hole: stop reading and stop answering. Nothing is closed; the server notices when its
   * pings go unanswered, this client when the server's pings stop arriving (the watchdog).
   */
  blackhole(): void {
    this.silent = true;
    this.rawSocket()?.pause();
  }

  /** True while the WebSocket is open. */
  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  private authPayload(): string {
    if (this.options.token === undefined) return '';
    const positions = this.options.positions;
    return JSON.stringify({
      token: this.options.token,
      ...(this.options.retryableConnectErrors === true ? { retryableConnectErrors: true } : {}),
      ...(positions === undefined || Object.keys(positions).length === 0 ? {} : { positions }),
    });
  }

  private rawSocket(): Socket | undefined {
    // `ws` keeps the net.Socket private; there is no public handle to reset or pause it.
    return (this.ws as unknown as { _socket?: Socket } | undefined)?._socket;
  }

  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    if (this.heartbeatMs <= 0) return;
    this.watchdog = setTimeout(() => {
      this.closeReason ??= 'ping timeout';
      this.ws?.terminate();
    }, this.heartbeatMs);
  }
}
