// The ledger benchmark compares like with like: its naive node:crypto Merkle builder computes the same root as
// consent/merkle.ts (docs/merkle.md) for any leaf count, and its percentiles are nearest-rank samples.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NAIVE_HASHES, buildNaiveMerkleRoot } from '../../bench/anchor-naive-merkle.ts';
import { nearestRank, summarizeMs } from '../../bench/anchor-timing.ts';
import { buildMerkleTree } from '../../consent/merkle.ts';

describe('ledger benchmark baselines', () => {
  it('the naive node:crypto builder and buildMerkleTree agree on the root of 1..200 random leaves', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 * 200 }), (bytes) => {
        const flat = bytes.subarray(0, bytes.length - (bytes.length % 32));
        fc.pre(flat.length > 0);
        const root = Buffer.from(buildMerkleTree(flat).root);
        for (const via of NAIVE_HASHES) expect(buildNaiveMerkleRoot(flat, via)).toEqual(root);
      }),
      { numRuns: 200 },
    );
  });

  it('a one-leaf naive tree is SHA-256(0x00 ‖ recordHash), and a changed leaf changes the root', () => {
    const leaf = createHash('sha256').update('record').digest();
    const expected = createHash('sha256')
      .update(Buffer.concat([Buffer.of(0), leaf]))
      .digest();
    for (const via of NAIVE_HASHES) expect(buildNaiveMerkleRoot(leaf, via)).toEqual(expected);
    const flat = Buffer.concat([leaf, leaf, leaf]);
    const changed = Buffer.from(flat);
    changed[70] = (changed[70]! + 1) & 0xff;
    for (const via of NAIVE_HASHES)
      expect(buildNaiveMerkleRoot(changed, via)).not.toEqual(buildNaiveMerkleRoot(flat, via));
  });

  it('the naive builder refuses an empty or ragged input', () => {
    for (const via of NAIVE_HASHES) {
      expect(() => buildNaiveMerkleRoot(new Uint8Array(0), via)).toThrow(RangeError);
      expect(() => buildNaiveMerkleRoot(new Uint8Array(33), via)).toThrow(RangeError);
    }
  });

  it('median and p95 are nearest-rank samples', () => {
    const samples = Array.from({ length: 20 }, (_, i) => 20 - i); // 20..1, unsorted on purpose
    expect(summarizeMs(samples)).toMatchObject({
      count: 20,
      medianMs: 10,
      p95Ms: 19,
      minMs: 1,
      maxMs: 20,
      meanMs: 10.5,
    });
    expect(nearestRank([5], 0.95)).toBe(5);
    expect(() => nearestRank([], 0.5)).toThrow(RangeError);
  });
});
