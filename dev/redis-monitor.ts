/**
 * Redis MONITOR for tests and benchmarks (which commands a request or a restore sends), over a plain TCP
 * connection. Not ioredis' `monitor()`: ioredis enters its
 * monitoring state in a promise callback after MONITOR's `+OK`, so a command line that arrives in the same
 * packet as that `+OK` is taken for the reply to a command nobody sent, and ioredis throws "Command queue
 * state error" from its socket's data handler. It did in CI, when the gateway's periodic reads ran just as
 * a test started MONITOR.
 */
import { connect } from 'node:net';

/** One command Redis ran: its arguments (the command name first), and who sent it (`lua` or `ip:port`). */
export interface MonitoredCommand {
  args: string[];
  source: string;
}

export interface RedisMonitor {
  /** Ends the MONITOR connection. */
  stop(): void;
}

const ESCAPES: Record<string, string> = {
  n: '\n',
  r: '\r',
  t: '\t',
  a: '\x07',
  b: '\b',
  '"': '"',
  '\\': '\\',
};

/**
 * Parses one MONITOR line, `<unix time> [<db> <source>] "<arg>" "<arg>" ...` (after the `+`), with its
 * arguments quoted and escaped as Redis' `sdscatrepr` writes them (`\"`, `\\`, `\n`, `\xhh`, ...).
 * Undefined for a line of another shape.
 */
export function parseMonitorLine(line: string): MonitoredCommand | undefined {
  const head = /^\d+\.\d+ \[\d+ ([^\]]+)\] /.exec(line);
  if (!head) return undefined;
  const args: string[] = [];
  let i = head[0].length;
  while (i < line.length) {
    if (line[i] !== '"') return undefined;
    let arg = '';
    i += 1;
    while (i < line.length && line[i] !== '"') {
      if (line[i] !== '\\') {
        arg += line[i++];
        continue;
      }
      const next = line[i + 1] ?? '';
      if (next === 'x') {
        arg += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
        i += 4;
      } else {
        arg += ESCAPES[next] ?? next;
        i += 2;
      }
    }
    args.push(arg);
    i += 2; // the closing quote and the space after it
  }
  return { args, source: head[1]! };
}

/** Starts MONITOR on the Redis at `url` (`redis://host:port`); resolves once Redis has answered `+OK`. */
export function startMonitor(
  url: string,
  onCommand: (command: MonitoredCommand) => void,
): Promise<RedisMonitor> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const monitor: RedisMonitor = { stop: () => socket.destroy() };
  return new Promise((resolve, reject) => {
    let pending = '';
    let ready = false;
    socket.setEncoding('latin1'); // MONITOR escapes every byte outside printable ASCII
    socket.once('error', reject);
    socket.on('connect', () => socket.write('MONITOR\r\n'));
    socket.on('data', (chunk: string) => {
      pending += chunk;
      let end: number;
      while ((end = pending.indexOf('\r\n')) !== -1) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 2);
        if (!ready) {
          if (line !== '+OK') return reject(new Error(`MONITOR answered ${line}`));
          ready = true;
          resolve(monitor);
          continue;
        }
        const command = line.startsWith('+') ? parseMonitorLine(line.slice(1)) : undefined;
        if (command) onCommand(command);
      }
    });
  });
}
