/**
 * Zod building blocks that check what is cheap before zod walks anything: the top-level type, the number
 * of fields, the length of an array. zod (v3) checks an array's length but then validates every element
 * anyway, and reports every failure: a 32 KB `seat:hold` with 16,000 one-digit seat ids cost 65-280 ms of
 * CPU (the node's one thread) and produced 16,001 issues. These helpers stop at the first cheap failure,
 * with one fatal issue, so a request's validation cost is bounded by the schema's own limits, not by what
 * the sender chose to send. Every request schema (socket payloads and service API bodies) is built from
 * them. Imports zod only.
 */
import { z } from 'zod';

/** The zod type name of a value, for `invalid_type` issues (the names zod itself uses). */
function typeName(value: unknown): z.ZodParsedType {
  if (value === null) return z.ZodParsedType.null;
  if (Array.isArray(value)) return z.ZodParsedType.array;
  switch (typeof value) {
    case 'string':
      return z.ZodParsedType.string;
    case 'number':
      return Number.isNaN(value) ? z.ZodParsedType.nan : z.ZodParsedType.number;
    case 'boolean':
      return z.ZodParsedType.boolean;
    case 'undefined':
      return z.ZodParsedType.undefined;
    case 'bigint':
      return z.ZodParsedType.bigint;
    case 'function':
      return z.ZodParsedType.function;
    case 'symbol':
      return z.ZodParsedType.symbol;
    case 'object':
      return z.ZodParsedType.object;
  }
  return z.ZodParsedType.unknown;
}

/** Options of boundedArray. */
export interface ArrayBounds {
  /** Fewest elements. Default 0. */
  min?: number;
  /** Most elements: longer arrays are refused before any element is looked at. */
  max: number;
}

/**
 * `z.array(item)` whose type and length are checked first: a non-array or an array outside
 * `[min, max]` is one fatal issue, and no element is validated.
 * @example
 * const seatIds = boundedArray(seatIdSchema, { min: 1, max: 100 });
 */
export function boundedArray<T extends z.ZodTypeAny>(
  item: T,
  bounds: ArrayBounds,
): z.ZodEffects<z.ZodArray<T>, z.ZodArray<T>['_output'], unknown> {
  const min = bounds.min ?? 0;
  return z.preprocess((value, ctx) => {
    if (!Array.isArray(value)) {
      ctx.addIssue({
        code: z.ZodIssueCode.invalid_type,
        expected: z.ZodParsedType.array,
        received: typeName(value),
        fatal: true,
      });
      return z.NEVER;
    }
    if (value.length > bounds.max) {
      ctx.addIssue({
        code: z.ZodIssueCode.too_big,
        type: 'array',
        maximum: bounds.max,
        inclusive: true,
        message: `at most ${bounds.max} items`,
        fatal: true,
      });
      return z.NEVER;
    }
    if (value.length < min) {
      ctx.addIssue({
        code: z.ZodIssueCode.too_small,
        type: 'array',
        minimum: min,
        inclusive: true,
        message: `at least ${min} item${min === 1 ? '' : 's'}`,
        fatal: true,
      });
      return z.NEVER;
    }
    return value as unknown[];
  }, z.array(item));
}

/** True for a plain JSON-like object: not null, not an array, not binary. */
function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !ArrayBuffer.isView(value) &&
    !(value instanceof ArrayBuffer)
  );
}

/**
 * A strict object schema (unknown fields refused) that first checks, without walking any value, that the
 * input is an object whose fields are all known. A non-object, or any unknown field, is one fatal issue
 * (unknown fields are counted, never named: their names are the sender's text).
 * @example
 * const roomRequest = requestObject({ room: z.string().regex(ROOM_NAME_PATTERN) });
 */
export function requestObject<S extends z.ZodRawShape>(
  shape: S,
): z.ZodEffects<z.ZodObject<S, 'strict'>, z.ZodObject<S, 'strict'>['_output'], unknown> {
  const known = new Set(Object.keys(shape));
  return z.preprocess((value, ctx) => {
    if (!isRecord(value)) {
      ctx.addIssue({
        code: z.ZodIssueCode.invalid_type,
        expected: z.ZodParsedType.object,
        received: ArrayBuffer.isView(value) ? z.ZodParsedType.object : typeName(value),
        fatal: true,
      });
      return z.NEVER;
    }
    let unknown = 0;
    // for...in sees own and inherited enumerable keys; JSON and socket.io payloads have only own ones.
    for (const key in value) if (!known.has(key)) unknown += 1;
    if (unknown > 0) {
      // A custom issue, not zod's unrecognized_keys: that one carries (and its message quotes) every name.
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: unknown === 1 ? 'an unknown field' : `${unknown} unknown fields`,
        params: { unknownFields: unknown },
        fatal: true,
      });
      return z.NEVER;
    }
    return value;
  }, z.object(shape).strict());
}
