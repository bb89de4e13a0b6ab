import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { DEFAULT_DEV_SECRET_FILE } from './dev-secret.ts';
import { envSchema, type JwtAlgorithmName } from './schema.ts';

/** The gateway's whole configuration: parsed once at start, frozen, nested by concern. */
export interface GatewayConfig {
  readonly env: 'development' | 'production' | 'test';
  readonly nodeId: string;
  readonly log: { readonly level: string };
  readonly http: {
    readonly port: number;
    readonly host: string;
    /**
     * LISTEN_BACKLOG: connections the kernel may hold accepted but not yet taken by the node (Linux caps it
     * at net.core.somaxconn). Past it, new connections' SYNs are dropped and each client waits a 1 s
     * retransmit: in a reconnect storm, a busy event loop with Node's default of 511 did that to the last
     * clients (docs/benchmarks.md §6a).
     */
    readonly listenBacklog: number;
    readonly corsOrigins: readonly string[];
    /**
     * Development only: any `http://localhost:*` and `http://127.0.0.1:*` page may connect too (a dev server
     * on another port), whatever CORS_ORIGINS says.
     */
    readonly allowLocalhostOrigins: boolean;
    /** TRUST_PROXY: the lower-cased header that carries the client IP; undefined = the TCP peer. */
    readonly trustProxy: string | undefined;
  };
  readonly auth: {
    /** HS* shared secret; generated at start when no key is configured outside production. */
    readonly secret: string | undefined;
    /** The `kid` the secret answers to; tokens without a kid match a key configured without one. */
    readonly secretKid: string | undefined;
    readonly publicKeyFile: string | undefined;
    /** A directory of `<kid>.pem` public keys and `<kid>.secret` HMAC secrets, for rotation. */
    readonly keysDir: string | undefined;
    /** Pinned algorithms; undefined means "derived from the configured keys". */
    readonly algorithms: readonly JwtAlgorithmName[] | undefined;
    readonly issuer: string | undefined;
    readonly audience: string | undefined;
    readonly clockToleranceSeconds: number;
    readonly expiryWarningSeconds: number;
    /**
     * JWT_MAX_LIFETIME_SECONDS (default 86400): longest accepted `exp - iat` (`exp - now` without `iat`);
     * a revocation is kept this long plus clockToleranceSeconds.
     */
    readonly maxLifetimeSeconds: number;
    /** True when `secret` was generated (development only): no key was configured. */
    readonly generatedDevSecret: boolean;
  };
  /**
   * Where the generated development secret is kept (DEV_SECRET_FILE), and whether this start created it;
   * undefined when a key is configured or the secret is random for this process only.
   */
  readonly devSecret: { readonly file: string; readonly created: boolean } | undefined;
  readonly service: { readonly token: string | undefined };
  readonly store: {
    /** Unset (and no cluster nodes): the embedded in-memory store (single node). */
    readonly redisUrl: string | undefined;
    /** Redis Cluster seed nodes; when set, the cluster client, cluster-safe keys and the sharded adapter. */
    readonly redisClusterNodes: readonly string[] | undefined;
    /**
     * REDIS_SENTINELS and friends: the primary is found through these sentinels (ioredis' Sentinel
     * support) and followed across a promotion; undefined = not Sentinel.
     */
    readonly redisSentinel: RedisSentinelConfig | undefined;
    readonly commandTimeoutMs: number;
    /**
     * REDIS_WRITE_GAP_MS (default 3): a busy store connection (REDIS_URL or Sentinel) writes at most once
     * per this many ms, so the commands of several turns share a write. Optional for configs built by hand:
     * absent = 0.
     */
    readonly writeGapMs?: number;
    /**
     * REDIS_WAIT_REPLICAS (default 0 = off) and REDIS_WAIT_TIMEOUT_MS (default 500): holds, releases and
     * sales are acknowledged only once that many replicas have them (docs/queue-and-seats.md). Optional
     * for configs built by hand (tests, tools): absent = off.
     */
    readonly wait?: { readonly replicas: number; readonly timeoutMs: number };
    readonly keyPrefix: string;
    readonly sessionTtlSeconds: number;
    readonly heartbeatSeconds: number;
    readonly deadAfterSeconds: number;
  };
  readonly rooms: { readonly patterns: readonly string[]; readonly maxPerUser: number };
  /**
   * Message history and replay (docs/protocol.md "Offsets, epochs and gaps"). HISTORY_SIZE (default 100):
   * messages kept per stream, 0 = off; HISTORY_TTL_SECONDS (default SESSION_TTL_SECONDS): how long a message
   * can be replayed. Optional for configs built by hand (tests, tools): absent = off.
   */
  readonly history?: { readonly size: number; readonly ttlSeconds: number };
  readonly limits: {
    readonly maxMessageBytes: number;
    readonly eventsPerSecond: number;
    readonly eventsBurst: number;
    readonly maxConnectionsPerUser: number;
    readonly maxOutboundBufferBytes: number;
    readonly handshakesPerSecond: number;
    /**
     * HANDSHAKE_QUEUE_MAX_WAIT_MS (default 10000): over-rate handshakes wait this long at most; capped at
     * CONNECT_TIMEOUT_MS - REDIS_COMMAND_TIMEOUT_MS - 1000.
     */
    readonly handshakeQueueMaxWaitMs: number;
    /** HANDSHAKES_PER_IP_PER_SECOND (default 0 = off). */
    readonly handshakesPerIpPerSecond: number;
    /**
     * FLOOD_DISCONNECT_AFTER_REFUSALS (default 300): RATE_LIMITED refusals a socket may collect, the
     * allowance refilling at a tenth of this per second; past it the socket is told RATE_FLOODED and cut.
     */
    readonly floodDisconnectAfterRefusals: number;
    /**
     * MAX_PACKETS_PER_POLL (default the larger of 500 and 2 × EVENTS_BURST): packets in one long-polling
     * POST; more closes the connection before any is decoded.
     */
    readonly maxPacketsPerPoll: number;
    /** MAX_PENDING_HANDSHAKES (default 2000): engine connections without a completed CONNECT; more get 503. */
    readonly maxPendingHandshakes: number;
  };
  readonly engine: {
    readonly pingIntervalMs: number;
    readonly pingTimeoutMs: number;
    /** CONNECT_TIMEOUT_MS (default 15000): an engine connection without a completed CONNECT is closed. */
    readonly connectTimeoutMs: number;
  };
  /** Waiting queues and seat holds (docs/queue-and-seats.md). */
  readonly claims: {
    /** SEAT_HOLD_SECONDS (default 300): hold TTL of events that do not set their own. */
    readonly holdSeconds: number;
    /** ADMISSION_SECRET; unset = derived from JWT_SECRET (else random per process: single node only). */
    readonly admissionSecret: string | undefined;
    /** ADMISSION_TOKEN_TTL_SECONDS (default 600). */
    readonly admissionTtlSeconds: number;
    /** QUEUE_PUSH_INTERVAL_MS (default 1000): at most one queue:position per user and event per interval. */
    readonly queuePushIntervalMs: number;
    /** CLAIM_SWEEP_INTERVAL_MS (default 1000): expired holds are freed within about this long. */
    readonly sweepIntervalMs: number;
    /** SEAT_UPDATE_INTERVAL_MS (default 250): at most one seat:update per follower and event per interval. */
    readonly seatUpdateIntervalMs: number;
  };
  /** The opt-in connection trace for replaying storms; `file` undefined = off. */
  readonly trace: { readonly file: string | undefined; readonly key: string | undefined };
  /**
   * DRAIN_SECONDS: the window over which a stopping node closes its sockets in batches; DRAIN_GRACE_SECONDS
   * (default 3): how long before the first batch the node is unready but still serving.
   */
  readonly drain: { readonly seconds: number; readonly graceSeconds: number };
}

/** TLS for one kind of Redis connection (REDIS_TLS, REDIS_SENTINEL_TLS). */
export interface RedisTlsConfig {
  /** The PEM of REDIS_TLS_CA_FILE: the CAs to trust; undefined = Node's default CAs. */
  readonly ca: string | undefined;
}

/** Redis through Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_NAME, REDIS_SENTINEL_PASSWORD, REDIS_PASSWORD). */
export interface RedisSentinelConfig {
  /** `host:port` of each sentinel (at least one; ioredis learns the others from them). */
  readonly sentinels: readonly string[];
  /** REDIS_SENTINEL_NAME (default `mymaster`): the monitored primary's name. */
  readonly name: string;
  /** REDIS_SENTINEL_PASSWORD (secret): the sentinels' own password; undefined = none. */
  readonly sentinelPassword: string | undefined;
  /** REDIS_PASSWORD (secret): the Redis servers' password; undefined = none. */
  readonly password: string | undefined;
  /** REDIS_TLS (default false): TLS to the Redis servers the sentinels name; undefined = plain TCP. */
  readonly tls?: RedisTlsConfig | undefined;
  /** REDIS_SENTINEL_TLS (default false): TLS to the sentinels; undefined = plain TCP. */
  readonly sentinelTls?: RedisTlsConfig | undefined;
}

/** The PEM text of a CA file, or the problem with it (unreadable, or not a certificate). */
function readCaFile(path: string): { pem: string } | { problem: string } {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    return { problem: `REDIS_TLS_CA_FILE: cannot read ${path}: ${(err as Error).message}` };
  }
  return pem.includes('-----BEGIN CERTIFICATE-----')
    ? { pem }
    : { problem: `REDIS_TLS_CA_FILE: ${path} holds no PEM certificate` };
}

/** Thrown by loadConfig with every bad variable named at once. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** How loadConfig gets a development secret when no key is configured. */
export interface LoadConfigOptions {
  /**
   * Returns the development secret kept in `file` (DEV_SECRET_FILE, or `defaultFile`): main.ts and the
   * token CLI pass `readOrCreateDevSecret`, so every start and every minted token share one secret.
   * Default: none, a random secret for this process only (tests).
   */
  devSecret?: (file: string) => { secret: string; created: boolean };
}

/**
 * Parses and validates `env` (normally process.env). Empty strings count as unset. Throws ConfigError
 * naming every bad variable. Outside production, no key at all means a development secret: the one kept
 * in DEV_SECRET_FILE when `options.devSecret` is given, else a random one for this process.
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  options: LoadConfigOptions = {},
): GatewayConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.message}`);
  // Rules across variables run on the raw values too, so one start reports every problem at once.
  const raw = (name: string): string | undefined => present[name];
  const production = raw('NODE_ENV') === 'production';
  const hasKey = ['JWT_SECRET', 'JWT_PUBLIC_KEY_FILE', 'JWT_KEYS_DIR'].some(
    (name) => raw(name) !== undefined,
  );
  if (!hasKey && production) {
    problems.push(
      'JWT_SECRET: a key is required in production (JWT_SECRET, JWT_PUBLIC_KEY_FILE or JWT_KEYS_DIR)',
    );
  }
  if (production && (raw('CORS_ORIGINS') ?? '').replaceAll(',', '').trim() === '') {
    problems.push('CORS_ORIGINS: required in production (comma-separated origins, or * to allow any)');
  }
  // One Redis topology: a single address, a Cluster, or Sentinel. Each pair set together is named.
  const topologies = ['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'].filter(
    (name) => raw(name) !== undefined,
  );
  const [first, ...others] = topologies;
  for (const other of others) {
    problems.push(
      `${other}: set either ${first ?? ''} or ${other}, not both (one of REDIS_URL, REDIS_CLUSTER_NODES and REDIS_SENTINELS)`,
    );
  }
  // Sentinel's passwords without Sentinel would be silently ignored: a URL carries its own credentials.
  for (const name of ['REDIS_SENTINEL_PASSWORD', 'REDIS_PASSWORD']) {
    if (raw(name) !== undefined && raw('REDIS_SENTINELS') === undefined) {
      problems.push(
        `${name}: only used with REDIS_SENTINELS (with REDIS_URL or REDIS_CLUSTER_NODES, put the password in the URL: redis://:password@host:port)`,
      );
    }
  }
  // TLS for Sentinel's two kinds of connection; a URL or a Cluster seed says `rediss://` itself.
  for (const name of ['REDIS_TLS', 'REDIS_SENTINEL_TLS', 'REDIS_TLS_CA_FILE']) {
    if (raw(name) !== undefined && raw(name) !== 'false' && raw('REDIS_SENTINELS') === undefined) {
      problems.push(
        `${name}: only used with REDIS_SENTINELS (with REDIS_URL or REDIS_CLUSTER_NODES, write rediss:// and trust a private CA with NODE_EXTRA_CA_CERTS)`,
      );
    }
  }
  const caFile = raw('REDIS_TLS_CA_FILE');
  let ca: string | undefined;
  if (caFile !== undefined && raw('REDIS_SENTINELS') !== undefined) {
    if (raw('REDIS_TLS') !== 'true' && raw('REDIS_SENTINEL_TLS') !== 'true') {
      problems.push('REDIS_TLS_CA_FILE: only used with REDIS_TLS=true or REDIS_SENTINEL_TLS=true');
    } else {
      const read = readCaFile(caFile);
      if ('problem' in read) problems.push(read.problem);
      else ca = read.pem;
    }
  }
  if (parsed.success && parsed.data.REDIS_WAIT_REPLICAS > 0) {
    // A keyless WAIT on a Cluster may reach another shard than the write; past the command timeout, the
    // WAIT would fail as an outage instead of falling short.
    if (raw('REDIS_CLUSTER_NODES') !== undefined) {
      problems.push('REDIS_WAIT_REPLICAS: not supported with REDIS_CLUSTER_NODES (use 0)');
    }
    if (parsed.data.REDIS_WAIT_TIMEOUT_MS >= parsed.data.REDIS_COMMAND_TIMEOUT_MS) {
      problems.push('REDIS_WAIT_TIMEOUT_MS: must be less than REDIS_COMMAND_TIMEOUT_MS');
    }
  }
  if (parsed.success && parsed.data.NODE_DEAD_AFTER_SECONDS <= parsed.data.NODE_HEARTBEAT_SECONDS) {
    problems.push('NODE_DEAD_AFTER_SECONDS: must be greater than NODE_HEARTBEAT_SECONDS');
  }
  const packetsPerPoll = parsed.success ? parsed.data.MAX_PACKETS_PER_POLL : undefined;
  if (parsed.success && packetsPerPoll !== undefined && packetsPerPoll < parsed.data.EVENTS_BURST) {
    // A client may legitimately send a whole burst in one long-polling POST.
    problems.push('MAX_PACKETS_PER_POLL: must be at least EVENTS_BURST');
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;

  const generatedDevSecret = !hasKey;
  const devSecretFile =
    generatedDevSecret && options.devSecret ? (e.DEV_SECRET_FILE ?? DEFAULT_DEV_SECRET_FILE) : undefined;
  const kept = devSecretFile === undefined ? undefined : options.devSecret?.(devSecretFile);
  return deepFreeze<GatewayConfig>({
    env: e.NODE_ENV,
    nodeId:
      e.NODE_ID ??
      `${hostname()
        .replace(/[^A-Za-z0-9._-]/g, '-')
        .slice(0, 40)}-${process.pid}`,
    log: { level: e.LOG_LEVEL },
    http: {
      port: e.PORT,
      host: e.HOST,
      listenBacklog: e.LISTEN_BACKLOG,
      corsOrigins: e.CORS_ORIGINS,
      allowLocalhostOrigins: e.NODE_ENV === 'development',
      trustProxy: e.TRUST_PROXY,
    },
    auth: {
      secret: generatedDevSecret ? (kept?.secret ?? randomBytes(32).toString('base64url')) : e.JWT_SECRET,
      secretKid: e.JWT_SECRET_KID,
      publicKeyFile: e.JWT_PUBLIC_KEY_FILE,
      keysDir: e.JWT_KEYS_DIR,
      algorithms: e.JWT_ALGORITHMS,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      clockToleranceSeconds: e.JWT_CLOCK_TOLERANCE_SECONDS,
      expiryWarningSeconds: e.AUTH_EXPIRY_WARNING_SECONDS,
      maxLifetimeSeconds: e.JWT_MAX_LIFETIME_SECONDS,
      generatedDevSecret,
    },
    devSecret:
      devSecretFile === undefined || kept === undefined
        ? undefined
        : { file: devSecretFile, created: kept.created },
    service: { token: e.SERVICE_TOKEN },
    store: {
      redisUrl: e.REDIS_URL,
      redisClusterNodes: e.REDIS_CLUSTER_NODES,
      redisSentinel:
        e.REDIS_SENTINELS === undefined
          ? undefined
          : {
              sentinels: e.REDIS_SENTINELS,
              name: e.REDIS_SENTINEL_NAME,
              sentinelPassword: e.REDIS_SENTINEL_PASSWORD,
              password: e.REDIS_PASSWORD,
              tls: e.REDIS_TLS ? { ca } : undefined,
              sentinelTls: e.REDIS_SENTINEL_TLS ? { ca } : undefined,
            },
      commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
      writeGapMs: e.REDIS_WRITE_GAP_MS,
      wait: { replicas: e.REDIS_WAIT_REPLICAS, timeoutMs: e.REDIS_WAIT_TIMEOUT_MS },
      keyPrefix: e.REDIS_KEY_PREFIX,
      sessionTtlSeconds: e.SESSION_TTL_SECONDS,
      heartbeatSeconds: e.NODE_HEARTBEAT_SECONDS,
      deadAfterSeconds: e.NODE_DEAD_AFTER_SECONDS,
    },
    rooms: { patterns: e.ROOM_PATTERNS, maxPerUser: e.MAX_ROOMS_PER_USER },
    history: { size: e.HISTORY_SIZE, ttlSeconds: e.HISTORY_TTL_SECONDS ?? e.SESSION_TTL_SECONDS },
    limits: {
      maxMessageBytes: e.MAX_MESSAGE_BYTES,
      eventsPerSecond: e.EVENTS_PER_SECOND,
      eventsBurst: e.EVENTS_BURST,
      maxConnectionsPerUser: e.MAX_CONNECTIONS_PER_USER,
      maxOutboundBufferBytes: e.MAX_OUTBOUND_BUFFER_BYTES,
      handshakesPerSecond: e.HANDSHAKES_PER_SECOND,
      // A queued handshake must still attach (up to the store timeout, with a second to spare) before the
      // pending-connection timeout closes it: past that, the queue would hand slots to doomed connections.
      handshakeQueueMaxWaitMs: Math.max(
        0,
        Math.min(e.HANDSHAKE_QUEUE_MAX_WAIT_MS, e.CONNECT_TIMEOUT_MS - e.REDIS_COMMAND_TIMEOUT_MS - 1000),
      ),
      handshakesPerIpPerSecond: e.HANDSHAKES_PER_IP_PER_SECOND,
      floodDisconnectAfterRefusals: e.FLOOD_DISCONNECT_AFTER_REFUSALS,
      maxPacketsPerPoll: e.MAX_PACKETS_PER_POLL ?? Math.max(500, 2 * e.EVENTS_BURST),
      maxPendingHandshakes: e.MAX_PENDING_HANDSHAKES,
    },
    engine: {
      pingIntervalMs: e.PING_INTERVAL_MS,
      pingTimeoutMs: e.PING_TIMEOUT_MS,
      connectTimeoutMs: e.CONNECT_TIMEOUT_MS,
    },
    claims: {
      holdSeconds: e.SEAT_HOLD_SECONDS,
      admissionSecret: e.ADMISSION_SECRET,
      admissionTtlSeconds: e.ADMISSION_TOKEN_TTL_SECONDS,
      queuePushIntervalMs: e.QUEUE_PUSH_INTERVAL_MS,
      sweepIntervalMs: e.CLAIM_SWEEP_INTERVAL_MS,
      seatUpdateIntervalMs: e.SEAT_UPDATE_INTERVAL_MS,
    },
    trace: { file: e.CONNECTION_TRACE_FILE, key: e.CONNECTION_TRACE_KEY },
    drain: { seconds: e.DRAIN_SECONDS, graceSeconds: e.DRAIN_GRACE_SECONDS },
  });
}
