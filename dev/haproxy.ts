/**
 * HAProxy for local clusters and deploy/: renders deploy/haproxy/haproxy.cfg.template (for a local
 * cluster, and for docker compose as deploy/haproxy/haproxy.cfg), finds and checks the binary, and starts
 * it in front of gateway nodes with ALB-like cookie stickiness. Used by local-cluster.ts (`npm run
 * cluster`, the HAProxy end-to-end tests) and by the deploy config tests.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { forwardLines, hasExited, killAtExit } from './child-process.ts';

/** The HAProxy template shared by the local cluster and deploy/haproxy/haproxy.cfg (docker compose). */
export const HAPROXY_TEMPLATE_FILE = fileURLToPath(
  new URL('../deploy/haproxy/haproxy.cfg.template', import.meta.url),
);

/** One `server` line of the HAProxy backend. */
export interface HaproxyServer {
  /** The server name, also the value of its stickiness cookie (the node id reads well in both). */
  name: string;
  /** `host:port` */
  address: string;
  /** Extra server options, e.g. `resolvers docker init-addr last,libc,none` under Docker. */
  options?: string;
}

/** The connection cap deploy/haproxy/haproxy.cfg (docker compose) is rendered with. */
export const COMPOSE_HAPROXY_MAXCONN = 50_000;

/**
 * Renders the HAProxy template: `bind` is the frontend's listen address (`127.0.0.1:8080`, `*:8080`),
 * `servers` the gateway nodes, `maxconn` the global and per-frontend connection cap. Throws when the
 * template lacks a placeholder (a renamed one would otherwise produce a config that balances to nothing).
 */
export function renderHaproxyConfig(
  input: { bind: string; servers: readonly HaproxyServer[]; maxconn: number },
  template: string = readFileSync(HAPROXY_TEMPLATE_FILE, 'utf8'),
): string {
  for (const placeholder of ['{{BIND}}', '{{SERVERS}}', '{{MAXCONN}}']) {
    if (!template.includes(placeholder)) throw new Error(`the HAProxy template has no ${placeholder}`);
  }
  if (input.servers.length === 0) throw new Error('an HAProxy backend needs at least one server');
  if (!Number.isInteger(input.maxconn) || input.maxconn < 1) throw new Error('maxconn must be positive');
  const lines = input.servers.map((s) =>
    `    server ${s.name} ${s.address} cookie ${s.name} ${s.options ?? ''}`.trimEnd(),
  );
  return template
    .replaceAll('{{BIND}}', input.bind)
    .replaceAll('{{MAXCONN}}', String(input.maxconn))
    .replaceAll('{{SERVERS}}', lines.join('\n'));
}

/** deploy/haproxy/haproxy.cfg, the docker-compose rendering of the template (a test keeps them equal). */
export const COMPOSE_HAPROXY_FILE = fileURLToPath(new URL('../deploy/haproxy/haproxy.cfg', import.meta.url));

/** The docker-compose rendering: services gateway-1..3 on port 3000, re-resolved through Docker's DNS. */
export function renderComposeHaproxyConfig(template?: string): string {
  const servers = [1, 2, 3].map((i) => ({
    name: `gateway-${i}`,
    address: `gateway-${i}:3000`,
    options: 'resolvers docker init-addr last,libc,none',
  }));
  const body = renderHaproxyConfig({ bind: '*:8080', servers, maxconn: COMPOSE_HAPROXY_MAXCONN }, template);
  return `# GENERATED from haproxy.cfg.template by \`npm run cluster -- --write-compose-haproxy\`: edit the template.\n${body}`;
}

/**
 * The largest maxconn HAProxy can honour here: each proxied connection holds two descriptors (client and
 * server side), and HAProxy refuses to start when `ulimit -Hn` cannot cover 2 x maxconn plus its own.
 */
export function localHaproxyMaxconn(): number {
  const hard = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  const limit = hard === 'unlimited' ? Infinity : Number(hard);
  if (!Number.isFinite(limit) || limit <= 0) return COMPOSE_HAPROXY_MAXCONN;
  return Math.max(100, Math.min(COMPOSE_HAPROXY_MAXCONN, Math.floor((limit - 1000) / 2)));
}

/** The HAProxy binary: HAPROXY_BIN, else `haproxy` on PATH, else Debian's /usr/sbin/haproxy. */
export function findHaproxy(): string | undefined {
  const fromEnv = process.env['HAPROXY_BIN'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  for (const candidate of ['haproxy', '/usr/sbin/haproxy', '/usr/local/sbin/haproxy']) {
    if (spawnSync(candidate, ['-v'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  return undefined;
}

/** Runs `haproxy -c -f <file>`; returns { ok, output } (output holds the warnings or errors). */
export function checkHaproxyConfig(file: string, bin = findHaproxy()): { ok: boolean; output: string } {
  if (bin === undefined) throw new Error('haproxy is not installed (apt-get install haproxy)');
  const result = spawnSync(bin, ['-c', '-f', file], { encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

/**
 * Starts HAProxy in the foreground on `configFile` and resolves once a request through it to `url`
 * reaches a gateway (`/healthz`); kills it and rejects when it exits first or after `timeoutMs`.
 */
export async function startHaproxy(
  bin: string,
  configFile: string,
  url: string,
  timeoutMs: number,
  onLine: (line: string) => void,
): Promise<ChildProcess> {
  // -db: stay in the foreground, so the pid we hold is HAProxy itself and Ctrl-C reaches it.
  const child = killAtExit(spawn(bin, ['-db', '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let tail = '';
  const keep = (line: string): void => {
    tail = `${tail}${line}\n`.slice(-4000);
    onLine(line);
  };
  forwardLines(child.stdout, keep);
  forwardLines(child.stderr, keep);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (hasExited(child)) {
      throw new Error(`haproxy exited during start (${child.exitCode ?? child.signalCode}):\n${tail}`);
    }
    // Through HAProxy to a node: proves the frontend listens and a backend server answers.
    const ok = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`haproxy did not answer on ${url} within ${timeoutMs} ms:\n${tail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
