import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/index.ts';

const problems = (env: Record<string, string>): readonly string[] => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('Redis Sentinel configuration', () => {
  it('reads REDIS_SENTINELS with the default name and no passwords', () => {
    const config = loadConfig({ REDIS_SENTINELS: 'a.example:26379, 10.0.0.2:26380' });
    expect(config.store.redisSentinel).toEqual({
      sentinels: ['a.example:26379', '10.0.0.2:26380'],
      name: 'mymaster',
      sentinelPassword: undefined,
      password: undefined,
    });
    expect(config.store.redisUrl).toBeUndefined();
    expect(loadConfig({}).store.redisSentinel).toBeUndefined();
  });

  it('takes the name and both passwords', () => {
    const config = loadConfig({
      REDIS_SENTINELS: 's1:26379',
      REDIS_SENTINEL_NAME: 'seats-primary',
      REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
      REDIS_PASSWORD: 'redis-secret',
    });
    expect(config.store.redisSentinel).toMatchObject({
      name: 'seats-primary',
      sentinelPassword: 'sentinel-secret',
      password: 'redis-secret',
    });
  });

  it('refuses addresses that are not host:port', () => {
    for (const bad of ['s1', 'redis://s1:26379', 's1:26379,:1'])
      expect(problems({ REDIS_SENTINELS: bad }).join('\n')).toMatch(/REDIS_SENTINELS/);
  });

  it('refuses two topologies at once, naming both variables', () => {
    expect(problems({ REDIS_URL: 'redis://r:6379', REDIS_SENTINELS: 's1:26379' })).toContain(
      'REDIS_SENTINELS: set either REDIS_URL or REDIS_SENTINELS, not both (one of REDIS_URL, REDIS_CLUSTER_NODES and REDIS_SENTINELS)',
    );
    expect(problems({ REDIS_CLUSTER_NODES: 'c1:7000', REDIS_SENTINELS: 's1:26379' }).join('\n')).toMatch(
      /REDIS_CLUSTER_NODES or REDIS_SENTINELS, not both/,
    );
  });

  it('refuses the Sentinel passwords without REDIS_SENTINELS instead of ignoring them', () => {
    const found = problems({
      REDIS_URL: 'redis://r:6379',
      REDIS_PASSWORD: 'x',
      REDIS_SENTINEL_PASSWORD: 'y',
    }).join('\n');
    expect(found).toMatch(/REDIS_PASSWORD: only used with REDIS_SENTINELS/);
    expect(found).toMatch(/REDIS_SENTINEL_PASSWORD: only used with REDIS_SENTINELS/);
    // A problem names the variable, never its (secret) value.
    expect(found).not.toMatch(/: x\b|: y\b/);
  });
});
