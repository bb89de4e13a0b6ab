/**
 * Records keyed by ids that come from outside (event ids, seat ids), with no prototype. On a plain object
 * an id is not just a key: assigning `obj['__proto__']` changes the object's prototype instead of adding
 * an entry (a seat named `__proto__` vanished from the map), and reading `obj['toString']` finds a function
 * where no entry exists. These records have neither trap, still serialize and spread like any object, and
 * keep the SDK's public shapes (`Record<EventId, ...>`). Every update returns a new record. Imports nothing.
 */

/** A copy of `sources`' own entries, later sources winning, in a null-prototype record. */
export function idRecord<V>(...sources: (Readonly<Record<string, V>> | undefined)[]): Record<string, V> {
  const out = Object.create(null) as Record<string, V>;
  // Assignment on a null-prototype object always creates an own entry, `__proto__` included.
  for (const source of sources) {
    if (source === undefined) continue;
    for (const key of Object.keys(source)) out[key] = source[key] as V;
  }
  return out;
}

/** `record` with `key` set to `value` (a new null-prototype record). */
export function withEntry<V>(record: Readonly<Record<string, V>>, key: string, value: V): Record<string, V> {
  const out = idRecord(record);
  out[key] = value;
  return out;
}

/** `record` without `key` (a new null-prototype record). */
export function withoutEntry<V>(record: Readonly<Record<string, V>>, key: string): Record<string, V> {
  const out = idRecord(record);
  delete out[key];
  return out;
}

/** The entry for `key` when `record` has one of its own (never an inherited `toString`). */
export function entryOf<V>(record: Readonly<Record<string, V>> | undefined, key: string): V | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}
