/**
 * config/ owns every environment variable name: the schema below, and loadConfig() that turns an env
 * object into a frozen, typed, nested GatewayConfig. Nothing else in the gateway reads process.env.
 */
import { z } from 'zod';

const commaList = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0),
);

/** Whole decimal numbers only: " ", "0x50" and "1e3" are errors, not 0, 80 and 1000. */
const wholeNumber = z
  .string()
  .regex(/^\d{1,15}$/, 'expected a whole number')
  .transform(Number);
const positiveInt = wholeNumber.pipe(z.number().int().positive());
/** Strict booleans: `true` or `false` only ("0", "yes" and "False" are errors, never a guess). */
const booleanFlag = z.enum(['true', 'false']).transform((v) => v === 'true');
const nonNegativeInt = wholeNumber.pipe(z.number().int().nonnegative());

export const JWT_ALGORITHM_NAMES = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'ES512',
] as const;

/** The raw environment schema: names and defaults exactly as documented in docs/configuration.md. */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: wholeNumber.pipe(z.number().int().max(65535)).default('3000'),
  HOST: z.string().min(1).default('0.0.0.0'),
  LISTEN_BACKLOG: positiveInt.pipe(z.number().max(65535)).default('4096'),
  NODE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1-64 of A-Z a-z 0-9 . _ -')
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  JWT_SECRET: z.string().min(32, 'expected at least 32 characters').optional(),
  JWT_SECRET_KID: z.string().min(1).optional(),
  JWT_PUBLIC_KEY_FILE: z.string().min(1).optional(),
  JWT_KEYS_DIR: z.string().min(1).optional(),
  JWT_ALGORITHMS: commaList.pipe(z.array(z.enum(JWT_ALGORITHM_NAMES)).min(1)).optional(),
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).optional(),
  JWT_CLOCK_TOLERANCE_SECONDS: nonNegativeInt.pipe(z.number().max(300)).default('5'),
  AUTH_EXPIRY_WARNING_SECONDS: positiveInt.pipe(z.number().max(3600)).default('60'),
  /** Longest token lifetime accepted (exp - iat); revocations are kept this long (plus the tolerance). */
  JWT_MAX_LIFETIME_SECONDS: positiveInt.pipe(z.number().max(366 * 24 * 3600)).default('86400'),

  CORS_ORIGINS: commaList.default(''),
  /** Development only: where the generated JWT secret is kept between starts (default .stayline/dev-secret). */
  DEV_SECRET_FILE: z.string().min(1).optional(),
  SERVICE_TOKEN: z.string().min(16, 'expected at least 16 characters').optional(),

  REDIS_URL: z.string().url('expected a redis:// or rediss:// URL').optional(),
  /** Redis Cluster seed nodes, `host:port` comma-separated; instead of REDIS_URL. */
  REDIS_CLUSTER_NODES: commaList
    .pipe(
      z
        .array(
          z
            .string()
            .regex(
              /^(rediss?:\/\/([^@/\s]+@)?)?[A-Za-z0-9.-]+:\d{1,5}$/,
              'expected host:port, or rediss://[user:password@]host:port',
            ),
        )
        .min(1),
    )
    .optional(),
  /** Redis Sentinel addresses, `host:port` comma-separated; instead of REDIS_URL and REDIS_CLUSTER_NODES. */
  REDIS_SENTINELS: commaList
    .pipe(z.array(z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'expected host:port')).min(1))
    .optional(),
  /** The primary's name the sentinels monitor (`sentinel monitor <name> ...`). */
  REDIS_SENTINEL_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1-64 of A-Z a-z 0-9 . _ -')
    .default('mymaster'),
  /** Secret: the sentinels' `requirepass`. */
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  /** Secret: the password of the Redis servers the sentinels lead to (with REDIS_SENTINELS). */
  REDIS_PASSWORD: z.string().min(1).optional(),
  /** TLS to the Redis servers the sentinels name (with REDIS_SENTINELS; a URL says `rediss://` instead). */
  REDIS_TLS: booleanFlag.default('false'),
  /** TLS to the sentinels themselves (with REDIS_SENTINELS). */
  REDIS_SENTINEL_TLS: booleanFlag.default('false'),
  /** A PEM file of the CA(s) to trust for REDIS_TLS and REDIS_SENTINEL_TLS; unset = Node's default CAs. */
  REDIS_TLS_CA_FILE: z.string().min(1).optional(),
  REDIS_COMMAND_TIMEOUT_MS: positiveInt.pipe(z.number().max(60_000)).default('1000'),
  /** Least time between two writes of a store connection to Redis when busy (infra/redis.ts coalesceWrites). */
  REDIS_WRITE_GAP_MS: nonNegativeInt.pipe(z.number().max(50)).default('3'),
  /** Replicas that must have a hold, release or sale (Redis WAIT) before it is acknowledged; 0 = off. */
  REDIS_WAIT_REPLICAS: nonNegativeInt.pipe(z.number().max(100)).default('0'),
  /** How long that WAIT may take (positive: WAIT 0 would block forever); below REDIS_COMMAND_TIMEOUT_MS. */
  REDIS_WAIT_TIMEOUT_MS: positiveInt.pipe(z.number().max(60_000)).default('500'),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{0,32}$/)
    .default('stayline:'),
  SESSION_TTL_SECONDS: positiveInt.pipe(z.number().max(30 * 24 * 3600)).default('3600'),
  NODE_HEARTBEAT_SECONDS: positiveInt.pipe(z.number().max(300)).default('5'),
  NODE_DEAD_AFTER_SECONDS: positiveInt.pipe(z.number().max(3600)).default('15'),

  /** Messages kept per stream (room, or a user's own stream) for replay; 0 = history off. */
  HISTORY_SIZE: nonNegativeInt.pipe(z.number().max(10_000)).default('100'),
  /** How long a stream's messages can be replayed; unset = SESSION_TTL_SECONDS. */
  HISTORY_TTL_SECONDS: positiveInt.pipe(z.number().max(30 * 24 * 3600)).optional(),

  ROOM_PATTERNS: commaList.default('*'),
  MAX_ROOMS_PER_USER: positiveInt.pipe(z.number().max(10_000)).default('100'),

  MAX_MESSAGE_BYTES: positiveInt.default('65536'),
  EVENTS_PER_SECOND: positiveInt.default('50'),
  EVENTS_BURST: positiveInt.default('100'),
  MAX_CONNECTIONS_PER_USER: positiveInt.default('10'),
  MAX_OUTBOUND_BUFFER_BYTES: positiveInt.default('1048576'),
  HANDSHAKES_PER_SECOND: positiveInt.default('2000'),
  /** Longest a handshake waits in the admission queue before it is refused (and retried by the client). */
  HANDSHAKE_QUEUE_MAX_WAIT_MS: nonNegativeInt.pipe(z.number().max(40_000)).default('10000'),
  /** Handshakes per client IP per second; 0 = off (the default: behind a proxy every client shares its IP). */
  HANDSHAKES_PER_IP_PER_SECOND: nonNegativeInt.default('0'),
  /** The header a trusted load balancer writes the client's IP in (x-forwarded-for, x-real-ip); unset = the peer. */
  TRUST_PROXY: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,64}$/, 'expected a header name, such as x-forwarded-for')
    .transform((v) => v.toLowerCase())
    .optional(),
  /** RATE_LIMITED refusals a socket may collect (refilling at a tenth per second) before it is cut. */
  FLOOD_DISCONNECT_AFTER_REFUSALS: positiveInt.pipe(z.number().max(100_000)).default('300'),
  /** Packets one long-polling POST may carry; unset = the larger of 500 and twice EVENTS_BURST. */
  MAX_PACKETS_PER_POLL: positiveInt.optional(),
  /** Engine.IO connections on this node that have not completed the Socket.IO CONNECT. */
  MAX_PENDING_HANDSHAKES: positiveInt.default('2000'),
  DRAIN_SECONDS: nonNegativeInt.pipe(z.number().max(600)).default('20'),
  /** Seconds a stopping node stays unready but serving before its first drain batch (load balancer catches up). */
  DRAIN_GRACE_SECONDS: nonNegativeInt.pipe(z.number().max(120)).default('3'),

  PING_INTERVAL_MS: positiveInt.default('25000'),
  PING_TIMEOUT_MS: positiveInt.default('20000'),
  /** How long an Engine.IO connection may stay without a completed Socket.IO CONNECT (socket.io `connectTimeout`). */
  CONNECT_TIMEOUT_MS: positiveInt.pipe(z.number().min(100).max(120_000)).default('15000'),

  /** Queue and seat holds (docs/queue-and-seats.md). */
  SEAT_HOLD_SECONDS: positiveInt.pipe(z.number().max(24 * 3600)).default('300'),
  ADMISSION_SECRET: z.string().min(32, 'expected at least 32 characters').optional(),
  ADMISSION_TOKEN_TTL_SECONDS: positiveInt.pipe(z.number().max(24 * 3600)).default('600'),
  QUEUE_PUSH_INTERVAL_MS: positiveInt.pipe(z.number().min(100).max(60_000)).default('1000'),
  CLAIM_SWEEP_INTERVAL_MS: positiveInt.pipe(z.number().min(100).max(60_000)).default('1000'),
  SEAT_UPDATE_INTERVAL_MS: positiveInt.pipe(z.number().min(20).max(10_000)).default('250'),

  /** Opt-in: append a JSON-lines connection trace (anonymised users) here, for `loadtest replay`. */
  CONNECTION_TRACE_FILE: z.string().min(1).optional(),
  /** HMAC key that anonymises user ids in the trace; unset = a random key per process. */
  CONNECTION_TRACE_KEY: z.string().min(16, 'expected at least 16 characters').optional(),
});

export type RawEnv = z.input<typeof envSchema>;
export type ParsedEnv = z.output<typeof envSchema>;
export type JwtAlgorithmName = (typeof JWT_ALGORITHM_NAMES)[number];
