/**
 * The stream positions tracker, pure: dedup, jumps, epoch changes, the join ack's position, restores with
 * gaps, what the handshake sends, and bounded memory.
 */
import { describe, expect, it } from 'vitest';
import type { MessagePosition, RestoredSession, StreamName } from '../../src/protocol/index.ts';
import { StreamPositions, trailingPosition } from '../../src/stream-positions.ts';

const at = (stream: StreamName, offset: number, epoch = 'e1'): MessagePosition => ({ stream, epoch, offset });
const restored = (over: Partial<RestoredSession> = {}): RestoredSession => ({
  recovered: true,
  rooms: ['a', 'b'],
  expiresAt: 1,
  queues: [],
  holds: [],
  gaps: [],
  gapReasons: {},
  positions: {},
  ...over,
});

describe('trailingPosition', () => {
  it('reads a well-formed trailing position and nothing else', () => {
    expect(trailingPosition([{ x: 1 }, at('room:a', 3)])).toEqual(at('room:a', 3));
    expect(trailingPosition([null, at('user', 0)])).toEqual(at('user', 0));
    // A volatile message (data only), even when the data looks like a position.
    expect(trailingPosition([at('room:a', 3)])).toBeUndefined();
    for (const bad of [
      'e1:3',
      { stream: 'a', epoch: 'e1', offset: 1 },
      { stream: 'room:a', epoch: '', offset: 1 },
      { stream: 'room:a', epoch: 'x'.repeat(33), offset: 1 },
      { stream: 'room:a', epoch: 'e1', offset: -1 },
      { stream: 'room:a', epoch: 'e1', offset: 1.5 },
      { stream: 'room:a', epoch: 'e1', offset: '1' },
      null,
    ])
      expect(trailingPosition(['data', bad]), JSON.stringify(bad)).toBeUndefined();
  });
});

describe('StreamPositions', () => {
  it('delivers each offset once and in order: a repeat or an older offset is dropped', () => {
    const p = new StreamPositions();
    const verdicts = [1, 2, 2, 1, 3].map((o) => p.accept(at('room:a', o)));
    expect(verdicts.map((v) => v.deliver)).toEqual([true, true, false, false, true]);
    expect(verdicts.every((v) => v.gap === undefined)).toBe(true);
    expect(p.get('room:a')).toEqual({ epoch: 'e1', offset: 3 });
  });

  it('reports a jump in the same epoch as a skipped gap counting the missing messages, and delivers it', () => {
    const p = new StreamPositions();
    p.accept(at('room:a', 4));
    const v = p.accept(at('room:a', 8));
    expect(v).toEqual({
      deliver: true,
      gap: {
        stream: 'room:a',
        room: 'a',
        reason: 'skipped',
        missed: 3,
        before: { epoch: 'e1', offset: 4 },
        after: { epoch: 'e1', offset: 8 },
      },
    });
    // The messages in between arrive late: too late to be delivered in order, so never delivered.
    expect(p.accept(at('room:a', 6)).deliver).toBe(false);
  });

  it('reports a new epoch as epoch-changed and follows it, even to a lower offset', () => {
    const p = new StreamPositions();
    p.accept(at('user', 40));
    const v = p.accept(at('user', 1, 'e2'));
    expect(v.deliver).toBe(true);
    expect(v.gap).toMatchObject({
      stream: 'user',
      room: undefined,
      reason: 'epoch-changed',
      missed: undefined,
    });
    expect(p.accept(at('user', 1, 'e2')).deliver).toBe(false);
    expect(p.accept(at('user', 2, 'e2'))).toEqual({ deliver: true, gap: undefined });
  });

  it('keeps streams apart: one room moving says nothing about another', () => {
    const p = new StreamPositions();
    p.accept(at('room:a', 5));
    expect(p.accept(at('room:b', 5))).toEqual({ deliver: true, gap: undefined });
    expect(p.accept(at('room:b', 6)).deliver).toBe(true);
    expect(p.accept(at('room:a', 5)).deliver).toBe(false);
  });

  it("starts a joined room at the ack's position, but never moves a position it has in that epoch", () => {
    const p = new StreamPositions();
    p.joined('a', { epoch: 'e1', offset: 10 });
    expect(p.accept(at('room:a', 10)).deliver).toBe(false); // published before the join
    expect(p.accept(at('room:a', 11)).deliver).toBe(true);
    // A message that overtook the ack was delivered: a lower ack does not take it back.
    p.accept(at('room:b', 7));
    p.joined('b', { epoch: 'e1', offset: 6 });
    expect(p.get('room:b')).toEqual({ epoch: 'e1', offset: 7 });
    // Joined again while in the room: messages in between are on their way, none may be dropped.
    p.joined('a', { epoch: 'e1', offset: 15 });
    expect(p.accept(at('room:a', 12))).toEqual({ deliver: true, gap: undefined });
    // Another epoch: the ack's position is the new start.
    p.joined('a', { epoch: 'e9', offset: 3 });
    expect(p.get('room:a')).toEqual({ epoch: 'e9', offset: 3 });
    p.joined('c', undefined); // history off: nothing known
    expect(p.get('room:c')).toBeUndefined();
  });

  it('forgets a room it left, so a later join starts over', () => {
    const p = new StreamPositions();
    p.accept(at('room:a', 5));
    p.left('a');
    expect(p.get('room:a')).toBeUndefined();
    expect(p.accept(at('room:a', 2))).toEqual({ deliver: true, gap: undefined });
  });

  it('sends nothing in the handshake until it knows a position, then a copy of every one', () => {
    const p = new StreamPositions();
    expect(p.forHandshake()).toBeUndefined();
    p.accept(at('room:a', 5));
    p.accept(at('user', 2, 'u1'));
    const sent = p.forHandshake();
    expect(sent).toEqual({ 'room:a': { epoch: 'e1', offset: 5 }, user: { epoch: 'u1', offset: 2 } });
    expect(Object.getPrototypeOf(sent)).toBe(Object.prototype); // a plain object for socket.io's JSON
    p.accept(at('room:a', 6));
    expect(sent?.['room:a']?.offset).toBe(5);
  });

  it("turns a restore's gaps into gap events with the server's reason and resets those streams", () => {
    const p = new StreamPositions();
    p.accept(at('room:a', 5));
    p.accept(at('room:b', 9));
    p.accept(at('user', 3));
    const gaps = p.restored(
      restored({
        gaps: ['a'],
        gapReasons: { 'room:a': 'trimmed', user: 'expired' },
        positions: { 'room:a': { epoch: 'e1', offset: 500 }, 'room:b': { epoch: 'e1', offset: 12 } },
      }),
    );
    expect(gaps).toEqual([
      {
        stream: 'room:a',
        room: 'a',
        reason: 'trimmed',
        missed: undefined,
        before: { epoch: 'e1', offset: 5 },
        after: { epoch: 'e1', offset: 500 },
      },
      {
        stream: 'user',
        room: undefined,
        reason: 'expired',
        missed: undefined,
        before: { epoch: 'e1', offset: 3 },
        after: undefined,
      },
    ]);
    expect(p.get('room:a')).toEqual({ epoch: 'e1', offset: 500 });
    expect(p.get('user')).toBeUndefined();
    // No gap for b: the replay that follows brings it from 9 to 12, message by message.
    expect(p.get('room:b')).toEqual({ epoch: 'e1', offset: 9 });
    expect([10, 11, 12, 12].map((o) => p.accept(at('room:b', o)).deliver)).toEqual([true, true, true, false]);
  });

  it('takes the restore position for a stream it knew nothing of, and reports an unflagged epoch change', () => {
    const p = new StreamPositions();
    p.accept(at('room:b', 9));
    const gaps = p.restored(
      restored({
        positions: { 'room:a': { epoch: 'e1', offset: 4 }, 'room:b': { epoch: 'e7', offset: 2 } },
      }),
    );
    expect(gaps).toMatchObject([
      { stream: 'room:b', reason: 'epoch-changed', after: { epoch: 'e7', offset: 2 } },
    ]);
    expect(p.get('room:a')).toEqual({ epoch: 'e1', offset: 4 });
    expect(p.get('room:b')).toEqual({ epoch: 'e7', offset: 2 });
  });

  it('keeps only the restored rooms and the user stream (bounded memory), and tolerates an older gateway', () => {
    const p = new StreamPositions();
    for (const room of ['a', 'b', 'c', 'd']) p.accept(at(`room:${room}`, 1));
    p.accept(at('user', 1));
    const old = restored({ rooms: ['b'] }) as Partial<RestoredSession>;
    delete old.gaps;
    delete old.gapReasons;
    delete old.positions;
    expect(p.restored(old as RestoredSession)).toEqual([]);
    expect(p.size).toBe(2);
    expect(Object.keys(p.forHandshake() ?? {}).sort()).toEqual(['room:b', 'user']);
    // A fresh session (the TTL passed): no rooms, only the user stream remains.
    p.restored(restored({ recovered: false, rooms: [] }));
    expect(p.size).toBe(1);
  });

  it('treats hostile room names as ordinary keys', () => {
    const p = new StreamPositions();
    for (const room of ['__proto__', 'constructor', 'toString']) {
      expect(p.get(`room:${room}`)).toBeUndefined();
      p.joined(room, { epoch: 'e1', offset: 1 });
      expect(p.accept(at(`room:${room}`, 1)).deliver).toBe(false);
      expect(p.accept(at(`room:${room}`, 2)).deliver).toBe(true);
    }
    expect(p.size).toBe(3);
    p.left('__proto__');
    expect(p.size).toBe(2);
  });
});
