import { describe, expect, it } from 'vitest';
import { captureLog as capture } from '../../support/log-capture.ts';
import { createLogSampler } from '../../../src/infra/log-sampler.ts';

describe('createLogSampler', () => {
  it('logs at most perWindow lines per key and window, then says how many it suppressed', async () => {
    const { log, lines } = capture();
    let clock = 0;
    const sample = createLogSampler(log, { perWindow: 2, windowMs: 1000, now: () => clock });
    for (let i = 0; i < 50; i++) sample('RATE_LIMITED', 'warn', { i }, 'refused');
    sample('AUTH_INVALID', 'info', {}, 'refused');
    clock = 1000;
    sample('RATE_LIMITED', 'warn', { i: 99 }, 'refused');
    await new Promise((resolve) => setImmediate(resolve));
    const limited = lines.filter((l) => l['msg'] === 'refused' && l['i'] !== undefined);
    expect(limited.map((l) => l['i'])).toEqual([0, 1, 99]);
    expect(limited[2]?.['suppressedSinceLastLine']).toBe(48);
    expect(lines.filter((l) => l['i'] === undefined)).toHaveLength(1);
  });
});
