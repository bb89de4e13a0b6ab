import { describe, expect, it, vi } from 'vitest';
import type { Principal } from '../../../src/auth/index.ts';
import { createGatewayMetrics } from '../../../src/metrics/gateway-metrics.ts';
import { guardInbound, type FloodReport, type GuardLimits } from '../../../src/transport/socket-guards.ts';
import type { GatewaySocket } from '../../../src/transport/socket-types.ts';

const LIMITS: GuardLimits = {
  maxMessageBytes: 1024,
  eventsPerSecond: 10,
  eventsBurst: 10,
  maxOutboundBufferBytes: 1 << 20,
  clockToleranceSeconds: 5,
  floodDisconnectAfterRefusals: 50,
};

type Middleware = (packet: unknown[], next: (err?: Error) => void) => void;

/** Just what guardInbound touches: `use`, `emit` and `data`; a fake monotonic clock drives its buckets. */
function setup(limits: GuardLimits = LIMITS) {
  let middleware: Middleware | undefined;
  const principal: Principal = Object.freeze({
    userId: 'flooder',
    expiresAtMs: Date.now() + 3600_000,
    claims: Object.freeze({ sub: 'flooder' }),
    issuedAtSeconds: Math.floor(Date.now() / 1000),
  });
  const fake = {
    data: { principal, expired: false },
    use: (fn: Middleware) => {
      middleware = fn;
    },
    emit: vi.fn<(event: string, ...args: unknown[]) => boolean>(() => true),
  };
  const metrics = createGatewayMetrics({ nodeId: 'unit', collectDefaults: false });
  let clockMs = 0;
  const floods: FloodReport[] = [];
  guardInbound(fake as unknown as GatewaySocket, limits, {
    metrics,
    clock: () => clockMs,
    onExpired: () => undefined,
    onFlooded: (_socket, report) => floods.push(report),
  });
  const acks: unknown[] = [];
  let passed = 0;
  /** Sends one `room:join` with an ack through the guard. */
  const send = (): void => {
    if (middleware === undefined) throw new Error('guard not installed');
    middleware(['room:join', { room: 'x' }, (reply: unknown) => acks.push(reply)], () => (passed += 1));
  };
  const pushed = (event: string): unknown[] =>
    fake.emit.mock.calls.filter(([name]) => name === event).map(([, payload]) => payload);
  const counted = async (name: string, label: string): Promise<number> => {
    const values = (await metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
    return values.filter((v) => Object.values(v.labels).includes(label)).reduce((n, v) => n + v.value, 0);
  };
  return {
    send,
    acks,
    floods,
    pushed,
    counted,
    passed: () => passed,
    advance: (ms: number) => (clockMs += ms),
  };
}

describe('guardInbound floods', () => {
  it('answers RATE_LIMITED up to the refusal allowance, then sends RATE_FLOODED once and hands the socket over', async () => {
    const g = setup();
    for (let i = 0; i < 10 + 50; i++) g.send();
    expect(g.passed()).toBe(10);
    expect(g.acks).toHaveLength(50);
    expect(g.acks.every((a) => (a as { error: { code: string } }).error.code === 'RATE_LIMITED')).toBe(true);
    expect(g.floods).toEqual([]);

    g.send(); // the 51st refusal spends the allowance
    expect(g.floods).toEqual([{ event: 'room:join', refusals: 50 }]);
    expect(g.pushed('protocol:error')).toEqual([
      expect.objectContaining({ code: 'RATE_FLOODED', retryable: false, event: 'room:join' }),
    ]);
    expect(await g.counted('stayline_rejections_total', 'RATE_FLOODED')).toBe(1);
  });

  it('reads, counts and answers nothing the socket sends after the cut', async () => {
    const g = setup();
    for (let i = 0; i < 10 + 51; i++) g.send();
    const eventsBefore = await g.counted('stayline_events_in_total', 'room:join');
    g.advance(60_000); // even with full buckets again
    for (let i = 0; i < 10_000; i++) g.send();
    expect(g.acks).toHaveLength(50);
    expect(g.passed()).toBe(10);
    expect(g.floods).toHaveLength(1);
    expect(g.pushed('protocol:error')).toHaveLength(1);
    expect(await g.counted('stayline_events_in_total', 'room:join')).toBe(eventsBefore);
  });

  it('never cuts a socket refused at a steady pace below a tenth of the allowance per second', () => {
    const g = setup();
    for (let i = 0; i < 10; i++) g.send(); // the burst
    // 14 events per second against a budget of 10: four refusals per second; the allowance refills 5/s.
    for (let second = 0; second < 120; second++) {
      for (let i = 0; i < 14; i++) {
        g.advance(1000 / 14);
        g.send();
      }
    }
    expect(g.floods).toEqual([]);
    expect(g.passed()).toBeGreaterThan(10 + 119 * 10);
    expect(g.acks.length).toBeGreaterThan(100);
  });

  it('cuts a socket refused steadily faster than the allowance refills', () => {
    const g = setup();
    for (let i = 0; i < 10; i++) g.send();
    // 20 events per second: ten refusals per second against a refill of five, so the 50 run out in ~10 s.
    let seconds = 0;
    while (g.floods.length === 0 && seconds < 60) {
      for (let i = 0; i < 20; i++) {
        g.advance(1000 / 20);
        g.send();
      }
      seconds += 1;
    }
    expect(g.floods).toHaveLength(1);
    expect(seconds).toBeGreaterThanOrEqual(9);
    expect(seconds).toBeLessThanOrEqual(11);
  });
});
