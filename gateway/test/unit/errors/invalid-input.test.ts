import { describe, expect, it } from 'vitest';
import { z, type ZodIssue } from 'zod';
import {
  invalidInput,
  listIds,
  MAX_ISSUE_CHARS,
  MAX_SUMMARY_ISSUES,
  summarizeIssues,
} from '../../../src/errors/invalid-input.ts';

const issuesOf = (schema: z.ZodTypeAny, value: unknown): ZodIssue[] => {
  const result = schema.safeParse(value);
  if (result.success) throw new Error('expected a refusal');
  return result.error.issues;
};

describe('summarizeIssues', () => {
  it('describes at most MAX_SUMMARY_ISSUES issues and counts the rest', () => {
    const issues = issuesOf(z.array(z.string()), Array(16_000).fill(1));
    expect(issues).toHaveLength(16_000);
    const summary = summarizeIssues(issues);
    expect(summary.split('; ')).toHaveLength(MAX_SUMMARY_ISSUES);
    expect(summary).toMatch(/\(\+15997 more\)$/);
    expect(summary.length).toBeLessThan(MAX_SUMMARY_ISSUES * (MAX_ISSUE_CHARS + 2) + 20);
  });

  it('cuts each issue to MAX_ISSUE_CHARS', () => {
    const summary = summarizeIssues([{ code: 'custom', path: ['field'], message: 'm'.repeat(10_000) }]);
    expect(summary.length).toBe(MAX_ISSUE_CHARS);
    expect(summary.endsWith('…')).toBe(true);
  });

  it('never repeats unknown keys, received enum values or odd path segments (the sender chose them)', () => {
    const strict = z.object({ a: z.string() }).strict();
    const unknownKeys = summarizeIssues(issuesOf(strict, { a: 'x', '<script>': 1, secret: 2 }));
    expect(unknownKeys).toBe('payload: 2 unknown fields');
    const enumValue = summarizeIssues(issuesOf(z.object({ kind: z.enum(['a', 'b']) }), { kind: '<evil>' }));
    expect(enumValue).toBe('kind: not one of the allowed values');
    const record = summarizeIssues(issuesOf(z.record(z.number()), { '<evil key>': 'x', __proto__x: 'y' }));
    expect(record).not.toContain('<evil');
    expect(record).toMatch(/^\?: expected number, got string/);
  });

  it('names the schema field and its bound, and says "required" for a missing field', () => {
    const schema = z.object({ seatIds: z.array(z.string()).max(2), eventId: z.string() });
    expect(summarizeIssues(issuesOf(schema, { seatIds: ['a', 'b', 'c'] }))).toBe(
      'seatIds: Array must contain at most 2 element(s); eventId: required',
    );
  });

  it('shows at most four path segments', () => {
    const deep = z.object({
      a: z.object({ b: z.object({ c: z.object({ d: z.object({ e: z.string() }) }) }) }),
    });
    expect(summarizeIssues(issuesOf(deep, { a: { b: { c: { d: { e: 1 } } } } }))).toBe(
      'a.b.c.d.…: expected string, got number',
    );
  });

  it('makes a BAD_REQUEST GatewayError', () => {
    const err = invalidInput(issuesOf(z.object({ room: z.string() }), {}));
    expect(err.code).toBe('BAD_REQUEST');
    expect(err.message).toBe('Invalid payload (room: required).');
  });
});

describe('listIds', () => {
  it('names at most ten ids and counts the rest', () => {
    expect(listIds(['A1', 'A2'])).toBe('A1, A2');
    const many = Array.from({ length: 100_000 }, (_, i) => `S${i}`);
    expect(listIds(many)).toBe('S0, S1, S2, S3, S4, S5, S6, S7, S8, S9 (+99990 more)');
  });
});
