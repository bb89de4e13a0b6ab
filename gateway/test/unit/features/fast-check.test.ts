import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { queueRequestCheck, queueRequestSchema } from '../../../src/features/queue/queue-handlers.ts';
import {
  seatHoldCheck,
  seatHoldSchema,
  seatReleaseCheck,
  seatReleaseSchema,
} from '../../../src/features/seats/seat-handlers.ts';

const pairs: [string, (payload: unknown) => unknown, z.ZodTypeAny][] = [
  ['seat:hold', seatHoldCheck, seatHoldSchema],
  ['seat:release', seatReleaseCheck, seatReleaseSchema],
  ['queue:join/leave', queueRequestCheck, queueRequestSchema],
];

/** Payloads near the valid ones: every field's edge, wrong types, unknown and hostile keys. */
const handWritten: unknown[] = [
  { eventId: 'e1', seatIds: ['A1'] },
  { eventId: 'e1', seatIds: ['A1', 'A2', 'A1'] },
  { eventId: 'e1', seatIds: ['A1'], admissionToken: 't' },
  { eventId: 'e1', seatIds: ['A1'], admissionToken: '' },
  { eventId: 'e1', seatIds: ['A1'], admissionToken: 'x'.repeat(1024) },
  { eventId: 'e1', seatIds: ['A1'], admissionToken: 'x'.repeat(1025) },
  { eventId: 'e1', seatIds: ['A1'], admissionToken: 5 },
  { eventId: 'e1', seatIds: ['A1'], admissionToken: undefined },
  { seatIds: ['A1'], eventId: 'e1' },
  { eventId: 'e1' },
  { eventId: 'e1', seatIds: [] },
  { eventId: 'e1', seatIds: Array.from({ length: 100 }, (_, i) => `S${i}`) },
  { eventId: 'e1', seatIds: Array.from({ length: 101 }, (_, i) => `S${i}`) },
  { eventId: 'e1', seatIds: ['A 1'] },
  { eventId: 'e1', seatIds: ['x'.repeat(64)] },
  { eventId: 'e1', seatIds: ['x'.repeat(65)] },
  { eventId: 'e1', seatIds: [1] },
  { eventId: 'e1', seatIds: 'A1' },
  { eventId: 'x'.repeat(64), seatIds: ['A1'] },
  { eventId: 'x'.repeat(65), seatIds: ['A1'] },
  { eventId: 'e/1', seatIds: ['A1'] },
  { eventId: '', seatIds: ['A1'] },
  { eventId: 7, seatIds: ['A1'] },
  { eventId: 'e1', seatIds: ['A1'], extra: 1 },
  { eventId: 'e1', seatIds: ['A1'], requestId: 'r1' },
  JSON.parse('{"eventId":"e1","seatIds":["A1"],"__proto__":{"x":1}}'),
  JSON.parse('{"__proto__":"e1","eventId":"e1","seatIds":["A1"]}'),
  Object.assign(Object.create({ inherited: 1 }) as object, { eventId: 'e1', seatIds: ['A1'] }),
  Object.assign(Object.create(null) as object, { eventId: 'e1', seatIds: ['A1'] }),
  { constructor: 'e1', eventId: 'e1', seatIds: ['A1'] },
  { toString: 'x', eventId: 'e1' },
  ['e1', ['A1']],
  'e1',
  null,
  undefined,
  42,
  new Uint8Array(4),
  { eventId: 'e1', seatIds: ['A1'], admissionToken: null },
];

/** A random payload built from valid and invalid parts (seeded: a failure is reproducible). */
function fuzzed(random: () => number): unknown {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const strings = ['e1', 'A1', '', 'a b', 'x'.repeat(64), 'x'.repeat(65), 'é', 'a:b.c-d_e', '__proto__'];
  const values = (): unknown =>
    pick<() => unknown>([
      () => pick(strings),
      () => Array.from({ length: pick([0, 1, 2, 100, 101]) }, () => pick(strings)),
      () => pick([1, null, true, {}, [1]]),
    ])();
  const keys = ['eventId', 'seatIds', 'admissionToken', 'other', 'requestId'];
  const out: Record<string, unknown> = {};
  for (const key of keys) if (random() < 0.7) out[key] = values();
  return out;
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe.each(pairs)('the fast check of %s', (_name, check, schema) => {
  /** The property: whatever the fast check accepts, the schema accepts, and parses to the same value. */
  const agrees = (payload: unknown): boolean => {
    const fast = check(payload);
    if (fast === undefined) return true;
    const slow = schema.safeParse(payload);
    expect(slow.success).toBe(true);
    // Same keys in the same order, same values (JSON is what goes on to the store and the wire).
    expect(JSON.stringify(fast)).toBe(JSON.stringify(slow.data));
    expect(fast).toStrictEqual(slow.data);
    return true;
  };

  it('accepts only what the schema accepts, parsed to the same value (hand-written edges)', () => {
    for (const payload of handWritten) agrees(payload);
  });

  it('accepts only what the schema accepts, parsed to the same value (20,000 fuzzed payloads)', () => {
    const random = mulberry32(15);
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const payload = fuzzed(random);
      agrees(payload);
      if (check(payload) !== undefined) accepted += 1;
    }
    // The fuzz reaches the accepting side too, or the property above would be vacuous.
    expect(accepted).toBeGreaterThan(0);
  });

  it('takes the common valid payloads (the fast path is used)', () => {
    expect(check({ eventId: 'e1', seatIds: ['A1'] }) ?? check({ eventId: 'e1' })).toBeDefined();
  });

  it('leaves every refusal to the schema', () => {
    for (const payload of handWritten)
      if (!schema.safeParse(payload).success) expect(check(payload)).toBeUndefined();
  });
});
