import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.ts';
import { clusterConnectionOptions, clusterDnsLookup, parseRedisSeed } from '../../../src/infra/redis.ts';

describe('Redis Cluster seeds', () => {
  it('takes plain host:port seeds with no TLS and no credentials', () => {
    expect(parseRedisSeed('10.0.0.5:7000')).toEqual({ host: '10.0.0.5', port: 7000 });
    expect(clusterConnectionOptions(['10.0.0.5:7000', '10.0.0.6:7000'])).toEqual({});
    expect(clusterDnsLookup({})).toEqual({});
  });

  it('takes TLS and (percent-encoded) credentials from a rediss:// seed, keeping node names for TLS', () => {
    const seeds = ['rediss://app:p%40ss@clustercfg.example.cache.amazonaws.com:6379'];
    expect(parseRedisSeed(seeds[0] ?? '')).toEqual({
      host: 'clustercfg.example.cache.amazonaws.com',
      port: 6379,
    });
    const options = clusterConnectionOptions(seeds);
    expect(options).toEqual({ tls: {}, username: 'app', password: 'p@ss' });
    const lookup = clusterDnsLookup(options) as {
      dnsLookup?: (a: string, cb: (e: null, a: string) => void) => void;
    };
    let resolved = '';
    lookup.dnsLookup?.('node-1.example', (_e, address) => (resolved = address));
    expect(resolved).toBe('node-1.example');
  });

  it('accepts those forms in REDIS_CLUSTER_NODES and refuses anything else', () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: 'rediss://u:p@a.example:6379, b.example:6380' });
    expect(config.store.redisClusterNodes).toEqual(['rediss://u:p@a.example:6379', 'b.example:6380']);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'http://a.example:6379' })).toThrow(/REDIS_CLUSTER_NODES/);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'a.example' })).toThrow(/REDIS_CLUSTER_NODES/);
    expect(() => loadConfig({ REDIS_URL: 'redis://a:1', REDIS_CLUSTER_NODES: 'a.example:6379' })).toThrow(
      /either REDIS_URL or REDIS_CLUSTER_NODES/,
    );
  });
});
