import { describe, expect, it } from 'vitest';
import { createEventKeys, EVENT_KEY_PARTS } from '../../../src/session/redis/event-keys.ts';
import { encodeKeyId, encodeKeyPart } from '../../../src/session/redis/key-id.ts';
import {
  createNodeKeys,
  NODE_INDEX_BUCKETS,
  nodeIndexBucket,
  nodeIndexEntry,
  parseNodeIndexEntry,
} from '../../../src/session/redis/node-keys.ts';
import { createUserKeys } from '../../../src/session/redis/user-keys.ts';

/** Redis Cluster's rule: the text between the first `{` and the next `}`, if non-empty; else the whole key. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

const TRICKY_IDS = [
  'a',
  'a}b',
  'a}',
  '{user:a}',
  '}{',
  '{}',
  '%7D',
  '%',
  '',
  'a b',
  'ü 🙂',
  'x}:session',
  'a:b',
];

describe('redis keys', () => {
  const user = createUserKeys('stayline:');
  const event = createEventKeys('stayline:');
  const node = createNodeKeys('stayline:');

  it('gives every key of one user the hash tag of that user alone, whatever the id contains', () => {
    for (const id of TRICKY_IDS) {
      const k = user(id);
      const all = [k.session, k.revoked, k.requests, k.request('r:1')];
      expect(all.map(hashTag), id).toEqual(Array(4).fill(`u:${encodeKeyId(id)}`));
    }
    const allTags = new Set(TRICKY_IDS.map((id) => hashTag(user(id).session)));
    expect(allTags.size).toBe(TRICKY_IDS.length);
  });

  it('gives every key of one event, its hold request records included, the hash tag of that event alone', () => {
    for (const id of TRICKY_IDS) {
      const k = event(id);
      const all = [...EVENT_KEY_PARTS.map((part) => k[part]), k.holdRequest('u}1', 'r')];
      expect(all.map(hashTag), id).toEqual(
        Array(EVENT_KEY_PARTS.length + 1).fill(`event:${encodeKeyId(id)}`),
      );
    }
  });

  it('lays out keys as <prefix>{<entity>:<id>}:<part>, the user`s short (issue 15: bytes per user)', () => {
    const k = user('u1');
    expect([k.session, k.revoked, k.requests, k.request('r-1')]).toEqual([
      'stayline:{u:u1}',
      'stayline:{u:u1}:v',
      'stayline:{u:u1}:q',
      'stayline:{u:u1}:q:r-1',
    ]);
    expect(event('e1').def).toBe('stayline:{event:e1}:def');
    expect(event('e1').log).toBe('stayline:{event:e1}:log');
    expect(event('e1').holdRequest('u1', 'r-1')).toBe('stayline:{event:e1}:req:u1:r-1');
    expect(node.nodeSockets('gw-1', 7)).toBe('stayline:{node:gw-1}:s:7');
    expect(node.nodes).toBe('stayline:nodes');
    expect(node.events).toBe('stayline:events');
    expect(node.ratedEvents).toBe('stayline:events:rated');
    expect(hashTag(node.nodeSockets('n}1', 0))).toBe('node:n%7D1');
  });

  it('keeps hold request records of different (user, request) pairs apart, even with `:` in both', () => {
    const e = event('e');
    expect(e.holdRequest('a:b', 'c')).not.toBe(e.holdRequest('a', 'b:c'));
    expect(e.holdRequest('a%3Ab', 'c')).not.toBe(e.holdRequest('a:b', 'c'));
  });

  it('percent-encodes only %, { and } (and : in a key part), so distinct ids never share a key', () => {
    expect(encodeKeyId('plain id:1 ü')).toBe('plain id:1 ü');
    expect(encodeKeyId('a}b{c')).toBe('a%7Db%7Bc');
    expect(encodeKeyId('%7D')).toBe('%257D');
    expect(encodeKeyId('}')).not.toBe(encodeKeyId('%7D'));
    expect(encodeKeyPart('a:b}')).toBe('a%3Ab%7D');
  });

  it('refuses a key prefix containing braces', () => {
    expect(() => createUserKeys('bad{')).toThrow(/braces/);
    expect(() => createEventKeys('bad}')).toThrow(/braces/);
    expect(() => createNodeKeys('{bad')).toThrow(/braces/);
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

  it('spreads node index entries over every bucket, each entry always in the same one', () => {
    const counts = new Array<number>(NODE_INDEX_BUCKETS).fill(0);
    for (let i = 0; i < 50 * NODE_INDEX_BUCKETS; i++) {
      const entry = nodeIndexEntry(`user-${String(i % 997).padStart(7, '0')}`, `socket-${i}`);
      const bucket = nodeIndexBucket(entry);
      expect(bucket).toBe(nodeIndexBucket(entry));
      counts[bucket]! += 1;
    }
    // 50 an entry on average: none empty, none past what a listpack holds (128).
    expect(Math.min(...counts)).toBeGreaterThan(0);
    expect(Math.max(...counts)).toBeLessThanOrEqual(128);
  });

  it("makes an event's keys once and keeps them, a bounded number of events", () => {
    const eventKeys = createEventKeys('p:');
    const first = eventKeys('e1');
    expect(eventKeys('e1')).toBe(first);
    expect(eventKeys('e2')).not.toBe(first);
    expect(eventKeys('e2').def).toBe('p:{event:e2}:def');
    // Past the bound the oldest made are dropped, then made again alike.
    for (let i = 0; i < 5000; i++) eventKeys(`other-${i}`);
    const again = eventKeys('e1');
    expect(again).not.toBe(first);
    expect(EVENT_KEY_PARTS.map((part) => again[part])).toEqual(EVENT_KEY_PARTS.map((part) => first[part]));
    expect(again.holdRequest('u', 'r')).toBe(first.holdRequest('u', 'r'));
    expect(again.bucket('holder', 'A1', 4)).toBe(first.bucket('holder', 'A1', 4));
  });
});
