/**
 * Engine.IO connections of this node that have not completed the Socket.IO CONNECT (no token yet, one
 * still being checked, or one refused): counted for MAX_PENDING_HANDSHAKES, and each closed at
 * CONNECT_TIMEOUT_MS.
 *
 * socket.io's own `connectTimeout` is not used for this: it closes politely, and a long-polling connection
 * with no GET waiting then stays "closing" for engine.io's 30 s close timeout (polling `doClose`), still
 * holding its slot; and once a transport is closing, a second close cannot hurry it. The close here
 * discards the transport, so the connection is gone at once. socket.io's timeout must therefore be later.
 */

/** The part of an Engine.IO connection (engine.io `Socket`) this needs. */
export interface ClosableConnection {
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
  close(discard?: boolean): unknown;
}

export class PendingHandshakes {
  private readonly timers = new Map<ClosableConnection, NodeJS.Timeout>();
  /** One close listener for every connection (`this` is the connection), removed once it settles. */
  private readonly onClose: (this: ClosableConnection) => void;

  /**
   * @param timeoutMs CONNECT_TIMEOUT_MS: how long a connection may stay pending.
   * @param onChange called with the new count whenever it changes (the gauge).
   */
  constructor(
    private readonly timeoutMs: number,
    private readonly onChange: (pending: number) => void,
  ) {
    const settle = (conn: ClosableConnection): void => this.settle(conn);
    this.onClose = function (this: ClosableConnection) {
      settle(this);
    };
  }

  /** How many connections are pending now. */
  get size(): number {
    return this.timers.size;
  }

  /** Tracks a new engine connection until it completes CONNECT, closes, or times out. */
  add(conn: ClosableConnection): void {
    const timer = setTimeout(() => {
      if (this.timers.has(conn)) conn.close(true);
    }, this.timeoutMs);
    timer.unref();
    this.timers.set(conn, timer);
    conn.once('close', this.onClose);
    this.onChange(this.timers.size);
  }

  /**
   * The connection completed CONNECT (or closed): it no longer counts, and its timer and close listener
   * are gone (nothing of this stays with a connected socket).
   */
  settle(conn: ClosableConnection): void {
    const timer = this.timers.get(conn);
    if (timer === undefined) return;
    clearTimeout(timer);
    conn.off('close', this.onClose);
    this.timers.delete(conn);
    this.onChange(this.timers.size);
  }
}
