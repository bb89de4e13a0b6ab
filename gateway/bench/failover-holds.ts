/**
 * Benchmark, not a test: what REDIS_WAIT_REPLICAS buys and costs through the whole gateway (issue 16).
 *
 *   node --import tsx gateway/bench/failover-holds.ts [--holders 40] [--delay-ms 150] [--wait 0|1]
 *        [--interval-ms 100] [--cost-seconds 5] [--cost-clients 50] [--only loss|cost]
 *
 * - loss: dev/failover-holds.ts once per WAIT setting (default both, 0 then 1), each on its own primary,
 *   replica delayed by `delay-ms` through a proxy, three sentinels and two gateway processes: `holders`
 *   clients hold a new seat every `interval-ms` across four events, the primary is SIGKILLed after 3 s and
 *   the load runs on for 2 s after both nodes are ready again. Counts acknowledged holds missing on the new
 *   primary and fences handed to two users (or not above the earlier ones).
 * - cost: bench/wait-cost.ts: seat:hold throughput through a gateway with REDIS_WAIT_REPLICAS=1 beside one
 *   with 0, on one primary with one real replica (no delay), in alternating rounds of `cost-seconds`.
 * Every process started is stopped by pid; the run is bounded (each failover waits at most 30 s).
 * Prints markdown tables.
 */
import { parseArgs } from 'node:util';
import { runFailoverHolds, type FailoverHoldsResult } from '../../dev/failover-holds.ts';
import { runWaitCost } from './wait-cost.ts';

const { values } = parseArgs({
  options: {
    holders: { type: 'string', default: '40' },
    'delay-ms': { type: 'string', default: '150' },
    wait: { type: 'string' },
    'interval-ms': { type: 'string', default: '100' },
    'cost-seconds': { type: 'string', default: '5' },
    'cost-clients': { type: 'string', default: '50' },
    only: { type: 'string' },
  },
});
const waits = values.wait === undefined ? [0, 1] : [Number(values.wait)];
if (waits.some((w) => w !== 0 && w !== 1)) throw new Error('--wait takes 0 or 1');
const only = values.only;
if (only !== undefined && only !== 'loss' && only !== 'cost') throw new Error('--only takes loss or cost');

const codes = (refused: Record<string, number>): string =>
  Object.entries(refused)
    .map(([code, n]) => `${n} ${code}`)
    .join(', ') || 'none';

function lossTable(results: readonly FailoverHoldsResult[]): string {
  const lines = [
    '| REDIS_WAIT_REPLICAS | acked before SIGKILL | hold ack p50 / p99 before it | acked after | **acked but lost** | fences repeated | new fences not above earlier | refused before SIGKILL | refused in all | promoted after | both /readyz 200 after |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.waitReplicas} | ${r.ackedBeforeKill} | ${r.ackMsBeforeKill.p50} / ${r.ackMsBeforeKill.p99} ms | ${r.ackedAfterKill} | **${r.lost.length}** | ${r.repeatedFences} | ${r.fencesNotAbove} | ${r.refusedBeforeKill} | ${codes(r.refused)} | ${(r.promotedAfterMs / 1000).toFixed(1)} s | ${(r.readyAfterMs / 1000).toFixed(1)} s |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const holders = Number(values.holders);
  const delayMs = Number(values['delay-ms']);
  if (only !== 'cost') {
    const results: FailoverHoldsResult[] = [];
    for (const waitReplicas of waits) {
      const result = await runFailoverHolds({
        holders,
        waitReplicas,
        delayMs,
        holdIntervalMs: Number(values['interval-ms']),
        log: (line) => console.error(`[wait ${waitReplicas}] ${line}`),
      });
      const sample = result.lost
        .slice(0, 3)
        .map((h) => `${h.user} ${h.eventId}/${h.seatId} fence ${h.fence}`)
        .join('; ');
      console.error(`[wait ${waitReplicas}] lost ${result.lost.length}${sample ? ` (e.g. ${sample})` : ''}`);
      results.push(result);
    }
    console.log(
      `\nfailover-holds: ${holders} holders, a hold each per ${values['interval-ms']} ms, replication delayed ${delayMs} ms, primary SIGKILLed after 3 s\n`,
    );
    console.log(lossTable(results));
  }
  if (only !== 'loss') {
    const cost = await runWaitCost({
      clients: Number(values['cost-clients']),
      seconds: Number(values['cost-seconds']),
      log: (line) => console.error(`[cost] ${line}`),
    });
    console.log(`\n${cost}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
