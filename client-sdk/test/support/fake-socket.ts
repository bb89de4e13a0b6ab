/**
 * Test doubles for the client shell: a fake socket.io-client socket the test drives from the "server"
 * side, and manual timers with a fake clock. No network, no real time.
 */
type Handler = (...args: unknown[]) => void;

const RESERVED: ReadonlySet<string> = new Set(['connect', 'connect_error', 'disconnect']);

export interface SentRequest {
  event: string;
  payload: Record<string, unknown>;
  ack: (response: unknown) => void;
}

/** A stand-in for socket.io-client's Socket: records what the client does, lets the test answer. */
export class FakeSocket {
  connected = false;
  connectCalls = 0;
  disconnectCalls = 0;
  readonly sent: SentRequest[] = [];
  readonly authSeen: unknown[] = [];
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly anyHandlers = new Set<Handler>();

  constructor(readonly options: Record<string, unknown>) {}

  on(event: string, handler: Handler): this {
    let set = this.handlers.get(event);
    if (set === undefined) this.handlers.set(event, (set = new Set()));
    set.add(handler);
    return this;
  }
  off(event: string, handler: Handler): this {
    this.handlers.get(event)?.delete(handler);
    return this;
  }
  /** socket.io-client's catch-all: every event the server sends, before the named listeners. */
  onAny(handler: Handler): this {
    this.anyHandlers.add(handler);
    return this;
  }
  offAny(handler: Handler): this {
    this.anyHandlers.delete(handler);
    return this;
  }
  emit(event: string, payload: Record<string, unknown>, ack: (response: unknown) => void): this {
    if (!this.connected) throw new Error(`emit(${event}) while not connected: the client must hold calls`);
    this.sent.push({ event, payload, ack });
    return this;
  }
  connect(): this {
    this.connectCalls++;
    const auth = this.options['auth'] as (cb: (data: unknown) => void) => void;
    auth((data) => this.authSeen.push(data));
    return this;
  }
  disconnect(): this {
    this.disconnectCalls++;
    if (this.connected) {
      this.connected = false;
      this.fire('disconnect', 'io client disconnect');
    }
    return this;
  }

  // --- the server side ---
  fire(event: string, ...args: unknown[]): void {
    // socket.io-client emits its reserved events (connect, connect_error, disconnect) past onAny.
    if (!RESERVED.has(event)) for (const handler of [...this.anyHandlers]) handler(event, ...args);
    for (const handler of [...(this.handlers.get(event) ?? [])]) handler(...args);
  }
  accept(): void {
    this.connected = true;
    this.fire('connect');
  }
  refuse(data?: Record<string, unknown>): void {
    const code = data?.['code'];
    const message = typeof code === 'string' ? code : 'xhr poll error';
    this.fire('connect_error', Object.assign(new Error(message), { data }));
  }
  drop(reason = 'transport close'): void {
    this.connected = false;
    this.fire('disconnect', reason);
  }
  listenerCount(event: string): number {
    return this.handlers.get(event)?.size ?? 0;
  }
}

/** Timers driven by `advance(ms)`, and the clock they share. */
export class ManualTimers {
  nowMs = 1_000_000;
  private seq = 0;
  private readonly queue = new Map<number, { at: number; fn: () => void }>();

  readonly now = (): number => this.nowMs;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.seq;
    this.queue.set(id, { at: this.nowMs + ms, fn });
    return id;
  };
  clearTimeout = (handle: unknown): void => {
    this.queue.delete(handle as number);
  };
  /** Moves the clock forward, running every timer that comes due, in order. */
  advance(ms: number): void {
    const until = this.nowMs + ms;
    for (;;) {
      const due = [...this.queue.entries()]
        .filter(([, t]) => t.at <= until)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.queue.delete(due[0]);
      this.nowMs = due[1].at;
      due[1].fn();
    }
    this.nowMs = until;
  }
  get pending(): number {
    return this.queue.size;
  }
}

/** Lets pending promise callbacks run (getToken is async). */
export const flushPromises = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};
