// The naive baseline for the Merkle build benchmark: the same tree as consent/merkle.ts (docs/merkle.md:
// leaf = SHA-256(0x00 ‖ recordHash), node = SHA-256(0x01 ‖ min ‖ max), an odd last node promoted), written
// the obvious way with node:crypto: one Buffer per node and one crypto call per digest. The benchmark checks
// that its root equals buildMerkleTree's, so the two timings are of the same computation.
import { createHash, hash } from 'node:crypto';

/** Which node:crypto path hashes each node: a Hash object per node, or the one-shot crypto.hash(). */
export const NAIVE_HASHES = ['createHash', 'crypto.hash'] as const;
export type NaiveHash = (typeof NAIVE_HASHES)[number];

const LEAF_PREFIX = Buffer.of(0x00);
const NODE_PREFIX = Buffer.of(0x01);
const HASH_BYTES = 32;

type Digest = (prefix: Buffer, a: Uint8Array, b?: Uint8Array) => Buffer;

const viaCreateHash: Digest = (prefix, a, b) => {
  const h = createHash('sha256').update(prefix).update(a);
  if (b !== undefined) h.update(b);
  return h.digest();
};

const viaOneShot: Digest = (prefix, a, b) =>
  hash('sha256', b === undefined ? Buffer.concat([prefix, a]) : Buffer.concat([prefix, a, b]), 'buffer');

/** The root over `flat` (n·32 concatenated record hashes), computed node by node. */
export function buildNaiveMerkleRoot(flat: Uint8Array, via: NaiveHash): Buffer {
  if (flat.length === 0 || flat.length % HASH_BYTES !== 0)
    throw new RangeError('flat must hold n ≥ 1 hashes of 32 bytes');
  const digest = via === 'createHash' ? viaCreateHash : viaOneShot;
  const n = flat.length / HASH_BYTES;
  let level: Buffer[] = new Array<Buffer>(n);
  for (let i = 0; i < n; i++) level[i] = digest(LEAF_PREFIX, flat.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES));
  while (level.length > 1) {
    const next: Buffer[] = new Array<Buffer>(Math.ceil(level.length / 2));
    for (let i = 0; i + 1 < level.length; i += 2) {
      const a = level[i] as Buffer;
      const b = level[i + 1] as Buffer;
      next[i >>> 1] = Buffer.compare(a, b) <= 0 ? digest(NODE_PREFIX, a, b) : digest(NODE_PREFIX, b, a);
    }
    if (level.length % 2 === 1) next[next.length - 1] = level[level.length - 1] as Buffer;
    level = next;
  }
  return level[0] as Buffer;
}
