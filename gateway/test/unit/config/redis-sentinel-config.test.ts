import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/index.ts';
import { sentinelOptions } from '../../../src/infra/redis-sentinel.ts';

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

describe('Redis Sentinel TLS configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stayline-tls-config-'));
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  const notPem = join(dir, 'not.pem');
  writeFileSync(notPem, 'hello');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is off by default: plain TCP to the sentinels and to Redis', () => {
    const sentinel = loadConfig({ REDIS_SENTINELS: 's1:26379' }).store.redisSentinel!;
    expect(sentinel.tls).toBeUndefined();
    expect(sentinel.sentinelTls).toBeUndefined();
    const options = sentinelOptions(sentinel, { commandTimeoutMs: 1000 });
    expect(options).not.toHaveProperty('tls');
    expect(options).not.toHaveProperty('sentinelTLS');
    expect(options).not.toHaveProperty('enableTLSForSentinelMode');
  });

  it('maps REDIS_TLS, REDIS_SENTINEL_TLS and the CA file to ioredis tls, enableTLSForSentinelMode and sentinelTLS', () => {
    const sentinel = loadConfig({
      REDIS_SENTINELS: 's1:26379',
      REDIS_TLS: 'true',
      REDIS_SENTINEL_TLS: 'true',
      REDIS_TLS_CA_FILE: caFile,
    }).store.redisSentinel!;
    const ca = readFileSync(caFile, 'utf8');
    expect(sentinel).toMatchObject({ tls: { ca }, sentinelTls: { ca } });
    expect(sentinelOptions(sentinel, { commandTimeoutMs: 1000 })).toMatchObject({
      tls: { ca },
      enableTLSForSentinelMode: true,
      sentinelTLS: { ca },
    });
    // Each on its own, and without a CA file: Node's default CAs.
    const dataOnly = loadConfig({ REDIS_SENTINELS: 's1:26379', REDIS_TLS: 'true' }).store.redisSentinel!;
    const options = sentinelOptions(dataOnly, { commandTimeoutMs: 1000 });
    expect(options).toMatchObject({ tls: {}, enableTLSForSentinelMode: true });
    expect(options).not.toHaveProperty('sentinelTLS');
    const sentinelsOnly = loadConfig({ REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_TLS: 'true' }).store
      .redisSentinel!;
    expect(sentinelOptions(sentinelsOnly, { commandTimeoutMs: 1000 })).toEqual(
      expect.objectContaining({ sentinelTLS: {} }),
    );
    expect(sentinelOptions(sentinelsOnly, { commandTimeoutMs: 1000 })).not.toHaveProperty('tls');
  });

  it('parses the flags strictly', () => {
    for (const bad of ['1', 'yes', 'TRUE', 'on'])
      expect(problems({ REDIS_SENTINELS: 's1:26379', REDIS_TLS: bad }).join('\n')).toMatch(/REDIS_TLS/);
    expect(loadConfig({ REDIS_SENTINELS: 's1:26379', REDIS_TLS: 'false' }).store.redisSentinel?.tls).toBe(
      undefined,
    );
  });

  it('refuses TLS settings without REDIS_SENTINELS, pointing at rediss://', () => {
    const found = problems({ REDIS_URL: 'redis://r:6379', REDIS_TLS: 'true', REDIS_SENTINEL_TLS: 'true' });
    expect(found.join('\n')).toMatch(/REDIS_TLS: only used with REDIS_SENTINELS .*rediss:\/\//);
    expect(found.join('\n')).toMatch(/REDIS_SENTINEL_TLS: only used with REDIS_SENTINELS/);
    expect(problems({ REDIS_TLS_CA_FILE: caFile }).join('\n')).toMatch(
      /REDIS_TLS_CA_FILE: only used with REDIS_SENTINELS/,
    );
  });

  it('refuses a CA file without TLS, an unreadable one, and one with no certificate', () => {
    expect(problems({ REDIS_SENTINELS: 's1:26379', REDIS_TLS_CA_FILE: caFile })).toContain(
      'REDIS_TLS_CA_FILE: only used with REDIS_TLS=true or REDIS_SENTINEL_TLS=true',
    );
    const tls = { REDIS_SENTINELS: 's1:26379', REDIS_TLS: 'true' };
    expect(problems({ ...tls, REDIS_TLS_CA_FILE: join(dir, 'missing.pem') }).join('\n')).toMatch(
      /REDIS_TLS_CA_FILE: cannot read .*missing\.pem/,
    );
    expect(problems({ ...tls, REDIS_TLS_CA_FILE: notPem })).toEqual([
      `REDIS_TLS_CA_FILE: ${notPem} holds no PEM certificate`,
    ]);
  });
});
