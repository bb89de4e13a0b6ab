import { describe, expect, it } from 'vitest';
import { AttachIndexWrites } from '../../../src/session/redis/attach-index.ts';

/** Records, in order, what reaches "the connection": index writes and attaches. */
function connection(options: { failWrites?: boolean } = {}) {
  const issued: string[] = [];
  const writes: { keys: readonly string[]; args: readonly string[]; ack: () => void }[] = [];
  const write = (keys: readonly string[], args: readonly string[]): Promise<unknown> => {
    issued.push(`write ${keys.length} keys`);
    if (options.failWrites === true) return Promise.reject(new Error('Connection is closed.'));
    return new Promise((resolve) => writes.push({ keys, args, ack: () => resolve(1) }));
  };
  const attach = (name: string) => (): Promise<string> => {
    issued.push(`attach ${name}`);
    return Promise.resolve(`attached ${name}`);
  };
  return { issued, writes, write, attach };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('AttachIndexWrites', () => {
  it('writes the entries of one turn in one call, per bucket, before issuing any attach (one connection)', async () => {
    const c = connection();
    const batch = new AttachIndexWrites(c.write, true);
    const results = [
      batch.writeThen('n1', 'k:1', 'u1\ts1', c.attach('s1')),
      batch.writeThen('n1', 'k:2', 'u2\ts2', c.attach('s2')),
      batch.writeThen('n1', 'k:1', 'u3\ts3', c.attach('s3')),
    ];
    expect(c.issued).toEqual([]); // nothing leaves before the turn ends
    await tick();
    expect(c.issued).toEqual(['write 2 keys', 'attach s1', 'attach s2', 'attach s3']);
    expect(c.writes[0]).toMatchObject({
      keys: ['k:1', 'k:2'],
      args: ['2', 'u1\ts1', 'u3\ts3', '1', 'u2\ts2'],
    });
    c.writes[0]!.ack();
    expect(await Promise.all(results)).toEqual(['attached s1', 'attached s2', 'attached s3']);
  });

  it('issues no attach before its index write is acknowledged on Cluster (no order across shards)', async () => {
    const c = connection();
    const batch = new AttachIndexWrites(c.write, false);
    const result = batch.writeThen('n1', 'k:1', 'u1\ts1', c.attach('s1'));
    await tick();
    await tick();
    expect(c.issued).toEqual(['write 1 keys']);
    c.writes[0]!.ack();
    expect(await result).toBe('attached s1');
    expect(c.issued).toEqual(['write 1 keys', 'attach s1']);
  });

  it('splits a large turn into calls of at most entriesPerCall entries; a later turn is a call of its own', async () => {
    const c = connection();
    const batch = new AttachIndexWrites(c.write, true, 100);
    const all = Array.from({ length: 250 }, (_, i) =>
      batch.writeThen('n1', `k:${i % 7}`, `e${i}`, c.attach(`s${i}`)),
    );
    await tick();
    expect(c.writes.map((w) => w.args.filter((a) => a.startsWith('e')).length)).toEqual([100, 100, 50]);
    for (const w of c.writes) w.ack();
    await Promise.all(all);
    const later = batch.writeThen('n1', 'k:1', 'e-late', c.attach('late'));
    await tick();
    c.writes[3]!.ack();
    await later;
    expect(c.writes).toHaveLength(4);
  });

  it('fails the attaches of a failed write; on Cluster none of them is issued', async () => {
    const c = connection({ failWrites: true });
    const batch = new AttachIndexWrites(c.write, false);
    const results = await Promise.allSettled([
      batch.writeThen('n1', 'k:1', 'a', c.attach('s1')),
      batch.writeThen('n1', 'k:2', 'b', c.attach('s2')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(c.issued).toEqual(['write 2 keys']);
  });
});
