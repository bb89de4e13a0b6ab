/**
 * A node whose Redis is unreachable and which is then stopped: the adapter's SUBSCRIBEs (sent from its
 * constructor) and UNSUBSCRIBEs (from its close) wait in the subscriber's offline queue, and closing the
 * connection rejects every one of them. @socket.io/redis-adapter catches none: without the guard of
 * infra/redis-pubsub.ts they were unhandled rejections, which end a Node 20 process (the Sentinel TLS test
 * without its CA hit it one run in four). Real socket.io server and adapter, a port nothing listens on.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { describe, expect, it } from 'vitest';
import { createPubSubClients } from '../../src/infra/redis-pubsub.ts';
import { createClusterAdapter } from '../../src/transport/engine/cluster-adapter.ts';
import { captureLog } from '../support/log-capture.ts';
import { freePort } from '../support/redis.ts';
import { waitFor } from '../support/wait.ts';

describe('the adapter over an unreachable Redis', () => {
  it('stops without an unhandled rejection, and logs the dropped (un)subscribes at debug', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { log, lines } = captureLog('debug');
      // Sentinel: its connector, still looking for a primary when the connection is closed, fails the
      // connect, and ioredis rejects what waits in the offline queue. (A URL client that never connected
      // just keeps them.)
      const sentinel = {
        sentinels: [`127.0.0.1:${await freePort()}`],
        name: 'mymaster',
        sentinelPassword: undefined,
        password: undefined,
      };
      const pubsub = createPubSubClients(
        { sentinel },
        {
          commandTimeoutMs: 200,
          log,
          onPublishError: () => undefined,
          onResubscribe: () => undefined,
        },
      );
      const adapter = createClusterAdapter(pubsub, 'test:');
      if (adapter === undefined) throw new Error('Redis pub/sub clients give an adapter');
      const io = new Server(createServer(), { adapter });
      // A few refused connects, while the adapter's SUBSCRIBEs wait in the offline queue.
      await new Promise((resolve) => setTimeout(resolve, 300));
      // As the gateway stops: socket.io first (the adapter unsubscribes), then the connections.
      void io.close();
      await pubsub.close();
      const dropped = (): Record<string, unknown>[] =>
        lines.filter((l) => l['msg'] === 'adapter (un)subscribe dropped on close');
      // psubscribe and subscribe from the constructor, punsubscribe and unsubscribe from close(): the
      // connector notices the close at its next look for a sentinel (at most a second later).
      await waitFor(
        () => dropped().length === 4 || unhandled.length > 0,
        5_000,
        'the dropped (un)subscribes',
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(unhandled).toEqual([]);
      expect(dropped()).toHaveLength(4);
      expect(lines.some((l) => l['msg'] === 'adapter (un)subscribe failed')).toBe(false);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
