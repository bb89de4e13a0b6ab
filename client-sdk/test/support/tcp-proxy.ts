/**
 * A tiny TCP proxy standing in for the load balancer (the real HAProxy setup comes later): each incoming
 * connection goes to the first upstream port that accepts it, so when the node a client is on dies, its
 * reconnect lands on the next live node. Tests can also cut every connection, hold replies (an ack that
 * never arrives), or refuse new connections (a network that is down).
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Upstream ports, tried in order for every new connection. */
  upstreams: number[];
  /** The upstream port each accepted connection went to, in order. */
  readonly routed: number[];
  /** While true, bytes from upstreams are held back (dropped when the connection is cut). */
  holdReplies: boolean;
  /** While true, new connections are closed at once. */
  refuseNew: boolean;
  /** The number of live proxied connections. */
  readonly liveConnections: number;
  /** Destroys every live connection, both sides (an abrupt network drop). */
  cutAll(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(upstreams: number[]): Promise<TcpProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  const state = {
    upstreams: [...upstreams],
    routed: [] as number[],
    holdReplies: false,
    refuseNew: false,
  };

  const connectFirst = (ports: number[]): Promise<{ socket: Socket; port: number } | undefined> =>
    new Promise((resolve) => {
      const [port, ...rest] = ports;
      if (port === undefined) return resolve(undefined);
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => resolve({ socket, port }));
      socket.once('error', () => {
        socket.destroy();
        void connectFirst(rest).then(resolve);
      });
    });

  const server = createServer((client) => {
    client.pause();
    client.on('error', () => client.destroy());
    if (state.refuseNew) {
      client.destroy();
      return;
    }
    void connectFirst(state.upstreams).then((found) => {
      if (found === undefined || client.destroyed) {
        found?.socket.destroy();
        client.destroy();
        return;
      }
      const { socket: upstream, port } = found;
      state.routed.push(port);
      const pair = { client, upstream };
      pairs.add(pair);
      const end = (): void => {
        pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      upstream.on('error', end);
      client.on('error', end);
      upstream.on('close', end);
      client.on('close', end);
      client.on('data', (chunk: Buffer) => upstream.write(chunk));
      upstream.on('data', (chunk: Buffer) => {
        if (!state.holdReplies) client.write(chunk);
      });
      client.resume();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  const port = address.port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get upstreams() {
      return state.upstreams;
    },
    set upstreams(ports: number[]) {
      state.upstreams = [...ports];
    },
    get routed() {
      return state.routed;
    },
    get holdReplies() {
      return state.holdReplies;
    },
    set holdReplies(value: boolean) {
      state.holdReplies = value;
    },
    get refuseNew() {
      return state.refuseNew;
    },
    set refuseNew(value: boolean) {
      state.refuseNew = value;
    },
    get liveConnections() {
      return pairs.size;
    },
    cutAll() {
      for (const { client, upstream } of [...pairs]) {
        // resetAndDestroy sends RST: the client sees an abrupt drop, not a polite FIN.
        client.resetAndDestroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    close() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
