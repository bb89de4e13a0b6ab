/**
 * What every Redis-backed store (sessions, claims, the request ledger, message history) does alike: its
 * client, `ping`, an idempotent `close` (the client closed only when the store owns it), and the operation
 * runner (replies.ts: refused once closed, timed, Redis errors mapped to STORE_UNAVAILABLE).
 */
import { closeRedisClient, type RedisLike } from '../../infra/redis.ts';
import { runStoreOperation, type ObserveCommand } from './replies.ts';

/** What each store's options say of its client (the same fields in every store's options). */
export interface RedisStoreClient {
  /** A client from createRedisClient (fail-fast settings matter: see infra/redis.ts). */
  redis: RedisLike;
  /** Reports each operation's latency and outcome (metrics); optional. */
  observeCommand?: ObserveCommand;
  /** Close the client in close(). Default false: the caller owns it. */
  ownsClient?: boolean;
}

export abstract class RedisStore {
  protected readonly redis: RedisLike;
  protected closed = false;
  /** Reports each operation (and the stores' own best-effort side calls) to the metrics. */
  protected readonly observe: ObserveCommand | undefined;
  private readonly ownsClient: boolean;

  /** `name` starts the STORE_UNAVAILABLE message of an operation after close ("Claim store is closed"). */
  protected constructor(
    client: RedisStoreClient,
    private readonly name: string,
  ) {
    this.redis = client.redis;
    this.observe = client.observeCommand;
    this.ownsClient = client.ownsClient ?? false;
  }

  ping(): Promise<void> {
    return this.run('ping', async () => {
      await this.redis.ping();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.closeClients();
  }

  /** Closes what the store owns; a store with clients of its own closes them too, then calls this. */
  protected async closeClients(): Promise<void> {
    if (this.ownsClient) await closeRedisClient(this.redis);
  }

  protected run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return runStoreOperation({ closed: this.closed, name: this.name, observe: this.observe }, operation, fn);
  }
}
