import { describe, expect, it, vi } from 'vitest';
import type { Logger } from '../../../../src/infra/logger.ts';
import { NotReadyError } from '../../../../src/infra/redis-role.ts';
import { createReadiness } from '../../../../src/transport/http/readiness.ts';

function recordingLogger() {
  const lines: { level: string; fields: Record<string, unknown> }[] = [];
  const log = {
    warn: (fields: Record<string, unknown>) => lines.push({ level: 'warn', fields }),
    info: (fields: Record<string, unknown>) => lines.push({ level: 'info', fields }),
  } as unknown as Logger;
  return { log, lines };
}

describe('createReadiness: states, cache and logging', () => {
  it('shows the state a NotReadyError names, and unavailable for any other failure', async () => {
    const readiness = createReadiness(
      [
        { name: 'store', ping: () => Promise.reject(new NotReadyError('replica', 'a replica')) },
        { name: 'pubsub', ping: () => Promise.reject(new NotReadyError('not-subscribed', 'no channels')) },
        { name: 'claims', ping: () => Promise.reject(new Error('boom')) },
      ],
      () => false,
    );
    expect(await readiness()).toEqual({
      ready: false,
      checks: { draining: 'ok', store: 'replica', pubsub: 'not-subscribed', claims: 'unavailable' },
    });
  });

  it('runs a check at most once per cacheMs, concurrent probes sharing one run', async () => {
    let now = 0;
    const ping = vi.fn(() => Promise.resolve());
    const readiness = createReadiness([{ name: 'store', ping }], () => false, {
      cacheMs: 1000,
      now: () => now,
    });
    await Promise.all([readiness(), readiness(), readiness()]);
    now = 999;
    await readiness();
    expect(ping).toHaveBeenCalledTimes(1);
    now = 1000;
    await readiness();
    expect(ping).toHaveBeenCalledTimes(2);
  });

  it('logs why a check fails once per reason, and once when it passes again', async () => {
    const { log, lines } = recordingLogger();
    let failure: Error | undefined = new NotReadyError('replica', 'connected to a read-only replica');
    const readiness = createReadiness(
      [{ name: 'store', ping: () => (failure ? Promise.reject(failure) : Promise.resolve()) }],
      () => false,
      { log },
    );
    await readiness();
    await readiness();
    await readiness();
    failure = new Error('connection refused');
    await readiness();
    failure = new NotReadyError('replica', 'connected to a read-only replica');
    await readiness();
    failure = undefined;
    await readiness();
    await readiness();
    expect(lines).toEqual([
      {
        level: 'warn',
        fields: { check: 'store', state: 'replica', reason: 'connected to a read-only replica' },
      },
      { level: 'warn', fields: { check: 'store', state: 'unavailable', reason: 'connection refused' } },
      { level: 'info', fields: { check: 'store' } },
    ]);
  });

  it('logs nothing for a check that has always passed', async () => {
    const { log, lines } = recordingLogger();
    const readiness = createReadiness([{ name: 'store', ping: () => Promise.resolve() }], () => false, {
      log,
    });
    await readiness();
    expect(lines).toEqual([]);
  });
});
