/**
 * `npm run cluster [-- --nodes 3 --port 8080 --logs]`: a local Stayline cluster (N gateway nodes, Redis,
 * HAProxy with ALB-like cookie stickiness) in the foreground; Ctrl-C stops all of it, each process by pid.
 * Gateway variables from the environment (JWT_SECRET, REDIS_URL, HANDSHAKES_PER_SECOND...) are passed to
 * every node; without JWT_SECRET one secret is generated for all nodes and a dev token printed.
 */
import { parseArgs } from 'node:util';
import { envSchema } from '../gateway/src/config/schema.ts';
import { writeFileSync } from 'node:fs';
import { COMPOSE_HAPROXY_FILE, renderComposeHaproxyConfig } from '../dev/haproxy.ts';
import { startLocalCluster, type LocalCluster } from '../dev/local-cluster.ts';

const USAGE = `usage: npm run cluster -- [--nodes N] [--port PORT] [--logs]
  --nodes N    gateway nodes behind HAProxy (default 3)
  --port PORT  HAProxy's port on 127.0.0.1 (default 8080; 0 picks a free one)
  --logs       print every node's and HAProxy's log lines, prefixed with their source
  --write-compose-haproxy  re-render deploy/haproxy/haproxy.cfg from the template and exit
Gateway variables (docs/configuration.md) set in the environment go to every node; REDIS_URL uses that
Redis instead of starting one.`;

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

function parseWhole(value: string | undefined, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min) {
    process.stderr.write(`--${name} must be a whole number >= ${min}, not "${value}"\n${USAGE}\n`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string' },
      port: { type: 'string' },
      logs: { type: 'boolean', default: false },
      'write-compose-haproxy': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    out(USAGE);
    return;
  }
  if (values['write-compose-haproxy']) {
    writeFileSync(COMPOSE_HAPROXY_FILE, renderComposeHaproxyConfig());
    out(`wrote ${COMPOSE_HAPROXY_FILE}`);
    return;
  }
  const nodes = parseWhole(values.nodes, 'nodes', 3, 1);
  const port = parseWhole(values.port, 'port', 8080, 0);

  // A development cluster with the gateway's own timings (undefined drops the local cluster's quick
  // test defaults); only the gateway's own variables pass through (PORT/HOST/NODE_ID are per node).
  const env: Record<string, string | undefined> = {
    NODE_ENV: 'development',
    NODE_HEARTBEAT_SECONDS: undefined,
    NODE_DEAD_AFTER_SECONDS: undefined,
    DRAIN_SECONDS: undefined,
  };
  for (const name of Object.keys(envSchema.shape)) {
    const value = process.env[name];
    if (value !== undefined && !['PORT', 'HOST', 'NODE_ID', 'REDIS_URL'].includes(name)) env[name] = value;
  }
  const redisUrl = process.env['REDIS_URL'];

  out(`Starting ${nodes} gateway node(s), ${redisUrl === undefined ? 'redis-server, ' : ''}and HAProxy ...`);
  let cluster: LocalCluster;
  try {
    cluster = await startLocalCluster({
      nodes,
      haproxy: { port },
      env,
      ...(redisUrl === undefined ? {} : { redisUrl }),
      ...(values.logs ? { onLog: (source: string, line: string) => out(`[${source}] ${line}`) } : {}),
    });
  } catch (err) {
    process.stderr.write(`cluster failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }

  const lines = [
    '',
    `  Stayline cluster: ${cluster.url}   (HAProxy, sticky cookie AWSALB)`,
    ...cluster.nodes.map((n) => `    ${n.id.padEnd(8)} ${n.url}   pid ${n.pid}`),
    `    haproxy  pid ${cluster.haproxy?.pid ?? '-'}   config ${cluster.haproxy?.configFile ?? '-'}`,
    `    redis    ${cluster.redis.url}`,
    '',
  ];
  if (cluster.generatedSecret) {
    lines.push(
      '  No JWT_SECRET given: every node shares one throwaway secret (development only).',
      '  Dev token for user "dev-user" (valid 24 h):',
      `  ${cluster.token('dev-user')}`,
      '',
    );
  }
  if (process.env['SERVICE_TOKEN'] === undefined) {
    lines.push(`  Service token (POST /v1/publish...): ${cluster.serviceToken}`, '');
  }
  lines.push(
    `  Probes: ${cluster.url}/readyz  (each node: <node url>/metrics)`,
    '  Ctrl-C stops everything.',
    '',
  );
  out(lines.join('\n'));

  let stopping = false;
  for (const node of cluster.nodes) {
    void node.process.exited.then((code) => {
      if (!stopping) out(`${node.id} (pid ${node.pid}) exited with ${String(code)}`);
    });
  }

  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    out(`\n${signal}: stopping HAProxy, the nodes (graceful, then SIGKILL after 30 s) and Redis ...`);
    cluster.stop({ signal: 'SIGTERM', timeoutMs: 30_000 }).then(
      () => {
        out('stopped.');
        process.exit(0);
      },
      (err: unknown) => {
        process.stderr.write(`stop failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
