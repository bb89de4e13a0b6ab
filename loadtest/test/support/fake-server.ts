/**
 * A small stand-in for a Stayline node, for proving that `storm` catches a broken restore: it speaks the
 * protocol (session:restored, room:join acks), trusts any token's `sub` without checking it, and — when
 * `forgetRooms` is set — answers every reconnect with `rooms: []`, the bug a restore check must catch.
 * Production code has no such switch; this server exists only in the tests.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';

export interface FakeServer {
  url: string;
  close(): Promise<void>;
}

const subOf = (token: unknown): string => {
  const part = typeof token === 'string' ? token.split('.')[1] : undefined;
  return part === undefined
    ? 'anonymous'
    : String((JSON.parse(Buffer.from(part, 'base64url').toString()) as { sub?: unknown }).sub);
};

export async function startFakeServer(options: { forgetRooms: boolean }): Promise<FakeServer> {
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'] });
  const rooms = new Map<string, Set<string>>();
  io.on('connection', (socket) => {
    const user = subOf((socket.handshake.auth as { token?: unknown }).token);
    const recovered = rooms.has(user);
    if (!recovered) rooms.set(user, new Set());
    const mine = rooms.get(user) ?? new Set<string>();
    socket.emit('session:restored', {
      recovered,
      rooms: options.forgetRooms ? [] : [...mine],
      expiresAt: Date.now() + 3_600_000,
      queues: [],
      holds: [],
    });
    socket.onAny((event: string, ...args: unknown[]) => {
      const ack = args[args.length - 1];
      if (typeof ack !== 'function') return;
      const payload = args[0] as { room?: string };
      if (event === 'room:join' && typeof payload.room === 'string') {
        mine.add(payload.room);
        (ack as (r: unknown) => void)({ ok: true, data: { room: payload.room, rooms: [...mine] } });
      } else {
        (ack as (r: unknown) => void)({
          ok: false,
          error: { code: 'UNKNOWN_EVENT', message: 'not here', retryable: false },
        });
      }
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => void io.close(() => resolve())),
  };
}
