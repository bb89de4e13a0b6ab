/**
 * The text of a `/metrics` scrape: every metric, or only the families named in the query (`?name[]=a&name[]=b`,
 * as the Prometheus Python client filters). A full scrape costs the node time that grows with its open
 * sockets: prom-client's default collectors list `/proc/self/fd` and every libuv handle on each read (~10 ms
 * of CPU with 5,000 idle sockets, ~1 ms filtered: gateway/bench/scrape-cost.ts). A poller that wants a few series
 * every second (the load tester, an autoscaler) asks for those and skips the rest.
 */
import type { Registry } from 'prom-client';

/** How many names one filtered scrape may list. */
export const MAX_SCRAPE_NAMES = 64;
/** Longest metric name accepted in a filter. */
const MAX_NAME_LENGTH = 200;

/**
 * Families prom-client computes together, in the `collect` of their first member (Node's CPU, event-loop
 * lag, heap spaces): naming any member reads the whole group, so that the member's value is current.
 */
const COMPUTED_TOGETHER = ['process_cpu_', 'nodejs_eventloop_lag_', 'nodejs_heap_space_size_'] as const;

/** The names a query asks for (`name[]` and `name`), undefined for a full scrape, or an error message. */
export function scrapeFilter(search: URLSearchParams): { names?: string[] } | { error: string } {
  const names = [...search.getAll('name[]'), ...search.getAll('name')];
  if (names.length === 0) return {};
  if (names.length > MAX_SCRAPE_NAMES) return { error: `At most ${MAX_SCRAPE_NAMES} metric names.` };
  if (names.some((n) => n.length === 0 || n.length > MAX_NAME_LENGTH))
    return { error: `A metric name has 1 to ${MAX_NAME_LENGTH} characters.` };
  return { names };
}

/** The Prometheus text of `names` (in the registry's order; unknown names are skipped), or of every metric. */
export async function scrapeText(registry: Registry, names?: readonly string[]): Promise<string> {
  if (names === undefined) return registry.metrics();
  const wanted = new Set(names);
  const groupOf = (name: string): string | undefined => COMPUTED_TOGETHER.find((part) => name.includes(part));
  const groups = new Set(names.map(groupOf).filter((g) => g !== undefined));
  const texts: Promise<string>[] = [];
  for (const { name } of registry.getMetricsAsArray()) {
    if (wanted.has(name)) texts.push(registry.getSingleMetricAsString(name));
    else {
      const group = groupOf(name);
      // Read, not shown: its collect sets the values of the named members that follow it.
      if (group !== undefined && groups.has(group)) await registry.getSingleMetric(name)?.get();
    }
  }
  const shown = await Promise.all(texts);
  return shown.length === 0 ? '' : `${shown.join('\n\n')}\n`;
}
