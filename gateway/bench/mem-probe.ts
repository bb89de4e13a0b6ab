/**
 * Benchmark helper, preloaded into a server under measurement (`NODE_OPTIONS='--import tsx --import <this
 * file>'`; the command line's own `--import tsx` then finds tsx already loaded), so the
 * gateway and the plain server are measured the same way without a line of measuring code in either.
 * On SIGUSR2 it forces full garbage collections and writes one JSON line to MEM_PROBE_FILE (appending):
 * `{ rss, heapUsed, external, arrayBuffers }` in bytes; with MEM_PROBE_SNAPSHOT set to a directory it
 * also writes a heap snapshot there (for a by-constructor diff; slow, diagnosis only).
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';

const file = process.env['MEM_PROBE_FILE'];
if (file !== undefined) {
  // `gc` without --expose-gc on the command line: the flag set at run time applies to new contexts.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  process.on('SIGUSR2', () => {
    // Several rounds: weak maps and finalizers free more on the second pass.
    for (let i = 0; i < 4; i++) gc();
    const m = process.memoryUsage();
    const snapshotDir = process.env['MEM_PROBE_SNAPSHOT'];
    const snapshot =
      snapshotDir === undefined
        ? undefined
        : writeHeapSnapshot(join(snapshotDir, `${process.pid}-${Date.now()}.heapsnapshot`));
    appendFileSync(
      file,
      `${JSON.stringify({ at: Date.now(), rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, snapshot })}\n`,
    );
  });
}
