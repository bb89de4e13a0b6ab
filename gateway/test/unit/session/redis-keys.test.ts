import { describe, expect, it } from 'vitest';
import {
  createRedisKeys,
  encodeKeyId,
  nodeIndexEntry,
  parseNodeIndexEntry,
} from '../../../src/session/redis-keys.ts';

/** Redis Cluster's rule: the text between the first `{` and the next `}`, if non-empty; else the whole key. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

const TRICKY_IDS = ['a', 'a}b', 'a}', '{user:a}', '}{', '{}', '%7D', '%', '', 'a b', 'ü 🙂', 'x}:session'];

describe('redis session keys', () => {
  const keys = createRedisKeys('stayline:');

  it('gives every key of one user the hash tag of that user alone, whatever the id contains', () => {
    for (const id of TRICKY_IDS) {
      const all = [...keys.user(id), keys.seen(id), keys.claimsIndex(id), keys.revoked(id)];
      expect(all.map(hashTag), id).toEqual(Array(6).fill(`user:${encodeKeyId(id)}`));
    }
    const allTags = new Set(TRICKY_IDS.map((id) => hashTag(keys.user(id)[0])));
    expect(allTags.size).toBe(TRICKY_IDS.length);
  });

  it('lays out keys as <prefix>{user:<id>}:<part> and <prefix>{node:<id>}:sockets', () => {
    expect(keys.user('u1')).toEqual([
      'stayline:{user:u1}:session',
      'stayline:{user:u1}:sockets',
      'stayline:{user:u1}:rooms',
    ]);
    expect(keys.revoked('u1')).toBe('stayline:{user:u1}:revoked');
    expect(keys.nodeSockets('gw-1')).toBe('stayline:{node:gw-1}:sockets');
    expect(keys.nodes).toBe('stayline:nodes');
    expect(hashTag(keys.nodeSockets('n}1'))).toBe('node:n%7D1');
  });

  it('percent-encodes only %, { and }, so distinct ids never share a key', () => {
    expect(encodeKeyId('plain id:1 ü')).toBe('plain id:1 ü');
    expect(encodeKeyId('a}b{c')).toBe('a%7Db%7Bc');
    expect(encodeKeyId('%7D')).toBe('%257D');
    expect(encodeKeyId('}')).not.toBe(encodeKeyId('%7D'));
  });

  it('refuses a key prefix containing braces', () => {
    expect(() => createRedisKeys('bad{')).toThrow(/braces/);
  });

  it('round-trips node index entries whatever the ids contain, and rejects anything else', () => {
    for (const id of TRICKY_IDS) {
      expect(parseNodeIndexEntry(nodeIndexEntry(id, `${id} socket "1"`))).toEqual({
        userId: id,
        socketId: `${id} socket "1"`,
      });
    }
    for (const junk of ['u1 s1', '["u1"]', '[1,2]', '{"u":"1"}', 'null'])
      expect(parseNodeIndexEntry(junk)).toBeUndefined();
  });
});
