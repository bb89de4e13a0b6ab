import { createServer, connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { MessagePosition } from '@stayline/client-sdk/protocol';
import { createHistoryMetrics } from '../../../../src/metrics/history-metrics.ts';
import { MemoryHistoryStore } from '../../../../src/session/memory-history-store.ts';
import {
  StreamSequencer,
  type SequencedMessage,
} from '../../../../src/transport/history/stream-sequencer.ts';

interface Emitted {
  room: string;
  except: readonly string[];
  offset: number;
}

/** A sequencer over an in-memory history, with every emit recorded. */
function setup() {
  const history = new MemoryHistoryStore({ limits: { size: 100, ttlSeconds: 3600 } });
  const emitted: Emitted[] = [];
  const metrics = createHistoryMetrics(new Registry());
  const sequencer = new StreamSequencer({
    history,
    metrics,
    log: pino({ level: 'silent' }),
    hasLocal: () => true,
    emitLocal: (room, except, _event, _data, position: MessagePosition) =>
      emitted.push({ room, except, offset: position.offset }),
    gapWaitMs: 5,
  });
  /** Appends `count` messages to room `news` and returns them as the pub/sub would carry them. */
  const publish = async (count: number): Promise<SequencedMessage[]> => {
    const out: SequencedMessage[] = [];
    for (let i = 0; i < count; i++) {
      const p = await history.append({ kind: 'room', room: 'news' }, 'm', i);
      out.push({ room: 'r:news', epoch: p.epoch, offset: p.offset, event: 'm', data: i });
    }
    return out;
  };
  const offsets = (): number[] => emitted.map((e) => e.offset);
  const until = async (check: () => boolean): Promise<void> => {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
    expect(check()).toBe(true);
  };
  return { sequencer, metrics, publish, offsets, emitted, until };
}

describe('StreamSequencer', () => {
  it('delivers in order once: duplicates are dropped, an early message waits for the late one', async () => {
    const { sequencer, publish, offsets, metrics } = setup();
    const [m1, m2, m3] = await publish(3);
    sequencer.receive(m1!);
    sequencer.receive(m3!);
    sequencer.receive(m1!);
    sequencer.receive(m2!);
    sequencer.receive(m3!);
    expect(offsets()).toEqual([1, 2, 3]);
    expect((await metrics.duplicates.get()).values[0]?.value).toBe(2);
  });

  it('reads what pub/sub lost from history, and delivers it before what came after', async () => {
    const { sequencer, publish, offsets, until, metrics } = setup();
    const messages = await publish(6);
    for (const i of [0, 4, 5]) sequencer.receive(messages[i]!);
    expect(offsets()).toEqual([1]);
    await until(() => offsets().length === 6);
    expect(offsets()).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await metrics.repaired.get()).values.find((v) => v.labels.trigger === 'gap')?.value).toBe(3);
  });

  it('catches every stream up after a resubscribe, even when nothing follows the lost messages', async () => {
    const { sequencer, publish, offsets, until } = setup();
    const messages = await publish(4);
    sequencer.receive(messages[0]!);
    sequencer.catchUpAll();
    await until(() => offsets().length === 4);
    expect(offsets()).toEqual([1, 2, 3, 4]);
  });

  it('keeps a held socket out of deliveries and hands it what it missed meanwhile, in order', async () => {
    const { sequencer, publish, emitted } = setup();
    const [m1, m2] = await publish(2);
    sequencer.hold('r:news', 'sock-1');
    const read = sequencer.read('r:news', undefined);
    sequencer.receive(m1!);
    expect(await read).toMatchObject({ last: 2 });
    sequencer.receive(m2!);
    const [m3] = await publish(1);
    sequencer.receive(m3!);
    expect(emitted.map((e) => [e.offset, e.except])).toEqual([[3, ['sock-1']]]);
    expect(sequencer.release('r:news', 'sock-1').map((h) => h.position.offset)).toEqual([3]);
    const [m4] = await publish(1);
    sequencer.receive(m4!);
    expect(emitted.at(-1)).toEqual({ room: 'r:news', except: [], offset: 4 });
  });

  it('retries a failed catch-up on a timer: a store that rejects at once cannot starve the event loop', async () => {
    let reads = 0;
    const failing = {
      since: () => {
        reads++;
        return Promise.reject(new Error('store down'));
      },
    };
    const sequencer = new StreamSequencer({
      history: failing,
      metrics: createHistoryMetrics(new Registry()),
      log: pino({ level: 'silent' }),
      hasLocal: () => true,
      emitLocal: () => undefined,
      retryMs: 50,
    });
    sequencer.receive({ room: 'r:news', epoch: 'e', offset: 1, event: 'm', data: 1 });
    sequencer.catchUpAll();
    sequencer.receive({ room: 'r:news', epoch: 'e', offset: 3, event: 'm', data: 3 });
    // A timer has to be able to fire: with a retry loop in microtasks this would never resolve.
    await new Promise((r) => setTimeout(r, 120));
    expect(reads).toBeGreaterThanOrEqual(2);
    expect(reads).toBeLessThanOrEqual(5);
    sequencer.close();
  });

  it('a gap wait that expires during a stall takes the late message already received before reading history', async () => {
    // The late message is in a socket buffer when the wait expires (the process was stalled): timers run
    // before the poll phase reads it, so deciding at once would read history for a message that is there.
    const history = new MemoryHistoryStore({ limits: { size: 100, ttlSeconds: 3600 } });
    let reads = 0;
    const metrics = createHistoryMetrics(new Registry());
    const offsets: number[] = [];
    const sequencer = new StreamSequencer({
      history: {
        since: (...args: Parameters<MemoryHistoryStore['since']>) => {
          reads++;
          return history.since(...args);
        },
      },
      metrics,
      log: pino({ level: 'silent' }),
      hasLocal: () => true,
      emitLocal: (_room, _except, _event, _data, position) => offsets.push(position.offset),
      gapWaitMs: 5,
    });
    const messages: SequencedMessage[] = [];
    for (let i = 0; i < 3; i++) {
      const p = await history.append({ kind: 'room', room: 'news' }, 'm', i);
      messages.push({ room: 'r:news', epoch: p.epoch, offset: p.offset, event: 'm', data: i });
    }
    // A loopback connection, both ends up before the test goes on: the late message comes over it.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const client = connect((server.address() as { port: number }).port, '127.0.0.1');
    client.on('data', () => sequencer.receive(messages[1]!));
    await new Promise((resolve) => client.once('connect', resolve));
    const peer = await accepted;
    server.close();
    sequencer.receive(messages[0]!);
    sequencer.receive(messages[2]!);
    peer.write('m2');
    // A stall longer than the wait, with the late message delivered to the socket meanwhile.
    const until = Date.now() + 30;
    while (Date.now() < until);
    await new Promise((r) => setTimeout(r, 40));
    expect(offsets).toEqual([1, 2, 3]);
    expect(reads).toBe(0);
    expect((await metrics.gapWaits.get()).values[0]?.value ?? 0).toBe(0);
    peer.destroy();
    client.destroy();
    sequencer.close();
  });
});
