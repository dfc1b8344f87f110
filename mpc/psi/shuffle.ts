// Uniform random permutations by Fisher-Yates (Knuth, TAOCP vol. 2, Algorithm P) over a cryptographic byte source,
// with rejection sampling so no index is favoured; PSI shuffles every set it sends so order reveals nothing.
import { randomBytes } from 'node:crypto';
import { abytes } from '../../core/bytes.ts';

/** Returns `size` uniformly random bytes. Production uses node:crypto; tests may inject a seeded source. */
export type RandomSource = (size: number) => Uint8Array;

export const cryptoRandom: RandomSource = (size) => randomBytes(size);

// Random words are drawn 16k at a time: one native call per block instead of one per swap.
const BLOCK_WORDS = 16384;

/** A uniformly random permutation of 0..n-1, as a typed array (4 bytes per row, no objects). */
export function randomPermutation(n: number, random: RandomSource): Uint32Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError('n must be an integer in [0, 2^32)');
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  let words: Uint32Array = new Uint32Array(0);
  let next = 0;
  // `remaining` swaps are left: draw that many words (plus a few for rejections), at most one block at a time.
  const word = (remaining: number): number => {
    if (next === words.length) {
      const size = 4 * Math.min(BLOCK_WORDS, remaining + 4);
      const bytes = random(size);
      if (bytes.length < size) throw new RangeError('random source returned too few bytes');
      words = new Uint32Array(new Uint8Array(bytes.subarray(0, size)).buffer);
      next = 0;
    }
    return words[next++] as number;
  };
  for (let i = n - 1; i > 0; i--) {
    const range = i + 1;
    // Reject the top partial interval of 2^32 so that r % range is exactly uniform.
    const limit = 0x100000000 - (0x100000000 % range);
    let r = word(i);
    while (r >= limit) r = word(i);
    const j = r % range;
    const t = perm[i] as number;
    perm[i] = perm[j] as number;
    perm[j] = t;
  }
  return perm;
}

/** out[k] = records[perm[k]] for fixed-size records: position k of the output holds source record perm[k]. */
export function permuteRecords(records: Uint8Array, perm: Uint32Array, recordSize: number): Buffer {
  abytes(records, perm.length * recordSize, 'records');
  const out = Buffer.allocUnsafeSlow(records.length);
  for (let k = 0; k < perm.length; k++) {
    const from = (perm[k] as number) * recordSize;
    out.set(records.subarray(from, from + recordSize), k * recordSize);
  }
  return out;
}
