/**
 * infra/ owns the process-level plumbing other modules share: the structured logger, the Redis client
 * factory, and the bounded zod building blocks of every request schema (bounded-schema.ts). It imports
 * config and errors only (and zod).
 */
import { destination, pino, type DestinationStream, type Logger } from 'pino';

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

/**
 * A JSON logger bound to this node's id; child loggers add a `module` binding. Without a destination it
 * writes stdout synchronously, one write per line. Why not pino's default (asynchronous) stdout: it
 * flushes what is still buffered from an 'exit' handler, retrying every failed write, and when stdout's
 * reader is gone (a closed pipe: EPIPE) that retry never ends, so a node stopped by SIGTERM hung for good
 * with its event loop blocked (`node gateway/dist/main.js | head -2`, then SIGTERM; sonic-boom's
 * flushSync retries any error). Written synchronously, a failed line is known at once (pino then stops
 * writing to the broken pipe) and nothing is left to flush at exit; a crash cannot lose its last lines
 * either. At the default level the node logs a few lines per minute (refusals are sampled), so a write
 * per line costs nothing measurable.
 */
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
    options.destination ?? destination({ dest: 1, sync: true }),
  );
  return base;
}
