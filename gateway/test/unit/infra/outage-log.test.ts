import { describe, expect, it } from 'vitest';
import { captureLog as capture } from '../../support/log-capture.ts';
import { createOutageLog } from '../../../src/infra/outage-log.ts';

describe('the outage log', () => {
  it('logs an outage once when it starts and once when it ends, with its failed calls and length', () => {
    const { log, lines } = capture();
    let now = 1_000;
    const outage = createOutageLog(log, () => now);
    outage.succeeded();
    for (let i = 0; i < 50; i++) outage.failed(i === 0 ? 'attachSocket' : 'joinRoom');
    now = 3_500;
    outage.succeeded();
    outage.succeeded();
    expect(lines.map((l) => l['msg'])).toEqual([
      'store unavailable: calls are answered STORE_UNAVAILABLE (retryable) until it recovers',
      'store available again',
    ]);
    expect(lines[1]).toMatchObject({ downMs: 2_500, failedCalls: 50, firstOperation: 'attachSocket' });
  });

  it('does not call the failures before the first success an outage (the connections are coming up)', () => {
    const { log, lines } = capture();
    const outage = createOutageLog(log);
    outage.failed('ping');
    outage.succeeded();
    expect(lines).toEqual([]);
  });

  it('logs the next outage again', () => {
    const { log, lines } = capture();
    const outage = createOutageLog(log);
    outage.succeeded();
    outage.failed('a');
    outage.succeeded();
    outage.failed('b');
    outage.failed('b');
    outage.succeeded();
    expect(lines).toHaveLength(4);
    expect(lines[3]).toMatchObject({ failedCalls: 2, firstOperation: 'b' });
  });
});
