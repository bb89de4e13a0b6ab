/**
 * Fast checks of the commonest request payloads, in front of their zod schemas. zod (v3) parsed a
 * `seat:hold` payload in ~4 % of the node's CPU in the queue-seats bench (a preprocess, a strict object, an
 * array of regex-checked strings: each a closure-heavy walk with issue bookkeeping). A fast check accepts
 * only payloads its schema accepts, and returns what the schema would return (the same keys, in the
 * schema's order, absent optional fields left out); for anything else (a wrong type, an unknown field, an
 * inherited key, a refusal) it returns undefined and the request pipeline runs the schema, which makes the
 * refusal and its text. So validation is as strict as before and every refusal is the schema's own; a unit
 * test (test/unit/features/fast-check.test.ts) checks that agreement over valid, invalid and fuzzed
 * payloads. Imports nothing.
 */

/** Marks a field value the fast check does not accept (the schema then decides). */
const REFUSE: unique symbol = Symbol('refuse');

/** Checks one field's value: the value to keep, or REFUSE. */
export type FieldCheck = (value: unknown) => unknown;

/** A string that matches `pattern` (anchored, no `g` flag: `test` keeps no state). */
export const patternString =
  (pattern: RegExp): FieldCheck =>
  (value) =>
    typeof value === 'string' && pattern.test(value) ? value : REFUSE;

/** A string of `min`-`max` UTF-16 code units (zod's `.min().max()` on a string). */
export const lengthString =
  (min: number, max: number): FieldCheck =>
  (value) =>
    typeof value === 'string' && value.length >= min && value.length <= max ? value : REFUSE;

/** An array of `min`-`max` strings that each match `pattern`; kept as a copy, as zod's array does. */
export const patternStrings =
  (pattern: RegExp, bounds: { min: number; max: number }): FieldCheck =>
  (value) => {
    if (!Array.isArray(value) || value.length < bounds.min || value.length > bounds.max) return REFUSE;
    for (const item of value) if (typeof item !== 'string' || !pattern.test(item)) return REFUSE;
    return (value as unknown[]).slice();
  };

/**
 * The fast check of a strict object: `required` fields must all be present, `optional` ones may be, nothing
 * else may. Returns the parsed object, or undefined to leave the payload to the schema.
 * @example
 * const check = fastObject({ eventId: patternString(EVENT_ID_PATTERN) });
 * const parsed = check(payload) ?? schema.parse(payload);
 */
export function fastObject<T>(
  required: Readonly<Record<string, FieldCheck>>,
  optional: Readonly<Record<string, FieldCheck>> = {},
): (payload: unknown) => T | undefined {
  const requiredKeys = Object.keys(required);
  // The schema's key order (zod builds its output in its shape's order): required first, as the shapes
  // that use this are written.
  const order = [...requiredKeys, ...Object.keys(optional)];
  const checks = new Map<string, FieldCheck>([...Object.entries(required), ...Object.entries(optional)]);
  return (payload) => {
    // Only plain objects (a decoded JSON object): anything else goes to the schema.
    if (
      typeof payload !== 'object' ||
      payload === null ||
      Object.getPrototypeOf(payload) !== Object.prototype
    )
      return undefined;
    const input = payload as Record<string, unknown>;
    // for...in sees inherited enumerable keys too; a plain object from JSON has none beyond its own. An
    // explicit `undefined` (impossible in JSON) is left to the schema too.
    for (const key in input)
      if (!checks.has(key) || !Object.hasOwn(input, key) || input[key] === undefined) return undefined;
    let requiredPresent = 0;
    for (const key of requiredKeys) if (Object.hasOwn(input, key)) requiredPresent += 1;
    if (requiredPresent !== requiredKeys.length) return undefined;
    const out: Record<string, unknown> = {};
    for (const key of order) {
      if (!Object.hasOwn(input, key)) continue;
      const value = checks.get(key)!(input[key]);
      if (value === REFUSE) return undefined;
      out[key] = value;
    }
    return out as T;
  };
}
