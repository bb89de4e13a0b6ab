import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PendingHandshakes } from '../../../../src/transport/engine/pending-handshakes.ts';

/** An engine connection that closes (and says so) when told to, recording how. */
class FakeConnection extends EventEmitter {
  closedWith: boolean | undefined;
  close(discard?: boolean): void {
    this.closedWith = discard ?? false;
    this.emit('close');
  }
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('PendingHandshakes', () => {
  it('counts connections until they complete CONNECT or close', () => {
    const counts: number[] = [];
    const pending = new PendingHandshakes(10_000, (n) => counts.push(n));
    const [a, b, c] = [new FakeConnection(), new FakeConnection(), new FakeConnection()];
    for (const conn of [a, b, c]) pending.add(conn);
    pending.settle(a);
    b.emit('close');
    pending.settle(a); // twice: no change
    expect(pending.size).toBe(1);
    expect(counts).toEqual([1, 2, 3, 2, 1]);
  });

  it('closes a connection still pending at the timeout, discarding its transport, and no other', () => {
    const pending = new PendingHandshakes(10_000, () => undefined);
    const [silent, authenticated] = [new FakeConnection(), new FakeConnection()];
    pending.add(silent);
    pending.add(authenticated);
    vi.advanceTimersByTime(5_000);
    pending.settle(authenticated);
    vi.advanceTimersByTime(4_999);
    expect(silent.closedWith).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(silent.closedWith).toBe(true);
    expect(authenticated.closedWith).toBeUndefined();
    expect(pending.size).toBe(0);
  });
});
