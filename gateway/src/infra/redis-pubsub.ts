/**
 * The two Redis connections behind @socket.io/redis-adapter, with the adapter's known traps handled:
 * - the adapter subscribes in its constructor, so the subscriber keeps ioredis' offline queue (its
 *   SUBSCRIBE waits for the connection, and ioredis re-subscribes by itself after a reconnect);
 * - the adapter never catches a failed `publish`, and a fail-fast client rejects while Redis is down; that
 *   would be an unhandled rejection that kills Node. The publisher handed to the adapter catches, logs and
 *   counts each failed publish instead (the broadcast is lost, as it would be with any pub/sub outage).
 */
import { Redis } from 'ioredis';
import type { Logger } from './logger.ts';

export interface PubSubClients {
  /** The publisher to hand to the adapter (publish never rejects unhandled). */
  pub: Redis;
  sub: Redis;
  close(): Promise<void>;
}

export function createPubSubClients(
  url: string,
  options: { commandTimeoutMs: number; log: Logger; onPublishError: () => void },
): PubSubClients {
  const retryStrategy = (attempt: number): number => Math.min(50 * attempt, 1000);
  const rawPub = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: options.commandTimeoutMs,
    retryStrategy,
    connectionName: 'stayline-adapter-pub',
  });
  const sub = new Redis(url, {
    maxRetriesPerRequest: null,
    retryStrategy,
    connectionName: 'stayline-adapter-sub',
  });
  rawPub.on('error', (err: Error) => options.log.warn({ err: err.message }, 'adapter publisher error'));
  sub.on('error', (err: Error) => options.log.warn({ err: err.message }, 'adapter subscriber error'));

  const guardedPublish = (...args: Parameters<Redis['publish']>): ReturnType<Redis['publish']> => {
    const result = rawPub.publish(...args);
    result.catch((err: unknown) => {
      options.onPublishError();
      options.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'fanout publish failed');
    });
    return result;
  };
  const pub = new Proxy(rawPub, {
    get(target, prop, receiver) {
      if (prop === 'publish') return guardedPublish;
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });

  return {
    pub,
    sub,
    async close() {
      rawPub.disconnect();
      sub.disconnect();
      await Promise.resolve();
    },
  };
}
