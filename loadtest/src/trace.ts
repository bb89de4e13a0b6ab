/**
 * The connection trace format (written by the gateway with CONNECTION_TRACE_FILE, see
 * gateway/src/transport/connection-trace.ts), read back for `replay`. JSON Lines:
 *
 *   {"trace":"stayline-connections","version":1,"node":"node-1","startedAt":1767787200000}   header
 *   {"t":1234,"user":"3f9a0c1d2e4b5a69","event":"connect","recovered":true}
 *   {"t":5678,"user":"3f9a0c1d2e4b5a69","event":"disconnect","reason":"transport close"}
 *
 * `t` is ms since the header's `startedAt` (a file without a header counts from 0). Several files (one
 * per node) merge on absolute time; the same anonymised user in two files is one user only if the nodes
 * shared CONNECTION_TRACE_KEY.
 */
import { readFileSync } from 'node:fs';

export interface TraceEvent {
  /** Milliseconds since the earliest event of all files. */
  at: number;
  user: string;
  event: 'connect' | 'disconnect';
  reason?: string;
}

export function readTraces(paths: readonly string[]): TraceEvent[] {
  const raw: { abs: number; user: string; event: 'connect' | 'disconnect'; reason?: string }[] = [];
  for (const path of paths) {
    let startedAt = 0;
    const lines = readFileSync(path, 'utf8').split('\n');
    lines.forEach((line, n) => {
      if (line.trim() === '') return;
      let v: Record<string, unknown>;
      try {
        v = JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`${path}:${n + 1}: not JSON`);
      }
      if (v['trace'] === 'stayline-connections') {
        startedAt = typeof v['startedAt'] === 'number' ? v['startedAt'] : 0;
        return;
      }
      const { t, user, event, reason } = v;
      if (
        typeof t !== 'number' ||
        typeof user !== 'string' ||
        (event !== 'connect' && event !== 'disconnect')
      )
        throw new Error(`${path}:${n + 1}: expected {t, user, event: connect|disconnect}`);
      raw.push({ abs: startedAt + t, user, event, ...(typeof reason === 'string' ? { reason } : {}) });
    });
  }
  raw.sort((a, b) => a.abs - b.abs);
  const first = raw[0]?.abs ?? 0;
  return raw.map(({ abs, ...rest }) => ({ at: abs - first, ...rest }));
}

/**
 * Per user, the replay script: connect at each `connect`, and at each `disconnect` a drop (abrupt), or a
 * polite close when the client itself left ("client namespace disconnect" / "client disconnect"). A
 * server may see a user's new connection before the old one's end (connect, connect, disconnect): the
 * replayed user has one connection, which the second connect replaces, so that disconnect is left out
 * (played in order, it would end the new connection).
 */
export function scriptsByUser(
  events: readonly TraceEvent[],
  speed: number,
): Map<string, { at: number; op: 'connect' | 'drop' | 'close' }[]> {
  const out = new Map<string, { at: number; op: 'connect' | 'drop' | 'close' }[]>();
  const open = new Map<string, number>();
  for (const e of events) {
    let script = out.get(e.user);
    if (!script) out.set(e.user, (script = []));
    const openBefore = open.get(e.user) ?? 0;
    open.set(e.user, e.event === 'connect' ? openBefore + 1 : Math.max(0, openBefore - 1));
    if (e.event === 'disconnect' && openBefore > 1) continue;
    const polite = e.reason === 'client namespace disconnect' || e.reason === 'client disconnect';
    script.push({ at: e.at / speed, op: e.event === 'connect' ? 'connect' : polite ? 'close' : 'drop' });
  }
  return out;
}
