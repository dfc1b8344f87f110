// The PSI shuffle (mpc/psi/shuffle.ts) is a Fisher-Yates permutation over a cryptographic byte source: always a
// permutation, uniform over all orders (chi-squared on 3! orders), and applied to records exactly as documented.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cryptoRandom, permuteRecords, randomPermutation } from '../../../mpc/psi/shuffle.ts';
import { seededRandom } from './psi-fixture.ts';

describe('randomPermutation', () => {
  it('is always a permutation of 0..n-1', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5_000 }), fc.string(), (n, seed) => {
        const perm = randomPermutation(n, seededRandom(seed));
        expect(perm).toHaveLength(n);
        expect(Array.from(perm).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
      }),
      { numRuns: 40 },
    );
  });

  it('gives each of the 6 orders of 3 elements with equal probability (chi-squared, 5 degrees of freedom)', () => {
    const counts = new Map<string, number>();
    const samples = 60_000;
    const random = seededRandom('psi-shuffle/uniform');
    for (let i = 0; i < samples; i++) {
      const key = Array.from(randomPermutation(3, random)).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    const expected = samples / 6;
    const chiSquared = [...counts.values()].reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    // 20.5 is the 99.9th percentile of chi-squared with 5 degrees of freedom; a biased shuffle (e.g. swapping with
    // any index instead of 0..i) lands far above it.
    expect(chiSquared).toBeLessThan(20.5);
  });

  it('draws a different order on every call from the cryptographic source', () => {
    expect(Array.from(randomPermutation(64, cryptoRandom))).not.toEqual(
      Array.from(randomPermutation(64, cryptoRandom)),
    );
  });

  it('refuses a random source that returns too few bytes', () => {
    expect(() => randomPermutation(10, () => new Uint8Array(4))).toThrow(RangeError);
  });
});

describe('permuteRecords', () => {
  it('puts source record perm[k] at position k', () => {
    const records = Buffer.from([0, 0, 1, 1, 2, 2, 3, 3]);
    expect(Array.from(permuteRecords(records, Uint32Array.from([2, 0, 3, 1]), 2))).toEqual([2, 2, 0, 0, 3, 3, 1, 1]);
  });
});
