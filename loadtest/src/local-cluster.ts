/**
 * A local cluster for the tester: one redis-server and N real gateway processes (the same helpers the
 * gateway's own tests use, from gateway/test/support), optionally beside the plain socket.io baseline of
 * gateway/bench/plain-server.ts. Everything listens on 127.0.0.1 and is stopped by pid in `stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startGatewayProcess, type GatewayProcess } from '../../gateway/test/support/gateway.ts';
import { startRedis, type RedisProcess } from '../../gateway/test/support/redis.ts';

const PLAIN_SERVER = fileURLToPath(new URL('../../gateway/bench/plain-server.ts', import.meta.url));

export interface LocalClusterOptions {
  nodes: number;
  /** Extra gateway environment (PING_INTERVAL_MS, HANDSHAKES_PER_SECOND...). */
  env?: Record<string, string>;
  /** Also start the plain socket.io + redis-adapter server on the same Redis. */
  plain?: boolean;
  /**
   * `relaxed` (default): limits that let a run measure the path, not the admission limit
   * (HANDSHAKES_PER_SECOND 1,000,000, EVENTS_PER_SECOND and EVENTS_BURST 1,000). `gateway`: the gateway's
   * own defaults, for runs that test the defences (abuse). `env` overrides either.
   */
  limits?: 'relaxed' | 'gateway';
}

export interface LocalCluster {
  redis: RedisProcess;
  nodes: GatewayProcess[];
  secret: string;
  serviceToken: string;
  plain: { url: string; child: ChildProcess } | undefined;
  urls(): string[];
  stop(): Promise<void>;
}

/**
 * Starts one plain socket.io server (stock Socket.IO with the Redis adapter) on `redisUrl`; with
 * `jwtSecret`, it checks tokens in `io.use` the way a hand-rolled setup does.
 */
export function startPlain(
  redisUrl: string,
  jwtSecret?: string,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', PLAIN_SERVER], {
    env: {
      PATH: process.env['PATH'],
      REDIS_URL: redisUrl,
      ...(jwtSecret === undefined ? {} : { JWT_SECRET: jwtSecret }),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', (chunk: Buffer) => {
      const { port } = JSON.parse(chunk.toString()) as { port: number };
      resolve({ url: `http://127.0.0.1:${port}`, child });
    });
    child.once('exit', (code) => reject(new Error(`plain server exited ${String(code)}`)));
  });
}

export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const redis = await startRedis();
  const secret = randomBytes(32).toString('base64url');
  const serviceToken = randomBytes(24).toString('base64url');
  const nodes: GatewayProcess[] = [];
  let plain: LocalCluster['plain'];
  const stop = async (): Promise<void> => {
    plain?.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
    await redis.stop();
  };
  try {
    const env: Record<string, string> = {
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      JWT_SECRET: secret,
      REDIS_URL: redis.url,
      SERVICE_TOKEN: serviceToken,
      NODE_HEARTBEAT_SECONDS: '1',
      NODE_DEAD_AFTER_SECONDS: '3',
      SHUTDOWN_GRACE_SECONDS: '5',
      DRAIN_SECONDS: '5',
      // The tester measures the path, not the admission limit; pass HANDSHAKES_PER_SECOND to test that.
      ...(options.limits === 'gateway'
        ? {}
        : { HANDSHAKES_PER_SECOND: '1000000', EVENTS_PER_SECOND: '1000', EVENTS_BURST: '1000' }),
      ...options.env,
    };
    for (let i = 0; i < options.nodes; i++) {
      nodes.push(await startGatewayProcess({ ...env, NODE_ID: `node-${i + 1}`, LOG_LEVEL: 'info' }));
    }
    if (options.plain) plain = await startPlain(redis.url);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    redis,
    nodes,
    secret,
    serviceToken,
    plain,
    urls: () => nodes.map((n) => n.url),
    stop,
  };
}
