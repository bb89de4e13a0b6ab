/**
 * The string hash that spreads the entries of a big index over several small hashes ("buckets"), so each
 * stays a listpack (Redis keeps a hash of at most 128 short entries as one packed string: 20-40 B an entry
 * instead of the 60-100 B of a hashtable entry; issue 15). Node socket indexes use it here; the claims
 * scripts use the same function in Lua (lua/claims/prelude.lua's `bucket_of`): both must agree, and a test
 * (test/integration/claim-store.buckets.test.ts) checks that they do.
 */

const utf8 = new TextEncoder();

/** 2^31 - 1, a prime: the hash's modulus. */
const MODULUS = 2147483647;
/** The Park-Miller multiplier: consecutive ids (seat `A-1`, `A-2`...) land in unrelated buckets. */
const MULTIPLIER = 48271;

/**
 * `h = (h + byte) * 48271 mod (2^31 - 1)` over the UTF-8 bytes of `id`, then mod `buckets`. Every step
 * stays under 2^47, exact in doubles, so Lua 5.1's numbers compute the same. (A plain `h * 31 + byte`
 * left a third of 1,024 buckets empty for sequential ids.)
 */
export function bucketOf(id: string, buckets: number): number {
  let h = 0;
  // Ids are mostly ASCII, whose UTF-8 bytes are their char codes: hashed without encoding (the encoder's
  // array was most of the cost of a node-index write, 4-5 µs a connect). Anything else takes the bytes.
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i);
    if (code > 0x7f) return bucketOfBytes(utf8.encode(id), buckets);
    h = ((h + code) * MULTIPLIER) % MODULUS;
  }
  return h % buckets;
}

function bucketOfBytes(bytes: Uint8Array, buckets: number): number {
  let h = 0;
  for (const byte of bytes) h = ((h + byte) * MULTIPLIER) % MODULUS;
  return h % buckets;
}
