/**
 * What every key module of this folder shares: the prefix check and the encoding of outside ids inside a
 * hash tag. Keys are `<prefix>{<entity>:<id>}:<part>`; one entity's keys share the tag, so one Redis Cluster
 * slot, which is what lets one Lua script touch all of them atomically.
 */

/**
 * Makes an id safe inside a hash tag. Redis Cluster hashes the text between the first `{` and the first
 * `}` after it, so a user id containing `}` would end the tag early (e.g. users `a}x` and `a}y` would
 * land on user `a`'s slot) and one containing `{` could start a different one. Percent-encoding `%`, `{`
 * and `}` (and nothing else) removes both problems, stays injective (two ids never share a key), and keeps
 * ordinary ids readable in redis-cli.
 */
export function encodeKeyId(id: string): string {
  return id.replace(/[%{}]/g, (c) => (c === '%' ? '%25' : c === '{' ? '%7B' : '%7D'));
}

/**
 * encodeKeyId plus `:` encoded, for an id followed by another free-form part in one key (`a:b` + `c` and
 * `a` + `b:c` must not meet): the first `:` after it is then the separator.
 */
export function encodeKeyPart(id: string): string {
  return encodeKeyId(id).replace(/:/g, '%3A');
}

/** Throws when `prefix` contains a brace (it would become, or break, the hash tag). */
export function checkKeyPrefix(prefix: string): string {
  if (/[{}]/.test(prefix)) throw new Error(`Redis key prefix may not contain braces: ${prefix}`);
  return prefix;
}
