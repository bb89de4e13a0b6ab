/**
 * The Redis side of a contract suite (the same tests against the memory store and Redis): one redis-server
 * for the suite, a raw client to look at or break the data, and stores opened under a fresh key prefix each
 * time (tests never see each other's keys), each once it answers, all closed at teardown.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createRedisClient, type RedisLike } from '../../src/infra/redis.ts';
import { startRedis, type RedisProcess } from './redis.ts';

const logger = pino({ level: 'silent' });

export interface ContractRedis<S> {
  /** The key prefix of the stores opened last. */
  readonly prefix: string;
  /** A plain client of the suite's server. */
  readonly raw: Redis;
  /** The suite's server's URL. */
  readonly url: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /**
   * `nodes` stores (as many gateway nodes on one Redis) under a new prefix, each on its own fail-fast
   * client, returned once `warm` answers on each (a fail-fast client refuses commands while it connects).
   */
  open(
    nodes: number,
    make: (redis: RedisLike, prefix: string) => S,
    warm: (store: S) => Promise<unknown>,
  ): Promise<S[]>;
}

/** `letter` starts each prefix (`c1:`, `c2:`...), so a failing test's keys say which suite wrote them. */
export function contractRedis<S extends { close(): Promise<void> }>(letter: string): ContractRedis<S> {
  let server: RedisProcess | undefined;
  let raw: Redis | undefined;
  let prefix = `${letter}0:`;
  let n = 0;
  const opened: S[] = [];
  return {
    get prefix() {
      return prefix;
    },
    get raw() {
      if (raw === undefined) throw new Error('contractRedis: setup() first');
      return raw;
    },
    get url() {
      if (server === undefined) throw new Error('contractRedis: setup() first');
      return server.url;
    },
    async setup() {
      server = await startRedis();
      raw = new Redis(server.url);
    },
    async teardown() {
      await Promise.all(opened.map((s) => s.close()));
      raw?.disconnect();
      await server?.stop();
    },
    async open(nodes, make, warm) {
      prefix = `${letter}${++n}:`;
      const url = this.url;
      const stores = Array.from({ length: nodes }, () =>
        make(createRedisClient(url, { commandTimeoutMs: 2000, logger, name: 'contract' }), prefix),
      );
      opened.push(...stores);
      for (const store of stores) {
        for (let i = 0; ; i++) {
          try {
            await warm(store);
            break;
          } catch (err) {
            if (i > 100) throw err;
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      }
      return stores;
    },
  };
}
