import { describe, expect, it } from 'vitest';
import { capPollingPackets, countPayloadPackets } from '../../../../src/transport/engine/polling-cap.ts';

const payload = (packets: number): string => Array.from({ length: packets }, () => '42[0]').join('\x1e');

describe('countPayloadPackets', () => {
  it('counts the packets of a v4 payload, in a string or in bytes', () => {
    expect(countPayloadPackets('4hello', 10)).toBe(1);
    expect(countPayloadPackets(payload(7), 10)).toBe(7);
    expect(countPayloadPackets(Buffer.from(payload(7)), 10)).toBe(7);
  });

  it('stops counting one past the cap', () => {
    expect(countPayloadPackets(payload(21_000), 500)).toBe(501);
    expect(countPayloadPackets(Buffer.from(payload(21_000)), 500)).toBe(501);
  });
});

describe('capPollingPackets', () => {
  const connection = (name: string) => {
    const decoded: unknown[] = [];
    const conn = { transport: { name, onData: (data: unknown) => void decoded.push(data) } };
    return { conn, decoded };
  };

  it('decodes a POST at the cap and refuses one over it without decoding any of it', () => {
    const { conn, decoded } = connection('polling');
    const exceeded: number[] = [];
    capPollingPackets(conn, 500, (packets) => exceeded.push(packets));
    conn.transport.onData(payload(500));
    expect(decoded).toHaveLength(1);
    expect(exceeded).toEqual([]);
    conn.transport.onData(payload(21_000));
    expect(decoded).toHaveLength(1);
    expect(exceeded).toEqual([501]);
  });

  it('leaves a WebSocket transport alone (one packet per frame)', () => {
    const { conn } = connection('websocket');
    const original = conn.transport.onData;
    capPollingPackets(conn, 1, () => undefined);
    expect(conn.transport.onData).toBe(original);
  });
});
