import { describe, expect, it } from 'vitest';
import {
  AttachBatches,
  type AttachCalls,
  type PendingAttach,
} from '../../../src/session/redis/attach-batches.ts';

const pending = (name: string, bucketKey = 'k:1'): PendingAttach => ({
  user: { session: `{u:${name}}`, revoked: `{u:${name}}:v` },
  socketId: `s-${name}`,
  maxSockets: 5,
  issuedAtSeconds: 1_700_000_000,
  bucketKey,
  entry: `${name}\ts-${name}`,
});

/** Records, in order, the calls that reach "the connection"; each call waits until acknowledged. */
function connection(options: { fail?: boolean } = {}) {
  const issued: string[] = [];
  const acks: ((reply: unknown) => void)[] = [];
  const answer = (label: string): Promise<unknown> => {
    issued.push(label);
    if (options.fail === true) return Promise.reject(new Error('Connection is closed.'));
    return new Promise((resolve) => acks.push(resolve));
  };
  const calls: AttachCalls & { batches: (readonly PendingAttach[])[]; indexArgs: unknown[] } = {
    batches: [],
    indexArgs: [],
    attachSockets(nodeId, attaches) {
      this.batches.push(attaches);
      return answer(`attachSockets ${nodeId} ${attaches.map((a) => a.socketId).join(',')}`);
    },
    nodeIndexAdd(keys, countsAndEntries) {
      this.indexArgs.push({ keys, countsAndEntries });
      return answer(`nodeIndexAdd ${keys.length} keys`);
    },
    attachSocket(nodeId, attach) {
      return answer(`attachSocket ${nodeId} ${attach.socketId}`);
    },
  };
  return { issued, acks, calls };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const attached = (name: string): unknown[] => [1, 1, 1_700_000_000_000, [], 0, [name]];

describe('AttachBatches on a single Redis', () => {
  it('sends the attaches of one turn as one call per node, and hands each its own reply', async () => {
    const c = connection();
    const batches = new AttachBatches(c.calls, false);
    const results = [
      batches.attach('n1', pending('a')),
      batches.attach('n2', pending('b')),
      batches.attach('n1', pending('c')),
    ];
    expect(c.issued).toEqual([]); // nothing leaves before the turn ends
    await tick();
    expect(c.issued).toEqual(['attachSockets n1 s-a,s-c', 'attachSockets n2 s-b']);
    c.acks[0]!([attached('a'), [0, 5]]);
    c.acks[1]!([[-1, 1_700_000_100]]);
    expect(await Promise.all(results)).toEqual([attached('a'), [-1, 1_700_000_100], [0, 5]]);
  });

  it('rejects only the attach Redis refused a command of, as the ReplyError a call of its own would be', async () => {
    const c = connection();
    const batches = new AttachBatches(c.calls, false);
    const results = Promise.allSettled([
      batches.attach('n1', pending('a')),
      batches.attach('n1', pending('b')),
    ]);
    await tick();
    c.acks[0]!([[-2, 'OOM command not allowed when used memory > maxmemory'], attached('b')]);
    const [a, b] = await results;
    expect(a).toMatchObject({
      status: 'rejected',
      reason: { name: 'ReplyError', message: expect.stringMatching(/^OOM /) },
    });
    expect(b).toEqual({ status: 'fulfilled', value: attached('b') });
  });

  it('rejects every attach of a call that failed, or whose reply does not have one answer per attach', async () => {
    const failing = connection({ fail: true });
    const settled = Promise.allSettled([new AttachBatches(failing.calls, false).attach('n1', pending('a'))]);
    const c = connection();
    const batches = new AttachBatches(c.calls, false);
    const short = Promise.allSettled([
      batches.attach('n1', pending('a')),
      batches.attach('n1', pending('b')),
    ]);
    await tick();
    c.acks[0]!([attached('a')]);
    expect((await settled).map((r) => r.status)).toEqual(['rejected']);
    expect((await short).map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('splits a large turn into calls of at most perCall attaches; a later turn is a call of its own', async () => {
    const c = connection();
    const batches = new AttachBatches(c.calls, false, 100);
    const all = Array.from({ length: 250 }, (_, i) => batches.attach('n1', pending(`u${i}`)));
    await tick();
    expect(c.calls.batches.map((b) => b.length)).toEqual([100, 100, 50]);
    expect(c.calls.batches.flat().map((a) => a.socketId)).toEqual(
      Array.from({ length: 250 }, (_, i) => `s-u${i}`),
    );
    c.calls.batches.forEach((b, i) => c.acks[i]!(b.map((a) => attached(a.socketId))));
    await Promise.all(all);
    const later = batches.attach('n1', pending('late'));
    await tick();
    c.acks[3]!([attached('late')]);
    await later;
    expect(c.calls.batches).toHaveLength(4);
  });
});

describe('AttachBatches on Redis Cluster', () => {
  it("writes the turn's index entries in one call, per bucket, and sends no attach before it is acknowledged", async () => {
    const c = connection();
    const batches = new AttachBatches(c.calls, true);
    const results = [
      batches.attach('n1', pending('a', 'k:1')),
      batches.attach('n1', pending('b', 'k:2')),
      batches.attach('n1', pending('c', 'k:1')),
    ];
    await tick();
    await tick();
    expect(c.issued).toEqual(['nodeIndexAdd 2 keys']);
    expect(c.calls.indexArgs[0]).toEqual({
      keys: ['k:1', 'k:2'],
      countsAndEntries: ['2', 'a\ts-a', 'c\ts-c', '1', 'b\ts-b'],
    });
    c.acks[0]!(3);
    await tick();
    expect(c.issued).toEqual([
      'nodeIndexAdd 2 keys',
      'attachSocket n1 s-a',
      'attachSocket n1 s-b',
      'attachSocket n1 s-c',
    ]);
    c.acks.slice(1).forEach((ack, i) => ack(`reply ${i}`));
    expect(await Promise.all(results)).toEqual(['reply 0', 'reply 1', 'reply 2']);
  });

  it('fails the attaches of a failed index write, and sends none of them', async () => {
    const c = connection({ fail: true });
    const batches = new AttachBatches(c.calls, true);
    const results = await Promise.allSettled([
      batches.attach('n1', pending('a')),
      batches.attach('n1', pending('b')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(c.issued).toEqual(['nodeIndexAdd 1 keys']);
  });
});
