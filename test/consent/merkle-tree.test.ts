// Merkle tree invariants for consent/merkle.ts (encoding: docs/merkle.md), including the fast
// fixed-length SHA-256 against node:crypto (FIPS 180-4).
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildMerkleTree, hashLeaf, hashPair, verifyMerkleProof } from '../../consent/merkle.ts';
import { sha256Prefixed32, sha256Prefixed64 } from '../../consent/merkle-sha256.ts';

const digest = (...parts: Uint8Array[]): Buffer => createHash('sha256').update(Buffer.concat(parts)).digest();
const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

function codeOfSync(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as { code?: string }).code ?? 'NO_CODE';
  }
  throw new Error('expected a throw');
}

describe('Merkle tree', () => {
  it('the fast fixed-length SHA-256 equals node:crypto for both message shapes', () => {
    fc.assert(
      fc.property(fc.nat({ max: 255 }), hash32, hash32, (prefix, a, b) => {
        const src = Buffer.concat([a, b]);
        const out = new Uint8Array(32);
        sha256Prefixed32(prefix, view(src), 0, view(out), 0);
        expect(Buffer.from(out)).toEqual(digest(Uint8Array.of(prefix), a));
        sha256Prefixed64(prefix, view(src), 32, 0, view(out), 0);
        expect(Buffer.from(out)).toEqual(digest(Uint8Array.of(prefix), b, a));
      }),
      { numRuns: 500 },
    );
  });

  it('verify(prove(i)) holds for every leaf of random trees of 1..300 leaves', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), (size, seed) => {
        const hashes = Array.from({ length: size }, (_, i) => digest(Buffer.from(`${seed}/${i}`)));
        const tree = buildMerkleTree(hashes);
        expect(tree.size).toBe(size);
        for (let i = 0; i < size; i++) {
          const proof = tree.proof(i);
          expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(size)));
          expect(verifyMerkleProof(tree.root, hashes[i]!, proof)).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('a tampered sibling, record or root fails verification', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 120 }), fc.nat(), fc.nat(), fc.nat({ max: 255 }), (size, pick, at, bit) => {
        const hashes = Array.from({ length: size }, (_, i) => digest(Buffer.from(`t/${size}/${i}`)));
        const tree = buildMerkleTree(hashes);
        const i = pick % size;
        const proof = tree.proof(i);
        const mask = 1 << (bit % 8);
        const byte = at % 32;
        const tamperedProof = proof.map((p) => Uint8Array.from(p));
        tamperedProof[at % proof.length]![byte]! ^= mask;
        expect(verifyMerkleProof(tree.root, hashes[i]!, tamperedProof)).toBe(false);
        const record = Uint8Array.from(hashes[i]!);
        record[byte]! ^= mask;
        expect(verifyMerkleProof(tree.root, record, proof)).toBe(false);
        const root = tree.root;
        root[byte]! ^= mask;
        expect(verifyMerkleProof(root, hashes[i]!, proof)).toBe(false);
        // Dropping or reusing another leaf's path fails as well.
        expect(verifyMerkleProof(tree.root, hashes[i]!, proof.slice(1))).toBe(false);
        expect(verifyMerkleProof(tree.root, hashes[(i + 1) % size]!, proof)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it("a single-leaf tree's root is its leaf hash and its proof is empty", () => {
    const record = digest(Buffer.from('only'));
    const tree = buildMerkleTree([record]);
    expect(Buffer.from(tree.root)).toEqual(digest(Uint8Array.of(0x00), record));
    expect(tree.proof(0)).toEqual([]);
    expect(verifyMerkleProof(tree.root, record, [])).toBe(true);
    // The root is a leaf hash, never the bare record hash.
    expect(verifyMerkleProof(record, record, [])).toBe(false);
  });

  it('an unpaired last node is promoted unchanged, not duplicated', () => {
    const hashes = [0, 1, 2, 3, 4].map((i) => digest(Buffer.from(`odd/${i}`)));
    const [l0, l1, l2, l3, l4] = hashes.map(hashLeaf) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    const expected = hashPair(hashPair(hashPair(l0, l1), hashPair(l2, l3)), l4);
    const tree = buildMerkleTree(hashes);
    expect(Buffer.from(tree.root)).toEqual(Buffer.from(expected));
    expect(tree.proof(4).map((p) => Buffer.from(p))).toEqual([
      Buffer.from(hashPair(hashPair(l0, l1), hashPair(l2, l3))),
    ]);
    // A tree with its last record repeated is a different tree (no CVE-2012-2459 ambiguity).
    expect(Buffer.from(buildMerkleTree([...hashes, hashes[4]!]).root)).not.toEqual(Buffer.from(tree.root));
  });

  it('an inner node cannot be passed off as a record', () => {
    const hashes = [0, 1, 2, 3].map((i) => digest(Buffer.from(`inner/${i}`)));
    const tree = buildMerkleTree(hashes);
    const inner = hashPair(tree.leaf(0), tree.leaf(1));
    const upper = tree.proof(0).slice(1); // the path from that inner node to the root
    expect(Buffer.from(hashPair(inner, upper[0]!))).toEqual(Buffer.from(tree.root));
    expect(verifyMerkleProof(tree.root, inner, upper)).toBe(false);
  });

  it('array and contiguous-buffer inputs build the same tree', () => {
    const hashes = Array.from({ length: 37 }, (_, i) => digest(Buffer.from(`same/${i}`)));
    const a = buildMerkleTree(hashes);
    const b = buildMerkleTree(Buffer.concat(hashes));
    expect(Buffer.from(b.root)).toEqual(Buffer.from(a.root));
    expect(b.proof(36)).toEqual(a.proof(36));
  });

  it('an empty tree, wrong-sized hashes and out-of-range indices are refused', () => {
    expect(codeOfSync(() => buildMerkleTree([]))).toBe('BAD_INPUT');
    expect(codeOfSync(() => buildMerkleTree(new Uint8Array(0)))).toBe('BAD_INPUT');
    // Trees are built over the log's own digests, so a wrong-sized one is a programmer error, not a bad request.
    expect(() => buildMerkleTree(new Uint8Array(33))).toThrow(RangeError);
    expect(() => buildMerkleTree([new Uint8Array(32), new Uint8Array(31)])).toThrow(RangeError);
    const tree = buildMerkleTree([new Uint8Array(32), new Uint8Array(32)]);
    expect(codeOfSync(() => tree.proof(2))).toBe('BAD_INPUT');
    expect(codeOfSync(() => tree.proof(-1))).toBe('BAD_INPUT');
    expect(codeOfSync(() => tree.proof(0.5))).toBe('BAD_INPUT');
    expect(codeOfSync(() => verifyMerkleProof(tree.root, new Uint8Array(32), [new Uint8Array(16)]))).toBe('BAD_INPUT');
  });

  it('reading the root or a proof never exposes the tree to mutation', () => {
    const tree = buildMerkleTree([digest(Buffer.from('m0')), digest(Buffer.from('m1'))]);
    const before = Buffer.from(tree.root);
    tree.root.fill(0);
    tree.proof(0)[0]!.fill(0);
    expect(Buffer.from(tree.root)).toEqual(before);
    expect(verifyMerkleProof(tree.root, digest(Buffer.from('m0')), tree.proof(0))).toBe(true);
  });
});
