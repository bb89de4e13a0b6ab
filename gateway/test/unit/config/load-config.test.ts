import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  loadConfig,
  readOrCreateDevSecret,
  type GatewayConfig,
} from '../../../src/config/index.ts';

const SECRET = 's'.repeat(43);

/** The problems of the ConfigError `load` throws; fails the test when it returns or throws anything else. */
function problemsOf(load: () => unknown): readonly string[] {
  let thrown: unknown;
  try {
    load();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  return (thrown as ConfigError).problems;
}

/** The variable names the problems are about (each problem starts with `NAME:` or `NAME.<index>:`). */
function namesIn(problems: readonly string[]): string[] {
  return problems.map((p) => /^([A-Z_]+)[.:]/.exec(p)?.[1] ?? `(unparsed) ${p}`);
}

/** Every object reachable from `value` (arrays included), with its path, for the freeze check. */
function objectsIn(value: unknown, path = 'config'): Array<[string, object]> {
  if (value === null || typeof value !== 'object') return [];
  return [[path, value], ...Object.entries(value).flatMap(([k, v]) => objectsIn(v, `${path}.${k}`))];
}

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    const config = loadConfig({});
    expect(config.env).toBe('development');
    expect(config.log).toEqual({ level: 'info' });
    expect(config.http).toEqual({
      port: 3000,
      host: '0.0.0.0',
      listenBacklog: 4096,
      corsOrigins: [],
      allowLocalhostOrigins: true,
      trustProxy: undefined,
    });
    expect(config.auth).toMatchObject({
      secretKid: undefined,
      publicKeyFile: undefined,
      keysDir: undefined,
      algorithms: undefined,
      issuer: undefined,
      audience: undefined,
      clockToleranceSeconds: 5,
      expiryWarningSeconds: 60,
      maxLifetimeSeconds: 86_400,
      generatedDevSecret: true,
    });
    expect(config.service).toEqual({ token: undefined });
    expect(config.store).toEqual({
      redisUrl: undefined,
      commandTimeoutMs: 1000,
      writeGapMs: 3,
      wait: { replicas: 0, timeoutMs: 500 },
      keyPrefix: 'stayline:',
      sessionTtlSeconds: 3600,
      heartbeatSeconds: 5,
      deadAfterSeconds: 15,
    });
    expect(config.rooms).toEqual({ patterns: ['*'], maxPerUser: 100 });
    expect(config.limits).toEqual({
      maxMessageBytes: 65536,
      eventsPerSecond: 50,
      eventsBurst: 100,
      maxConnectionsPerUser: 10,
      maxOutboundBufferBytes: 1048576,
      handshakesPerSecond: 2000,
      handshakeQueueMaxWaitMs: 10_000,
      handshakesPerIpPerSecond: 0,
      floodDisconnectAfterRefusals: 300,
      maxPacketsPerPoll: 500,
      maxPendingHandshakes: 2000,
    });
    expect(config.engine).toEqual({ pingIntervalMs: 25000, pingTimeoutMs: 20000, connectTimeoutMs: 15000 });
    expect(config.drain).toEqual({ seconds: 20, graceSeconds: 3 });
    expect(config.nodeId).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
    expect(config.nodeId.endsWith(`-${process.pid}`)).toBe(true);
  });

  it('parses numbers, comma lists and names into the nested config', () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      PORT: '8080',
      NODE_ID: 'node-a.1',
      JWT_SECRET: SECRET,
      JWT_SECRET_KID: 'k1',
      JWT_ALGORITHMS: ' HS256 , HS512,',
      CORS_ORIGINS: 'https://a.example, https://b.example',
      ROOM_PATTERNS: 'lobby,dm:{sub}:*',
      REDIS_URL: 'redis://127.0.0.1:6379',
      DRAIN_SECONDS: '0',
      JWT_CLOCK_TOLERANCE_SECONDS: '0',
    });
    expect(config.env).toBe('test');
    expect(config.nodeId).toBe('node-a.1');
    expect(config.http.port).toBe(8080);
    expect(config.http.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(config.auth).toMatchObject({
      secret: SECRET,
      secretKid: 'k1',
      algorithms: ['HS256', 'HS512'],
      generatedDevSecret: false,
    });
    expect(config.rooms.patterns).toEqual(['lobby', 'dm:{sub}:*']);
    expect(config.store.redisUrl).toBe('redis://127.0.0.1:6379');
    // Zero is a real value, not "use the default" (`??`, never `||`).
    expect(config.drain.seconds).toBe(0);
    expect(config.auth.clockToleranceSeconds).toBe(0);
  });

  it('bounds JWT_MAX_LIFETIME_SECONDS to 1 s - 366 days', () => {
    expect(loadConfig({ JWT_MAX_LIFETIME_SECONDS: '3600' }).auth.maxLifetimeSeconds).toBe(3600);
    expect(loadConfig({ JWT_MAX_LIFETIME_SECONDS: String(366 * 86_400) }).auth.maxLifetimeSeconds).toBe(
      366 * 86_400,
    );
    for (const bad of ['0', String(366 * 86_400 + 1), '1e5', '-1']) {
      expect(namesIn(problemsOf(() => loadConfig({ JWT_MAX_LIFETIME_SECONDS: bad })))).toEqual([
        'JWT_MAX_LIFETIME_SECONDS',
      ]);
    }
  });

  it('names every bad variable at once in one ConfigError', () => {
    const problems = problemsOf(() =>
      loadConfig({ PORT: 'abc', JWT_ALGORITHMS: 'none', LOG_LEVEL: 'loud', JWT_SECRET: SECRET }),
    );
    expect(new Set(namesIn(problems))).toEqual(new Set(['PORT', 'JWT_ALGORITHMS', 'LOG_LEVEL']));
  });

  it('names every bad variable of a longer list, and lists each in the error message', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: '70000',
        NODE_ID: 'has space',
        JWT_SECRET: 'too-short',
        SERVICE_TOKEN: 'short',
        REDIS_URL: 'not a url',
        EVENTS_PER_SECOND: '0',
        DRAIN_SECONDS: '-1',
        PING_INTERVAL_MS: '1.5',
        NODE_ENV: 'staging',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems, message } = error as ConfigError;
    const expected = [
      'PORT',
      'NODE_ID',
      'JWT_SECRET',
      'SERVICE_TOKEN',
      'REDIS_URL',
      'EVENTS_PER_SECOND',
      'DRAIN_SECONDS',
      'PING_INTERVAL_MS',
      'NODE_ENV',
    ];
    expect(new Set(namesIn(problems))).toEqual(new Set(expected));
    for (const name of expected) expect(message).toContain(`  - ${name}`);
  });

  it('refuses an empty JWT_ALGORITHMS list and an algorithm outside the allowed set', () => {
    expect(namesIn(problemsOf(() => loadConfig({ JWT_ALGORITHMS: ' , ' })))).toEqual(['JWT_ALGORITHMS']);
    expect(namesIn(problemsOf(() => loadConfig({ JWT_ALGORITHMS: 'HS256,none' })))).toEqual([
      'JWT_ALGORITHMS',
    ]);
  });

  it('treats empty strings as unset, so defaults apply', () => {
    const config = loadConfig({
      PORT: '',
      LOG_LEVEL: '',
      NODE_ENV: '',
      JWT_SECRET: '',
      ROOM_PATTERNS: '',
      DRAIN_SECONDS: '',
    });
    expect(config.http.port).toBe(3000);
    expect(config.log.level).toBe('info');
    expect(config.env).toBe('development');
    expect(config.rooms.patterns).toEqual(['*']);
    expect(config.drain.seconds).toBe(20);
    // An empty JWT_SECRET is "no key", not a 0-character secret.
    expect(config.auth.generatedDevSecret).toBe(true);
  });

  it('treats undefined values (as process.env spreads produce) as unset', () => {
    const config = loadConfig({ PORT: undefined, JWT_SECRET: undefined, NODE_ENV: undefined });
    expect(config.http.port).toBe(3000);
    expect(config.env).toBe('development');
  });

  it('refuses to start in production without a key, naming JWT_SECRET and generating nothing', () => {
    const problems = problemsOf(() =>
      loadConfig({ NODE_ENV: 'production', CORS_ORIGINS: 'https://app.example' }),
    );
    expect(namesIn(problems)).toEqual(['JWT_SECRET']);
    expect(problems[0]).toMatch(/required in production/);
  });

  it('refuses production with an empty JWT_SECRET the same way as with none', () => {
    const problems = problemsOf(() =>
      loadConfig({ NODE_ENV: 'production', CORS_ORIGINS: '*', JWT_SECRET: '' }),
    );
    expect(namesIn(problems)).toEqual(['JWT_SECRET']);
  });

  it('accepts production with a public key file or a keys directory instead of JWT_SECRET', () => {
    const viaFile = loadConfig({
      NODE_ENV: 'production',
      CORS_ORIGINS: '*',
      JWT_PUBLIC_KEY_FILE: '/keys/pub.pem',
    });
    expect(viaFile.auth).toMatchObject({
      secret: undefined,
      publicKeyFile: '/keys/pub.pem',
      generatedDevSecret: false,
    });
    const viaDir = loadConfig({ NODE_ENV: 'production', CORS_ORIGINS: '*', JWT_KEYS_DIR: '/keys' });
    expect(viaDir.auth).toMatchObject({ secret: undefined, keysDir: '/keys', generatedDevSecret: false });
  });

  it('refuses production without CORS_ORIGINS, also when the list is only commas', () => {
    expect(namesIn(problemsOf(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET })))).toEqual([
      'CORS_ORIGINS',
    ]);
    expect(
      namesIn(
        problemsOf(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, CORS_ORIGINS: ' , ' })),
      ),
    ).toEqual(['CORS_ORIGINS']);
  });

  it('names both JWT_SECRET and CORS_ORIGINS when production lacks both', () => {
    expect(new Set(namesIn(problemsOf(() => loadConfig({ NODE_ENV: 'production' }))))).toEqual(
      new Set(['JWT_SECRET', 'CORS_ORIGINS']),
    );
  });

  // Known bug (reported): loadConfig returns after the schema's issues and never runs the cross-variable
  // checks, so an operator fixing PORT learns about the missing key only on the next start. Remove
  // `.fails` once every problem is reported at once.
  it('names a missing production key together with a malformed variable', () => {
    const names = namesIn(
      problemsOf(() => loadConfig({ NODE_ENV: 'production', CORS_ORIGINS: '*', PORT: 'abc' })),
    );
    expect(new Set(names)).toEqual(new Set(['PORT', 'JWT_SECRET']));
  });

  it('generates a random dev secret when no key is configured outside production', () => {
    const a = loadConfig({});
    const b = loadConfig({ NODE_ENV: 'test' });
    expect(a.auth.generatedDevSecret).toBe(true);
    expect(b.auth.generatedDevSecret).toBe(true);
    // 32 random bytes as base64url.
    expect(a.auth.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(b.auth.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.auth.secret).not.toBe(b.auth.secret);
  });

  it('keeps the development secret in DEV_SECRET_FILE when asked to, and never outside development', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stayline-dev-secret-'));
    try {
      const file = join(dir, 'nested', 'dev-secret');
      const first = loadConfig({ DEV_SECRET_FILE: file }, { devSecret: readOrCreateDevSecret });
      const second = loadConfig({ DEV_SECRET_FILE: file }, { devSecret: readOrCreateDevSecret });
      expect(first.auth.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(second.auth.secret).toBe(first.auth.secret);
      expect(first.devSecret).toEqual({ file, created: true });
      expect(second.devSecret).toEqual({ file, created: false });
      expect(readFileSync(file, 'utf8').trim()).toBe(first.auth.secret);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      // A configured key wins, and production never reads the file.
      const keyed = loadConfig(
        { DEV_SECRET_FILE: file, JWT_SECRET: SECRET },
        { devSecret: readOrCreateDevSecret },
      );
      expect(keyed.auth.secret).toBe(SECRET);
      expect(keyed.devSecret).toBeUndefined();
      // Without the option (tests), a random secret for this process.
      expect(loadConfig({ DEV_SECRET_FILE: file }).auth.secret).not.toBe(first.auth.secret);
      writeFileSync(file, 'short\n');
      expect(() => loadConfig({ DEV_SECRET_FILE: file }, { devSecret: readOrCreateDevSecret })).toThrow(
        /does not hold a development secret: delete it/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('allows localhost origins of any port in development only', () => {
    expect(loadConfig({}).http.allowLocalhostOrigins).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test' }).http.allowLocalhostOrigins).toBe(false);
    expect(
      loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, CORS_ORIGINS: '*' }).http
        .allowLocalhostOrigins,
    ).toBe(false);
  });

  it('uses a configured JWT_SECRET as is and never generates one beside it', () => {
    const config = loadConfig({ JWT_SECRET: SECRET });
    expect(config.auth.secret).toBe(SECRET);
    expect(config.auth.generatedDevSecret).toBe(false);
  });

  it('returns a deeply frozen config', () => {
    const config: GatewayConfig = loadConfig({
      JWT_SECRET: SECRET,
      JWT_ALGORITHMS: 'HS256',
      CORS_ORIGINS: 'https://a.example',
    });
    const objects = objectsIn(config);
    // The root, its ten sections, and the arrays inside them.
    expect(objects.map(([path]) => path)).toEqual(
      expect.arrayContaining([
        'config',
        'config.http',
        'config.http.corsOrigins',
        'config.auth.algorithms',
        'config.rooms.patterns',
        'config.limits',
      ]),
    );
    for (const [path, object] of objects) expect(Object.isFrozen(object), path).toBe(true);
    // Test files are ES modules, so writes to frozen objects throw instead of being ignored.
    expect(() => {
      (config.http as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => (config.http.corsOrigins as string[]).push('https://evil.example')).toThrow(TypeError);
    expect(() => (config.rooms.patterns as string[]).splice(0)).toThrow(TypeError);
    expect(config.http.port).toBe(3000);
    expect(config.http.corsOrigins).toEqual(['https://a.example']);
  });

  it('refuses NODE_DEAD_AFTER_SECONDS equal to or below NODE_HEARTBEAT_SECONDS', () => {
    const equal = problemsOf(() =>
      loadConfig({ NODE_HEARTBEAT_SECONDS: '10', NODE_DEAD_AFTER_SECONDS: '10' }),
    );
    expect(namesIn(equal)).toEqual(['NODE_DEAD_AFTER_SECONDS']);
    const below = problemsOf(() =>
      loadConfig({ NODE_HEARTBEAT_SECONDS: '10', NODE_DEAD_AFTER_SECONDS: '9' }),
    );
    expect(namesIn(below)).toEqual(['NODE_DEAD_AFTER_SECONDS']);
    // Against the default heartbeat of 5 too.
    expect(namesIn(problemsOf(() => loadConfig({ NODE_DEAD_AFTER_SECONDS: '5' })))).toEqual([
      'NODE_DEAD_AFTER_SECONDS',
    ]);
    expect(loadConfig({ NODE_HEARTBEAT_SECONDS: '10', NODE_DEAD_AFTER_SECONDS: '11' }).store).toMatchObject({
      heartbeatSeconds: 10,
      deadAfterSeconds: 11,
    });
  });

  it('derives MAX_PACKETS_PER_POLL from EVENTS_BURST unless set, and refuses one below EVENTS_BURST', () => {
    expect(loadConfig({ EVENTS_BURST: '1000' }).limits.maxPacketsPerPoll).toBe(2000);
    expect(loadConfig({ EVENTS_BURST: '10' }).limits.maxPacketsPerPoll).toBe(500);
    expect(loadConfig({ EVENTS_BURST: '1000', MAX_PACKETS_PER_POLL: '1000' }).limits.maxPacketsPerPoll).toBe(
      1000,
    );
    expect(namesIn(problemsOf(() => loadConfig({ MAX_PACKETS_PER_POLL: '99' })))).toEqual([
      'MAX_PACKETS_PER_POLL',
    ]);
  });

  it('parses the flood, pending-handshake and connect-timeout limits, and names bad ones', () => {
    const config = loadConfig({
      FLOOD_DISCONNECT_AFTER_REFUSALS: '50',
      MAX_PENDING_HANDSHAKES: '10',
      CONNECT_TIMEOUT_MS: '100',
    });
    expect(config.limits).toMatchObject({ floodDisconnectAfterRefusals: 50, maxPendingHandshakes: 10 });
    expect(config.engine.connectTimeoutMs).toBe(100);
    const problems = problemsOf(() =>
      loadConfig({
        FLOOD_DISCONNECT_AFTER_REFUSALS: '0',
        MAX_PENDING_HANDSHAKES: '-1',
        CONNECT_TIMEOUT_MS: '99',
        MAX_PACKETS_PER_POLL: '1e3',
      }),
    );
    expect(namesIn(problems).sort()).toEqual([
      'CONNECT_TIMEOUT_MS',
      'FLOOD_DISCONNECT_AFTER_REFUSALS',
      'MAX_PACKETS_PER_POLL',
      'MAX_PENDING_HANDSHAKES',
    ]);
  });

  it('caps the admission queue wait so that a queued handshake attaches before CONNECT_TIMEOUT_MS', () => {
    const capped = loadConfig({ CONNECT_TIMEOUT_MS: '10000', HANDSHAKE_QUEUE_MAX_WAIT_MS: '9500' });
    expect(capped.limits.handshakeQueueMaxWaitMs).toBe(8000);
    const fits = loadConfig({ CONNECT_TIMEOUT_MS: '10000', HANDSHAKE_QUEUE_MAX_WAIT_MS: '5000' });
    expect(fits.limits.handshakeQueueMaxWaitMs).toBe(5000);
    const none = loadConfig({ CONNECT_TIMEOUT_MS: '1500', REDIS_COMMAND_TIMEOUT_MS: '1000' });
    expect(none.limits.handshakeQueueMaxWaitMs).toBe(0);
  });

  it('parses REDIS_WAIT_REPLICAS and REDIS_WAIT_TIMEOUT_MS, refusing them with a Cluster or a timeout not under the command timeout', () => {
    const on = loadConfig({
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_WAIT_REPLICAS: '1',
      REDIS_WAIT_TIMEOUT_MS: '250',
    });
    expect(on.store.wait).toEqual({ replicas: 1, timeoutMs: 250 });
    expect(
      problemsOf(() => loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_WAIT_REPLICAS: '1' })),
    ).toEqual(['REDIS_WAIT_REPLICAS: not supported with REDIS_CLUSTER_NODES (use 0)']);
    expect(problemsOf(() => loadConfig({ REDIS_WAIT_REPLICAS: '2', REDIS_WAIT_TIMEOUT_MS: '1000' }))).toEqual(
      ['REDIS_WAIT_TIMEOUT_MS: must be less than REDIS_COMMAND_TIMEOUT_MS'],
    );
    // WAIT 0 would block forever: a zero timeout is refused, and off (0 replicas) needs no check.
    expect(problemsOf(() => loadConfig({ REDIS_WAIT_TIMEOUT_MS: '0' }))[0]).toMatch(/^REDIS_WAIT_TIMEOUT_MS/);
    expect(problemsOf(() => loadConfig({ REDIS_WAIT_REPLICAS: '-1' }))[0]).toMatch(/^REDIS_WAIT_REPLICAS/);
    expect(
      loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_WAIT_TIMEOUT_MS: '5000' }).store.wait,
    ).toEqual({
      replicas: 0,
      timeoutMs: 5000,
    });
  });

  it('parses REDIS_WRITE_GAP_MS: 3 by default, 0 turns it off, at most 50', () => {
    expect(loadConfig({}).store.writeGapMs).toBe(3);
    expect(loadConfig({ REDIS_WRITE_GAP_MS: '0' }).store.writeGapMs).toBe(0);
    expect(problemsOf(() => loadConfig({ REDIS_WRITE_GAP_MS: '51' }))[0]).toMatch(/^REDIS_WRITE_GAP_MS/);
    expect(problemsOf(() => loadConfig({ REDIS_WRITE_GAP_MS: '1.5' }))[0]).toMatch(/^REDIS_WRITE_GAP_MS/);
  });
});
