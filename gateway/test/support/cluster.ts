/**
 * Several real gateway processes on one real redis-server, as operators run them (no load balancer: tests
 * pick the node each client talks to). Everything is stopped by `stop()`, processes by pid.
 */
import { baseEnv, startGatewayProcess, type GatewayProcess } from '../../../dev/gateway-process.ts';
import {
  startRedis,
  startRedisCluster,
  type RedisClusterProcess,
  type RedisProcess,
} from '../../../dev/redis.ts';

export const SERVICE_TOKEN = 'cluster-test-service-token-0123456789';

export interface TestCluster {
  /** The single redis-server (undefined on a Redis Cluster). */
  redis: RedisProcess | undefined;
  /** The Redis Cluster (undefined on a single redis-server). */
  redisCluster: RedisClusterProcess | undefined;
  nodes: GatewayProcess[];
  env: Record<string, string | undefined>;
  /** Starts one more node with the same env (used to replace a killed one). */
  addNode(id: string): Promise<GatewayProcess>;
  /** POST /v1/publish on `node`. */
  publish(node: GatewayProcess, body: Record<string, unknown>): Promise<Response>;
  stop(): Promise<void>;
}

export async function startCluster(
  options: { nodes?: number; env?: Record<string, string>; redis?: 'single' | 'cluster' } = {},
): Promise<TestCluster> {
  const onCluster = options.redis === 'cluster';
  const redis = onCluster ? undefined : await startRedis();
  const redisCluster = onCluster ? await startRedisCluster() : undefined;
  const env = baseEnv({
    ...(redis ? { REDIS_URL: redis.url } : { REDIS_CLUSTER_NODES: redisCluster?.seeds.join(',') }),
    SERVICE_TOKEN,
    NODE_HEARTBEAT_SECONDS: '1',
    NODE_DEAD_AFTER_SECONDS: '3',
    REDIS_COMMAND_TIMEOUT_MS: '500',
    EVENTS_PER_SECOND: '5000',
    EVENTS_BURST: '5000',
    ...options.env,
  });
  const start = (id: string): Promise<GatewayProcess> =>
    startGatewayProcess({ ...env, NODE_ID: id, LOG_LEVEL: 'info' });
  const nodes = await Promise.all(
    Array.from({ length: options.nodes ?? 3 }, (_, i) => start(`node-${i + 1}`)),
  );
  return {
    redis,
    redisCluster,
    nodes,
    env,
    async addNode(id) {
      const node = await start(id);
      nodes.push(node);
      return node;
    },
    publish: (node, body) =>
      fetch(`${node.url}/v1/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${SERVICE_TOKEN}` },
        body: JSON.stringify(body),
      }),
    async stop() {
      await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
      await redis?.stop();
      await redisCluster?.stop();
    },
  };
}
