/**
 * The baseline of the connect benchmark and of the stock storm: a plain socket.io server with the Redis
 * adapter and no session, that emits `session:restored` on connection so the same client measures the same
 * moment. No auth, unless JWT_SECRET is set: then the hand-rolled check of a stock setup, `jwt.verify` in
 * `io.use` (HS256, the key as a KeyObject, refusals as connect_error).
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
const httpServer = createServer();
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
});
httpServer.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: (httpServer.address() as AddressInfo).port }));
});
process.on('SIGTERM', () => process.exit(0));
