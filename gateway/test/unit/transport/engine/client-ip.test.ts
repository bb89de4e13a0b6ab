import { describe, expect, it } from 'vitest';
import { clientIp } from '../../../../src/transport/engine/client-ip.ts';
import { PerIpLimiter } from '../../../../src/transport/handshake/per-ip-limiter.ts';

describe('clientIp', () => {
  it('uses the peer address unless TRUST_PROXY names a header', () => {
    expect(clientIp('10.0.0.1', { 'x-forwarded-for': '1.2.3.4' })).toBe('10.0.0.1');
  });
  it('takes the right-most X-Forwarded-For entry: the left ones are the client’s to forge', () => {
    const headers = { 'x-forwarded-for': '6.6.6.6, 1.2.3.4' };
    expect(clientIp('10.0.0.1', headers, 'x-forwarded-for')).toBe('1.2.3.4');
  });
  it('takes another header whole, and falls back to the peer when the header is missing or empty', () => {
    expect(clientIp('10.0.0.1', { 'x-real-ip': ' 1.2.3.4 ' }, 'x-real-ip')).toBe('1.2.3.4');
    expect(clientIp('10.0.0.1', {}, 'x-real-ip')).toBe('10.0.0.1');
    expect(clientIp('10.0.0.1', { 'x-real-ip': '' }, 'x-real-ip')).toBe('10.0.0.1');
  });
  it('bounds the length of what it returns', () => {
    expect(clientIp('p', { 'x-real-ip': 'a'.repeat(10_000) }, 'x-real-ip')).toHaveLength(64);
  });
});

describe('PerIpLimiter', () => {
  it('limits each address on its own and forgets the least recently seen past its bound', () => {
    let now = 0;
    const limiter = new PerIpLimiter(1, 2, () => now, 2);
    expect([limiter.take('a'), limiter.take('a')]).toEqual([0, 0]);
    expect(limiter.take('a')).toBeGreaterThan(0);
    expect(limiter.take('b')).toBe(0);
    limiter.take('c'); // evicts 'a', the least recently seen
    expect(limiter.size).toBe(2);
    expect(limiter.take('a')).toBe(0);
    now = 1000;
    expect(limiter.take('c')).toBe(0);
  });
});
