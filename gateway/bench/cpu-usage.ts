/**
 * CPU used so far, for benchmarks that report CPU per operation: a process's (Linux /proc) and Redis' own
 * (INFO cpu). Read before and after a phase; the difference divided by the operations is the figure.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** CPU time (user + system) a process has used so far, in ms (Linux /proc; clock ticks of 10 ms). */
export function processCpuMs(pid: number): number {
  // Fields 14 and 15 of /proc/<pid>/stat, counted after the command name (which may contain spaces).
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Redis' own CPU so far (INFO cpu: used_cpu_user + used_cpu_sys), in ms. */
export async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const read = (field: string) => Number(new RegExp(`${field}:([0-9.]+)`).exec(info)?.[1] ?? NaN);
  return (read('used_cpu_user') + read('used_cpu_sys')) * 1000;
}
