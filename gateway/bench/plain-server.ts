/**
 * The baseline of the connect benchmark, of the stock storm and of the fanout comparison: a plain socket.io
 * server with the Redis adapter and no session, that emits `session:restored` on connection so the same
 * client measures the same moment. No auth, unless JWT_SECRET is set: then the hand-rolled check of a stock
 * setup, `jwt.verify` in `io.use` (HS256, the key as a KeyObject, refusals as connect_error).
 * For fanout, what a stock app writes: `room:join` `{ room }` joins the socket.io room (acked in the
 * gateway's shape), and `POST /v1/publish` `{ room, event, data }` is `io.to(room).emit(event, data)` on
 * every node through the adapter (202). The bearer token is not checked (a string compare at most).
 * For the seat-hold comparison (queue-seats.ts), what a hand-rolled stock app writes: `seat:hold`
 * `{ eventId, seatIds: [seat] }` is one `SET seat NX PX` (acked `{ ok }`), `seat:release` one `DEL` (no owner
 * check: the bench releases only what it won); the holder is the socket id (no auth per request, no
 * validation, no request record, no seat map, no followers). The cheapest hold a stock app could write.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 [JWT_SECRET=...] node --import tsx gateway/bench/plain-server.ts
 *   (prints {"port":N})
 */
import { createSecretKey } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import jwt from 'jsonwebtoken';
import { Server } from 'socket.io';

const url = process.env['REDIS_URL'];
const pub = url ? new Redis(url) : undefined;
const sub = pub?.duplicate();
/** `POST /v1/publish`: the body (bounded) as JSON, then the adapter's room broadcast. */
const httpServer = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/v1/publish') {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= 256 * 1024) chunks.push(chunk);
  });
  req.on('end', () => {
    let body: { room?: unknown; event?: unknown; data?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (size > 256 * 1024 || typeof body.room !== 'string' || typeof body.event !== 'string') {
      res.writeHead(400).end();
      return;
    }
    io.to(body.room).emit(body.event, body.data);
    res.writeHead(202, { 'content-type': 'application/json' }).end('{"ok":true,"data":{"accepted":true}}');
  });
});
const io = new Server(httpServer, {
  serveClient: false,
  ...(pub && sub ? { adapter: createAdapter(pub, sub) } : {}),
});
const secret = process.env['JWT_SECRET'];
if (secret !== undefined) {
  const key = createSecretKey(Buffer.from(secret));
  io.use((socket, next) => {
    try {
      const token = (socket.handshake.auth as { token?: unknown }).token;
      jwt.verify(typeof token === 'string' ? token : '', key, { algorithms: ['HS256'] });
      next();
    } catch {
      next(new Error('AUTH_INVALID'));
    }
  });
}
io.on('connection', (socket) => {
  socket.emit('session:restored', { recovered: false, rooms: [] });
  socket.on('room:join', (payload: unknown, ack: unknown) => {
    const room = (payload as { room?: unknown } | null)?.room;
    if (typeof room !== 'string' || typeof ack !== 'function') return;
    void socket.join(room);
    (ack as (a: unknown) => void)({ ok: true, data: { room, rooms: [...socket.rooms].slice(1) } });
  });
  if (pub === undefined) return;
  const seatKey = (payload: unknown): string | undefined => {
    const p = payload as { eventId?: unknown; seatIds?: unknown } | null;
    const seat = Array.isArray(p?.seatIds) ? (p.seatIds[0] as unknown) : undefined;
    return typeof p?.eventId === 'string' && typeof seat === 'string'
      ? `plain:${p.eventId}:${seat}`
      : undefined;
  };
  socket.on('seat:hold', (payload: unknown, ack: unknown) => {
    const key = seatKey(payload);
    if (key === undefined || typeof ack !== 'function') return;
    pub.set(key, socket.id, 'PX', 300_000, 'NX').then(
      (got) => (ack as (a: unknown) => void)({ ok: got === 'OK' }),
      () => (ack as (a: unknown) => void)({ ok: false }),
    );
  });
  socket.on('seat:release', (payload: unknown, ack: unknown) => {
    const key = seatKey(payload);
    if (key === undefined || typeof ack !== 'function') return;
    pub.del(key).then(
      () => (ack as (a: unknown) => void)({ ok: true }),
      () => (ack as (a: unknown) => void)({ ok: false }),
    );
  });
});
httpServer.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: (httpServer.address() as AddressInfo).port }));
});
process.on('SIGTERM', () => process.exit(0));
