/**
 * The stock baseline of a kill storm, in the same run: the same number of clients on as many plain
 * socket.io nodes (gateway/bench/plain-server.ts: stock Socket.IO with the Redis adapter, no session, a
 * JWT check in `io.use` when asked), the same client policy and arrival ramp; one node SIGKILLed, and each
 * dropped client's drop → ready (the plain node's `session:restored` on connection) timed the same way the
 * gateway's drop → restored is. What stock Socket.IO gives a hand-rolled setup: a reconnect, no state.
 */
import { startPlain } from '../../../dev/local-cluster.ts';
import type { LatencySummary } from '../report/stats.ts';
import { timeToFraction } from '../report/stats.ts';
import { clientSpec, openRun, sleep, waitUntil, type Context } from './context.ts';

export type StockAuth = 'none' | 'jwt';

export interface StockStormResult {
  nodes: number;
  auth: StockAuth;
  dropped: number;
  restored: number;
  neverRestored: number;
  t95?: number;
  t99?: number;
  t100?: number;
  /** Per client, drop → ready. */
  latency: LatencySummary;
  /** Per client, the attempt that came back: its start → ready. */
  reconnect: LatencySummary;
  /** Of that attempt, its start → the node's Engine.IO open packet (the node accepted and upgraded it). */
  reconnectOpen: LatencySummary;
}

export async function runStockStorm(
  ctx: Context,
  o: {
    clients: number;
    nodes: number;
    auth: StockAuth;
    rampPerSecond: number;
    restoreTimeoutSeconds: number;
  },
): Promise<StockStormResult> {
  const cluster = ctx.cluster;
  if (cluster === undefined)
    throw new Error('the stock baseline needs --start-cluster (it starts its own nodes)');
  const nodes = await Promise.all(
    Array.from({ length: o.nodes }, () =>
      startPlain(cluster.redis.url, o.auth === 'jwt' ? cluster.secret : undefined),
    ),
  );
  const stopNodes = (): void => {
    for (const n of nodes) n.child.kill('SIGKILL');
  };
  ctx.onCleanup(stopNodes);
  const stockCtx: Context = {
    ...ctx,
    urls: nodes.map((n) => n.url),
    cluster: undefined,
  };
  try {
    const run = await openRun(stockCtx, o.clients);
    const { state } = run;
    const t0 = run.now() + 200;
    run.pool.add(
      Array.from({ length: o.clients }, (_, i) =>
        clientSpec(stockCtx, i, {
          label: 'stock',
          startAt: t0 + (i * 1000) / o.rampPerSecond,
          reconnect: true,
          prefix: `${ctx.userPrefix}stock-`,
        }),
      ),
    );
    await waitUntil(() => state.ready.size >= o.clients, (o.clients / o.rampPerSecond) * 2000 + 60_000);
    await sleep(1000);
    const stormAt = run.now();
    state.stormAt = stormAt;
    nodes[0]?.child.kill('SIGKILL');
    stockCtx.urls = nodes.slice(1).map((n) => n.url);
    await waitUntil(
      () => run.now() - stormAt > 1500 && state.droppedIds.size > 0 && state.downSince.size === 0,
      o.restoreTimeoutSeconds * 1000 + 1500,
    );
    const dropped = [...state.droppedIds];
    const times = dropped
      .map((id) => state.restoredAt.get(id))
      .filter((t): t is number => t !== undefined && t >= stormAt);
    const to = (f: number): number | undefined => timeToFraction(times, dropped.length, f, stormAt);
    await run.finish();
    const t95 = to(0.95);
    const t99 = to(0.99);
    const t100 = to(1);
    return {
      nodes: o.nodes,
      auth: o.auth,
      dropped: dropped.length,
      restored: times.length,
      neverRestored: dropped.length - times.length,
      ...(t95 === undefined ? {} : { t95 }),
      ...(t99 === undefined ? {} : { t99 }),
      ...(t100 === undefined ? {} : { t100 }),
      latency: state.restoreLatency.summary(),
      reconnect: state.reconnectLatency.summary(),
      reconnectOpen: state.reconnectOpenLatency.summary(),
    };
  } finally {
    stopNodes();
  }
}
