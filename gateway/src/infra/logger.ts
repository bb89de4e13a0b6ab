/**
 * infra/ owns the process-level plumbing other modules share: the structured logger, the Redis client
 * factory, and the bounded zod building blocks of every request schema (bounded-schema.ts). It imports
 * config and errors only (and zod).
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Paths whose values never reach a log line: tokens, secrets, auth headers. */
const REDACT_PATHS = [
  'token',
  '*.token',
  'secret',
  '*.secret',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'auth.token',
  // Redis credentials (REDIS_PASSWORD, REDIS_SENTINEL_PASSWORD), should connection options ever be logged.
  'password',
  '*.password',
  'sentinelPassword',
  '*.sentinelPassword',
];

/** A JSON logger bound to this node's id; child loggers add a `module` binding. */
export function createLogger(options: {
  level: string;
  nodeId: string;
  destination?: DestinationStream;
}): Logger {
  const base = pino(
    {
      level: options.level,
      base: { nodeId: options.nodeId },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    options.destination,
  );
  return base;
}
