/**
 * The baseline of the connect benchmark: a plain socket.io server with the Redis adapter, no auth and no
 * session, that emits `session:restored` on connection so the same client measures the same moment.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 node --import tsx gateway/bench/plain-server.ts   (prints {"port":N})
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const url = process.env['REDIS_URL'];
const pub = url ? new Redis(url) : undefined;
const sub = pub?.duplicate();
const httpServer = createServer();
const io = new Server(httpServer, {
  serveClient: false,
  ...(pub && sub ? { adapter: createAdapter(pub, sub) } : {}),
});
io.on('connection', (socket) => {
  socket.emit('session:restored', { recovered: false, rooms: [] });
});
httpServer.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: (httpServer.address() as AddressInfo).port }));
});
process.on('SIGTERM', () => process.exit(0));
