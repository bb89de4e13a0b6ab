/**
 * The socket.io adapter that carries broadcasts, room operations and `serverSideEmit` between the nodes:
 * @socket.io/redis-adapter over the node's pub/sub connections (infra/redis-pubsub.ts), the sharded one on
 * Redis Cluster (SPUBLISH/SSUBSCRIBE, Redis 7+), none (socket.io's in-memory adapter) on a single node
 * without Redis.
 */
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import type { Adapter } from 'socket.io-adapter';
import type { PubSubClients } from '../../infra/redis-pubsub.ts';

/** An adapter constructor, as socket.io's `adapter` option takes it. */
export type AdapterConstructor = (nsp: unknown) => Adapter;

/**
 * The adapter constructor for `pubsub`, with its channels under `<keyPrefix>io`; undefined without pub/sub
 * clients (the in-memory store: one node).
 */
export function createClusterAdapter(
  pubsub: PubSubClients | undefined,
  keyPrefix: string,
): AdapterConstructor | undefined {
  if (pubsub === undefined) return undefined;
  // The redis adapter is typed against its own copy of socket.io-adapter's classes: the same runtime
  // shape, which TypeScript cannot see as one type.
  return pubsub.sharded
    ? (createShardedAdapter(pubsub.pub, pubsub.sub, { channelPrefix: `${keyPrefix}io` }) as never)
    : (createAdapter(pubsub.pub, pubsub.sub, { key: `${keyPrefix}io` }) as never);
}
