// An open-addressing hash table (linear probing, Knuth TAOCP vol. 3 §6.4) over 32-byte points stored in one
// contiguous buffer: it holds only a Uint32Array of slots, so intersecting 10M points needs no per-point object.
import { abytes } from '../../core/bytes.ts';
import type { RandomSource } from './shuffle.ts';

export type PointTable = {
  readonly size: number;
  /** The first pair of equal points found while building (indices into the table's points), or null. */
  readonly duplicate: { first: number; second: number } | null;
  /** For each 32-byte query, the index of the equal table point, or -1. Throws if `duplicate` is set. */
  lookup(queries: Uint8Array): Int32Array;
};

const WORDS = 8;

/**
 * Builds the table over `points` (32·n bytes). Slots are chosen by a hash of all eight words under a random
 * per-table key, so a peer that picks the points cannot aim them at one slot; equality is confirmed on all 32
 * bytes. The load factor stays at or below one half.
 */
export function createPointTable(points: Uint8Array, random: RandomSource): PointTable {
  // Points are our own or a peer's already decoded as whole records (psi-message.ts): a bad length is our bug.
  abytes(points, { multipleOf: 32 }, 'points');
  const n = points.length / 32;
  const words = asWords(points);
  const bits = Math.max(4, Math.ceil(Math.log2(2 * n + 1)));
  const mask = (1 << bits) - 1;
  const slots = new Uint32Array(2 ** bits); // 0 = empty, otherwise point index + 1
  const keyBytes = random(WORDS * 4);
  const key = new Uint32Array(WORDS);
  // Odd multipliers keep each word's contribution a bijection of that word.
  for (let k = 0; k < WORDS; k++)
    key[k] =
      ((keyBytes[4 * k] as number) |
        ((keyBytes[4 * k + 1] as number) << 8) |
        ((keyBytes[4 * k + 2] as number) << 16) |
        ((keyBytes[4 * k + 3] as number) << 24) |
        1) >>>
      0;

  const slotOf = (w: Uint32Array, at: number): number => {
    let h = 0;
    for (let k = 0; k < WORDS; k++) h = (h + Math.imul(w[at + k] as number, key[k] as number)) | 0;
    // Final avalanche (MurmurHash3 fmix32) so that the slot bits depend on every bit of the sum.
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h & mask;
  };
  const isEqual = (a: Uint32Array, at: number, b: Uint32Array, bt: number): boolean => {
    for (let k = 0; k < WORDS; k++) if (a[at + k] !== b[bt + k]) return false;
    return true;
  };

  let duplicate: { first: number; second: number } | null = null;
  build: for (let i = 0; i < n; i++) {
    let slot = slotOf(words, i * WORDS);
    for (;;) {
      const held = slots[slot] as number;
      if (held === 0) {
        slots[slot] = i + 1;
        break;
      }
      if (isEqual(words, (held - 1) * WORDS, words, i * WORDS)) {
        duplicate = { first: held - 1, second: i };
        break build;
      }
      slot = (slot + 1) & mask;
    }
  }

  return {
    size: n,
    duplicate,
    lookup(queries) {
      // Building stops at the first duplicate, so such a table is incomplete and must not answer.
      if (duplicate !== null) throw new RangeError('table has a duplicate point');
      abytes(queries, { multipleOf: 32 }, 'queries');
      const q = asWords(queries);
      const found = new Int32Array(queries.length / 32);
      for (let i = 0; i < found.length; i++) {
        let slot = slotOf(q, i * WORDS);
        let at = -1;
        for (;;) {
          const held = slots[slot] as number;
          if (held === 0) break;
          if (isEqual(words, (held - 1) * WORDS, q, i * WORDS)) {
            at = held - 1;
            break;
          }
          slot = (slot + 1) & mask;
        }
        found[i] = at;
      }
      return found;
    },
  };
}

/**
 * A Uint32Array view of the bytes (platform byte order is fine: both sides of a comparison use it), copied only if
 * unaligned.
 */
function asWords(bytes: Uint8Array): Uint32Array {
  if (bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  return new Uint32Array(new Uint8Array(bytes).buffer);
}
