/**
 * Benchmark helper, preloaded into a gateway under measurement (`NODE_OPTIONS='--import tsx --import <this
 * file>'`, as mem-probe.ts): Node 20 refuses `--cpu-prof` in NODE_OPTIONS, so this starts the V8 profiler
 * itself on SIGUSR2 and, on a second SIGUSR2 or when the process exits (a SIGTERM drain ends in `process.exit`),
 * writes a `.cpuprofile` (the format Chrome DevTools and speedscope read) to CPU_PROFILE_DIR. Diagnosis only.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env['CPU_PROFILE_DIR'];
if (dir !== undefined) {
  const session = new Session();
  session.connect();
  // 100 µs: fine enough for a request path of ~100 µs per hold.
  session.post('Profiler.setSamplingInterval', { interval: 100 });
  session.post('Profiler.enable');
  // Started on SIGUSR2 rather than at load: starting it while tsx's loader is still compiling the gateway
  // hung the start (seen here), and a profile of just the measured loop is what we want anyway. A second
  // SIGUSR2 stops it and writes the profile (the load tester's storm ends its window that way).
  let running = false;
  const write = (): void => {
    if (!running) return;
    running = false;
    // An in-thread session answers synchronously, so this also completes inside the 'exit' handler.
    session.post('Profiler.stop', (err, result) => {
      if (err !== null) return;
      // Written aside, then renamed: whoever waits for the file (the load tester's storm) sees it whole.
      const file = join(dir, `${process.pid}.cpuprofile`);
      writeFileSync(`${file}.partial`, JSON.stringify(result.profile));
      renameSync(`${file}.partial`, file);
    });
  };
  process.on('SIGUSR2', () => {
    if (running) return write();
    running = true;
    session.post('Profiler.start');
  });
  process.on('exit', write);
}
