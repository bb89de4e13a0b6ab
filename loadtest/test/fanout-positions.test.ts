/**
 * The fan-out tallies by message position: duplicates by sequence number, reordering and gaps by the
 * trailing position (offsets and epochs), and the lean client's history wire: it hands the trailing
 * arguments to its caller and sends the positions it is given as `auth.positions` (checked against a
 * plain socket.io server that records handshakes and emits positioned messages).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessagePosition, StreamName } from '@stayline/client-sdk/protocol';
import { LeanClient } from '../src/lean-client.ts';
import { FanoutSeen, fanoutTally, onFanout, onFanoutGap } from '../src/workers/worker-io.ts';

const at = (stream: StreamName, offset: number, epoch = 'e1'): MessagePosition => ({ stream, epoch, offset });
const msg = (room: string, seq: number) => ({ seq, sentAt: Date.now(), room, phase: 'steady', size: 10 });

describe('fan-out tallies', () => {
  it('counts duplicates by sequence number, reordering by position, and gaps per room', () => {
    const alice = new FanoutSeen();
    const bob = new FanoutSeen();
    onFanout(msg('fanout-10', 1), alice, at('room:fanout-10', 1));
    onFanout(msg('fanout-10', 3), alice, at('room:fanout-10', 3));
    onFanout(msg('fanout-10', 2), alice, at('room:fanout-10', 2)); // after 3: reordered
    onFanout(msg('fanout-10', 3), alice, at('room:fanout-10', 3)); // again: a duplicate
    onFanout(msg('fanout-10', 4), alice, at('room:fanout-10', 1, 'e2')); // a new epoch starts low: in order
    // Bob is another user: his first message is no duplicate of Alice's, and no reorder.
    onFanout(msg('fanout-10', 1), bob, at('room:fanout-10', 1));
    onFanout(msg('fanout-10', 5), bob, undefined); // no position: counted, never reordered
    onFanoutGap('fanout-10');
    onFanoutGap('another-room');
    onFanoutGap(undefined);
    expect(fanoutTally().rooms['fanout-10']).toEqual({
      unique: 6,
      duplicates: 1,
      reordered: 1,
      positioned: 5,
      gapEvents: 1,
    });
    expect(fanoutTally().rooms['another-room']).toBeUndefined();
    // Per sequence number, how many users received it (duplicates not counted again): the coordinator
    // counts a publish whose answer was lost as published when anyone received it.
    expect(new Map(fanoutTally().receivers['fanout-10'])).toEqual(
      new Map([
        [1, 2],
        [2, 1],
        [3, 1],
        [4, 1],
        [5, 1],
      ]),
    );
  });
});

describe('lean client and message history', () => {
  let http: ReturnType<typeof createServer>;
  let io: Server;
  let url: string;
  const auths: unknown[] = [];

  beforeAll(async () => {
    http = createServer();
    io = new Server(http, { transports: ['websocket'] });
    io.on('connection', (socket) => {
      auths.push(socket.handshake.auth);
      socket.emit('session:restored', {
        recovered: false,
        rooms: [],
        gaps: [],
        gapReasons: {},
        positions: {},
      });
      socket.emit('news', { n: 1 }, at('room:a', 7));
      socket.emit('news', { n: 2 });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await io.close();
  });

  it('passes the arguments after the data, and sends positions in the handshake only when it has some', async () => {
    const events: unknown[][] = [];
    const withPositions = new LeanClient({
      url,
      token: 't',
      retryableConnectErrors: true,
      positions: { 'room:a': { epoch: 'e1', offset: 6 } },
      onEvent: (event, data, rest) => {
        if (event === 'news') events.push([data, ...rest]);
      },
    });
    await withPositions.connect(5_000);
    const stock = new LeanClient({ url, token: 't', positions: {} });
    await stock.connect(5_000);
    await expect.poll(() => events.length, { timeout: 5_000 }).toBe(2);
    withPositions.close();
    stock.close();
    expect(events).toEqual([[{ n: 1 }, at('room:a', 7)], [{ n: 2 }]]);
    expect(auths).toEqual([
      { token: 't', retryableConnectErrors: true, positions: { 'room:a': { epoch: 'e1', offset: 6 } } },
      { token: 't' },
    ]);
  });
});
