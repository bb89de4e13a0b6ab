import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { boundedArray, requestObject } from '../../../src/infra/bounded-schema.ts';
import { roomRequestSchema } from '../../../src/features/rooms/room-handlers.ts';
import { queueRequestSchema } from '../../../src/features/queue/queue-handlers.ts';
import {
  confirmSchema,
  eventDefinitionSchema,
  MAX_SEATS_PER_EVENT,
  seatHoldSchema,
  seatMapSchema,
  seatReleaseSchema,
} from '../../../src/features/seats/seat-handlers.ts';
import { publishRequestSchema } from '../../../src/transport/http/service-publish.ts';

/** Counts how many elements a schema looked at: a zod item type that counts its calls. */
function countingItem(): { schema: z.ZodTypeAny; calls: () => number } {
  let calls = 0;
  const schema = z.preprocess((v) => {
    calls += 1;
    return v;
  }, z.string());
  return { schema, calls: () => calls };
}

describe('boundedArray', () => {
  it('refuses an over-long array with one issue, looking at no element', () => {
    const item = countingItem();
    const result = boundedArray(item.schema, { min: 1, max: 100 }).safeParse(Array(16_000).fill(1));
    expect(result.success).toBe(false);
    expect(result.error?.issues).toHaveLength(1);
    expect(result.error?.issues[0]).toMatchObject({
      code: 'too_big',
      maximum: 100,
      message: 'at most 100 items',
    });
    expect(item.calls()).toBe(0);
  });

  it('refuses a non-array and a too-short array with one issue', () => {
    const schema = boundedArray(z.string(), { min: 1, max: 3 });
    expect(schema.safeParse('a').error?.issues).toEqual([
      expect.objectContaining({ code: 'invalid_type', expected: 'array', received: 'string' }),
    ]);
    expect(schema.safeParse([]).error?.issues).toEqual([
      expect.objectContaining({ code: 'too_small', message: 'at least 1 item' }),
    ]);
  });

  it('validates every element of an array within bounds', () => {
    const item = countingItem();
    const schema = boundedArray(item.schema, { max: 3 });
    expect(schema.parse(['a', 'b', 'c'])).toEqual(['a', 'b', 'c']);
    expect(item.calls()).toBe(3);
    expect(schema.safeParse(['a', 2, 3]).error?.issues).toHaveLength(2);
  });
});

describe('requestObject', () => {
  const schema = requestObject({ room: z.string(), note: z.string().optional() });

  it('refuses non-objects (arrays, binary, null, strings) with one issue', () => {
    for (const value of [null, 'x', 42, Array(16_000).fill('x'), Buffer.from('x'), new Uint8Array(3)]) {
      const issues = schema.safeParse(value).error?.issues;
      expect(issues, String(value)).toHaveLength(1);
      expect(issues?.[0]).toMatchObject({ code: 'invalid_type', expected: 'object' });
    }
  });

  it('counts unknown fields in one issue, without naming them, and walks no value', () => {
    const fields = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, { deep: [i] }]));
    const issues = schema.safeParse({ room: 'r', ...fields }).error?.issues ?? [];
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toBe('5000 unknown fields');
    expect(JSON.stringify(issues)).not.toContain('k4999');
  });

  it('refuses __proto__, constructor and prototype as fields (own keys from JSON)', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const value: unknown = JSON.parse(`{"room":"r",${JSON.stringify(key)}:{"polluted":true}}`);
      expect(schema.safeParse(value).success, key).toBe(false);
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('parses a valid object as z.object(...).strict() would', () => {
    expect(schema.parse({ room: 'r' })).toEqual({ room: 'r' });
    expect(schema.safeParse({ room: 1 }).error?.issues).toEqual([
      expect.objectContaining({ path: ['room'], code: 'invalid_type' }),
    ]);
  });
});

describe('every request schema', () => {
  const schemas: Array<[string, z.ZodTypeAny, Record<string, unknown>]> = [
    ['room:join / room:leave', roomRequestSchema, { room: 'r' }],
    ['queue:join / queue:leave', queueRequestSchema, { eventId: 'e' }],
    ['seat:hold', seatHoldSchema, { eventId: 'e', seatIds: ['A1'] }],
    ['seat:release', seatReleaseSchema, { eventId: 'e', seatIds: ['A1'] }],
    ['seat:map', seatMapSchema, { eventId: 'e' }],
    ['PUT /v1/events/:eventId', eventDefinitionSchema, { seats: ['A1'] }],
    ['POST .../seats/confirm', confirmSchema, { userId: 'u', seatIds: ['A1'], fence: 1 }],
    ['POST /v1/publish', publishRequestSchema, { room: 'r', event: 'e' }],
  ];

  it.each(schemas)(
    '%s accepts a valid payload and refuses a huge one with one issue',
    (_name, schema, valid) => {
      expect(schema.safeParse(valid).success).toBe(true);
      expect(schema.safeParse(Array(16_000).fill(1)).error?.issues).toHaveLength(1);
      const unknown = Object.fromEntries(Array.from({ length: 16_000 }, (_, i) => [`x${i}`, 1]));
      expect(schema.safeParse({ ...valid, ...unknown }).error?.issues).toHaveLength(1);
      // Each array field, far over its bound: one issue.
      for (const [field, value] of Object.entries(valid)) {
        if (!Array.isArray(value)) continue;
        const huge = { ...valid, [field]: Array(MAX_SEATS_PER_EVENT + 1).fill(1) };
        expect(schema.safeParse(huge).error?.issues, field).toHaveLength(1);
      }
    },
  );
});
