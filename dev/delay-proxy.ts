/**
 * A TCP proxy on loopback that stands in front of a Redis primary and delays its replication stream: bytes
 * from the primary to a connection that has spoken the replication handshake (REPLCONF, PSYNC or SYNC) reach
 * that replica `delayMs` late, in order; every other connection (sentinels, gateways, tests) passes through
 * untouched. The replica and the sentinels know the primary by the proxy's address, so Sentinel sees one
 * consistent address and never "fixes" the replica to bypass it (it would, after `failover-timeout`, if the
 * replica replicated from another address than the one monitored).
 *
 * A crash is modelled as one: when the primary's side of a connection closes (SIGKILL), the bytes still
 * waiting in the proxy are dropped and the replica's connection is reset, as a crashed host loses what it
 * had not delivered yet. That is what makes a write the primary acknowledged but the replica never got
 * vanish in a failover (issue 16).
 */
import { createServer, createConnection, type Server, type Socket } from 'node:net';

/** A running proxy started by startDelayProxy. */
export interface DelayProxy {
  /** The loopback port the proxy listens on: give this as the primary's address. */
  readonly port: number;
  /** Connections currently identified as replication links. */
  replicationLinks(): number;
  /** Stops listening and destroys every connection. Idempotent. */
  close(): Promise<void>;
}

/** Options of startDelayProxy. */
export interface DelayProxyOptions {
  /** The real server's port on 127.0.0.1. */
  targetPort: number;
  /** How late the primary's bytes reach a replica, ms. Default 150. */
  delayMs?: number;
  /** Port to listen on (127.0.0.1). Default 0: any free port. */
  port?: number;
}

/**
 * A command only a replica sends to its primary, as a command name (RESP bulk string or inline), so that a
 * key or a script that merely contains "sync" does not count.
 */
const REPLICATION_COMMAND = /(^|\n|\$\d+\r\n)(REPLCONF|PSYNC|SYNC)(\r|\s)/i;
/**
 * How much of a connection's first client bytes are searched: a replica says REPLCONF right after its
 * PING (and AUTH), within its first few dozen bytes.
 */
const SNIFF_BYTES = 512;

/**
 * Starts the proxy; resolves once it listens. Every socket it opens or accepts is its own and is destroyed
 * by close().
 */
export async function startDelayProxy(options: DelayProxyOptions): Promise<DelayProxy> {
  const delayMs = options.delayMs ?? 150;
  const sockets = new Set<Socket>();
  let replicas = 0;
  const track = (socket: Socket): Socket => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    return socket;
  };
  const server: Server = createServer((client) => {
    track(client);
    const upstream = track(createConnection({ host: '127.0.0.1', port: options.targetPort }));
    let replication = false;
    let sniffed = '';
    // Bytes from the primary waiting for their time, in arrival order.
    const pending: { due: number; chunk: Buffer }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const pump = (): void => {
      timer = undefined;
      const now = Date.now();
      while (pending.length > 0 && pending[0]!.due <= now) client.write(pending.shift()!.chunk);
      if (pending.length > 0) timer = setTimeout(pump, pending[0]!.due - now);
    };
    client.on('data', (chunk: Buffer) => {
      if (!replication && sniffed.length < SNIFF_BYTES) {
        sniffed = (sniffed + chunk.toString('latin1')).slice(0, SNIFF_BYTES);
        if (REPLICATION_COMMAND.test(sniffed)) {
          replication = true;
          replicas += 1;
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!replication) {
        client.write(chunk);
        return;
      }
      pending.push({ due: Date.now() + delayMs, chunk });
      timer ??= setTimeout(pump, delayMs);
    });
    // The primary gone (a crash): what it had sent but the replica had not received yet is lost.
    upstream.once('close', () => {
      if (timer !== undefined) clearTimeout(timer);
      pending.length = 0;
      if (!client.destroyed) client.resetAndDestroy();
    });
    client.once('close', () => {
      if (replication) replicas -= 1;
      upstream.destroy();
    });
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('delay proxy: no port');
  let closed: Promise<void> | undefined;
  return {
    port: address.port,
    replicationLinks: () => replicas,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closed;
    },
  };
}
