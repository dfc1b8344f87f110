// The point table (mpc/psi/point-table.ts) finds exactly the equal 32-byte points, reports the first repeated pair,
// works on unaligned buffers, and keeps finding points that a peer chose to share their leading bytes.
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPointTable } from '../../../mpc/psi/point-table.ts';
import { cryptoRandom } from '../../../mpc/psi/shuffle.ts';

const at = (points: Uint8Array, i: number) => Buffer.from(points.subarray(i * 32, i * 32 + 32)).toString('hex');

describe('point table', () => {
  it('lookup agrees with a map keyed by the full point, for sets with planted overlaps', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 300 }),
        (n, m, shared) => {
          const table = randomBytes(32 * n);
          const queries = Buffer.concat([randomBytes(32 * m), table.subarray(0, 32 * Math.min(shared, n))]);
          const built = createPointTable(table, cryptoRandom);
          expect(built.duplicate).toBeNull();
          const index = new Map(Array.from({ length: n }, (_, i) => [at(table, i), i]));
          const found = built.lookup(queries);
          expect(Array.from(found)).toEqual(
            Array.from({ length: queries.length / 32 }, (_, i) => index.get(at(queries, i)) ?? -1),
          );
        },
      ),
      { numRuns: 50 },
    );
  });

  it('reports the first repeated pair and refuses to answer lookups then', () => {
    const points = randomBytes(32 * 10);
    points.copy(points, 7 * 32, 2 * 32, 3 * 32);
    const table = createPointTable(points, cryptoRandom);
    expect(table.duplicate).toEqual({ first: 2, second: 7 });
    expect(() => table.lookup(points)).toThrow(RangeError);
  });

  it('works on buffers that do not start on a 4-byte boundary', () => {
    const backing = randomBytes(32 * 50 + 3);
    const points = backing.subarray(3);
    const table = createPointTable(points, cryptoRandom);
    expect(Array.from(table.lookup(backing.subarray(3 + 32 * 10, 3 + 32 * 12)))).toEqual([10, 11]);
  });

  it('finds every point even when all of them share their first 28 bytes', () => {
    // A hostile peer can choose the points it sends: the slot hash covers all 32 bytes, so they still spread.
    const prefix = createHash('sha256').update('same prefix').digest().subarray(0, 28);
    const points = Buffer.concat(
      Array.from({ length: 20_000 }, (_, i) => {
        const tail = Buffer.alloc(4);
        tail.writeUInt32LE(i, 0);
        return Buffer.concat([prefix, tail]);
      }),
    );
    const table = createPointTable(points, cryptoRandom);
    expect(table.duplicate).toBeNull();
    const found = table.lookup(points);
    expect(found.every((v, i) => v === i)).toBe(true);
    expect(table.lookup(randomBytes(32 * 100)).every((v) => v === -1)).toBe(true);
  });

  it('handles the empty set', () => {
    const table = createPointTable(Buffer.alloc(0), cryptoRandom);
    expect(table.size).toBe(0);
    expect(Array.from(table.lookup(randomBytes(64)))).toEqual([-1, -1]);
  });
});
