/**
 * The median of a benchmark's rounds, as the pair benchmarks' tables report it: the upper of the two middle
 * values for an even count (no averaging, so it is always a reading that happened); NaN for none.
 */
export const median = (xs: readonly number[]): number =>
  [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? NaN;
