/**
 * Bounds the Socket.IO CONNECTs of one Engine.IO connection. socket.io runs the handshake middlewares for
 * every CONNECT packet that arrives before one has succeeded, so one connection can ask for any number of
 * token checks and store attaches at once, and spend the node's whole handshake admission budget: 3,000
 * CONNECTs with one valid token in one WebSocket burst attached 11 sockets of that user on the one
 * connection and were refused 246 times RATE_LIMITED. socket.io-client sends one CONNECT per connection
 * (after a refusal it closes the connection and opens a new one), so here:
 * - a CONNECT while another of the same connection is still being checked closes the connection;
 * - so does a CONNECT beyond the `maxAttempts`-th on one connection (refused ones count: a token-less
 *   client would otherwise be answered CONNECT_ERROR once per packet, as long as it likes).
 */

/** The part of an Engine.IO connection (engine.io `Socket`) the guard needs. */
export interface GuardedConnection {
  readonly readyState: string;
  close(discard?: boolean): unknown;
}

type Next = (err?: Error) => void;

/** Why a CONNECT closed its connection (a bounded set: metrics label and log key). */
export type ConnectRefusal = 'CONNECT_CONCURRENT' | 'CONNECT_ATTEMPTS';

/**
 * Wraps the handshake middleware (socket.io `io.use`): it runs at most once at a time per connection, and
 * at most `maxAttempts` times in all. `onRefused` is called once per connection closed.
 */
export function oneConnectAtATime<S extends { readonly conn: GuardedConnection }>(
  handshake: (socket: S, next: Next) => void,
  options: { maxAttempts: number; onRefused: (socket: S, reason: ConnectRefusal) => void },
): (socket: S, next: Next) => void {
  const checking = new WeakSet<GuardedConnection>();
  const attempts = new WeakMap<GuardedConnection, number>();
  return (socket, next) => {
    const conn = socket.conn;
    const attempt = (attempts.get(conn) ?? 0) + 1;
    attempts.set(conn, attempt);
    const refusal: ConnectRefusal | undefined = checking.has(conn)
      ? 'CONNECT_CONCURRENT'
      : attempt > options.maxAttempts
        ? 'CONNECT_ATTEMPTS'
        : undefined;
    if (refusal !== undefined) {
      // CONNECTs already decoded behind the one that closed the connection find it closed: counted once.
      if (conn.readyState === 'open') {
        options.onRefused(socket, refusal);
        // Discard: gone at once, even a long-polling connection with no GET waiting for the close packet.
        conn.close(true);
      }
      // socket.io drops a socket whose connection closed while its middlewares ran (no CONNECT_ERROR).
      next(new Error(refusal));
      return;
    }
    checking.add(conn);
    handshake(socket, (err) => {
      checking.delete(conn);
      next(err);
    });
  };
}
