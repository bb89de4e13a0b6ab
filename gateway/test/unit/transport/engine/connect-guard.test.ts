import { describe, expect, it } from 'vitest';
import { oneConnectAtATime, type ConnectRefusal } from '../../../../src/transport/engine/connect-guard.ts';

/** A fake engine connection and a handshake whose outcome the test settles by hand. */
function setup(maxAttempts = 5) {
  const conn = {
    readyState: 'open',
    closes: 0,
    close() {
      this.closes += 1;
      this.readyState = 'closed';
    },
  };
  const socket = { conn };
  const inFlight: Array<(err?: Error) => void> = [];
  const refused: ConnectRefusal[] = [];
  const outcomes: Array<Error | undefined> = [];
  const guarded = oneConnectAtATime<typeof socket>((_s, next) => void inFlight.push(next), {
    maxAttempts,
    onRefused: (_s, reason) => refused.push(reason),
  });
  const connect = (): void => guarded(socket, (err) => outcomes.push(err));
  return { conn, connect, inFlight, refused, outcomes };
}

describe('oneConnectAtATime', () => {
  it('runs the handshake for one CONNECT and closes the connection on a second one while it runs', () => {
    const g = setup();
    g.connect();
    expect(g.inFlight).toHaveLength(1);
    g.connect();
    g.connect(); // already closed: refused again, counted once
    expect(g.inFlight).toHaveLength(1);
    expect(g.refused).toEqual(['CONNECT_CONCURRENT']);
    expect(g.conn.closes).toBe(1);
    expect(g.outcomes.map((e) => e?.message)).toEqual(['CONNECT_CONCURRENT', 'CONNECT_CONCURRENT']);
  });

  it('lets a CONNECT follow a refused one, up to the attempt limit', () => {
    const g = setup(3);
    for (let i = 0; i < 3; i++) {
      g.connect();
      g.inFlight.shift()?.(new Error('AUTH_INVALID'));
    }
    expect(g.refused).toEqual([]);
    expect(g.conn.readyState).toBe('open');
    g.connect();
    expect(g.inFlight).toHaveLength(0);
    expect(g.refused).toEqual(['CONNECT_ATTEMPTS']);
    expect(g.conn.closes).toBe(1);
  });

  it('passes the handshake outcome through', () => {
    const g = setup();
    g.connect();
    g.inFlight.shift()?.();
    expect(g.outcomes).toEqual([undefined]);
  });
});
