/**
 * The opt-in connection trace (CONNECTION_TRACE_FILE): one JSON line per socket connect and disconnect,
 * so an incident's reconnect storm can be replayed against staging with `npm run loadtest -- replay`.
 * User ids are anonymised with a keyed hash (HMAC-SHA256 under CONNECTION_TRACE_KEY, or a random key per
 * process when unset, so ids cannot be linked across files); no token, address or room ever enters it.
 *
 * Format (JSON Lines; loadtest/README.md documents it):
 *   {"trace":"stayline-connections","version":1,"node":"node-1","startedAt":1767787200000}   first line
 *   {"t":1234,"user":"3f9a0c1d2e4b5a69","event":"connect","recovered":true}
 *   {"t":5678,"user":"3f9a0c1d2e4b5a69","event":"disconnect","reason":"transport close"}
 * `t` is milliseconds since `startedAt`. Lines are buffered and appended every 250 ms (and at exit), so a
 * SIGKILL loses at most the last quarter second.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { appendFile, appendFileSync } from 'node:fs';
import type { Logger } from '../infra/logger.ts';
import type { GatewayServer } from './socket-types.ts';

export interface ConnectionTraceOptions {
  file: string;
  /** HMAC key for user ids; default a random key per process. */
  key: string | undefined;
  nodeId: string;
  log: Logger;
  now?: () => number;
}

/** The anonymised id of `userId`: the first 16 hex characters of HMAC-SHA256(key, userId). */
export function anonymiseUser(key: string, userId: string): string {
  return createHmac('sha256', key).update(userId).digest('hex').slice(0, 16);
}

/** Registers the trace writer on `io`; returns a stop function that flushes what is buffered. */
export function traceConnections(io: GatewayServer, options: ConnectionTraceOptions): () => void {
  const now = options.now ?? Date.now;
  const key = options.key ?? randomBytes(32).toString('hex');
  const startedAt = now();
  let buffer = `${JSON.stringify({ trace: 'stayline-connections', version: 1, node: options.nodeId, startedAt })}\n`;
  let failed = false;
  const flush = (): void => {
    if (buffer === '' || failed) return;
    const chunk = buffer;
    buffer = '';
    appendFile(options.file, chunk, (err) => {
      if (err && !failed) {
        failed = true;
        options.log.error({ err, file: options.file }, 'connection trace write failed; tracing stopped');
      }
    });
  };
  const timer = setInterval(flush, 250);
  timer.unref();
  const flushSync = (): void => {
    if (buffer === '' || failed) return;
    try {
      appendFileSync(options.file, buffer);
    } catch {
      // exiting: nothing left to tell
    }
    buffer = '';
  };
  process.once('exit', flushSync);

  io.on('connection', (socket) => {
    const user = anonymiseUser(key, socket.data.principal.userId);
    buffer += `${JSON.stringify({ t: now() - startedAt, user, event: 'connect', recovered: socket.data.session?.recovered ?? false })}\n`;
    socket.once('disconnect', (reason) => {
      buffer += `${JSON.stringify({ t: now() - startedAt, user, event: 'disconnect', reason })}\n`;
    });
  });
  return () => {
    clearInterval(timer);
    flushSync();
    process.off('exit', flushSync);
  };
}
