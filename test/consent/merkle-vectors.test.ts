// Committed Merkle vectors (test/vectors/merkle-vectors.json) checked by consent/merkle.ts and by an
// independent Python verifier written from docs/merkle.md (hashlib SHA-256).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildMerkleTree } from '../../consent/merkle.ts';
import vectors from '../vectors/merkle-vectors.json' with { type: 'json' };

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Buffer => Buffer.from(h, 'hex');
const PYTHON_VERIFIER = fileURLToPath(new URL('../vectors/merkle_verify.py', import.meta.url));

type PyProof = { root: string; recordHash: string; proof: string[] };
type PyCase = { recordHashes?: string[]; proofs: PyProof[] };

function runPython(cases: PyCase[]): { root: string | null; verified: boolean[] }[] {
  const result = spawnSync('python3', [PYTHON_VERIFIER], {
    input: JSON.stringify({ cases }),
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (result.status !== 0) throw new Error(`python verifier failed: ${result.stderr}`);
  return (JSON.parse(result.stdout) as { cases: { root: string | null; verified: boolean[] }[] }).cases;
}

describe('Merkle vectors', () => {
  it('consent/merkle.ts reproduces every committed vector', () => {
    for (const c of vectors.cases) {
      expect(c.recordHashes).toEqual(c.recordLabels.map((l) => createHash('sha256').update(l, 'utf8').digest('hex')));
      const tree = buildMerkleTree(c.recordHashes.map(bytes));
      expect(hex(tree.root)).toBe(c.root);
      c.leaves.forEach((leaf, i) => expect(hex(tree.leaf(i))).toBe(leaf));
      for (const p of c.proofs) expect(tree.proof(p.index).map(hex)).toEqual(p.proof);
    }
  });

  it('matches the worked example in docs/merkle.md, computed with coreutils sha256sum', () => {
    const c = vectors.cases.find((v) => v.name === 'two-leaves')!;
    expect(c.root).toBe('34d780cc197442f202602ad7a54a9b1c611a564ca0408ef5cf149e6a899237a7');
    expect(hex(buildMerkleTree(c.recordHashes.map(bytes)).root)).toBe(c.root);
  });

  it('the independent Python verifier agrees with the vectors and with fresh merkle.ts proofs', () => {
    const fromVectors: PyCase[] = vectors.cases.map((c) => ({
      recordHashes: c.recordHashes,
      proofs: c.proofs.map((p) => ({ root: c.root, recordHash: c.recordHashes[p.index]!, proof: p.proof })),
    }));
    const fresh: PyCase[] = [1, 2, 3, 6, 17, 64, 100, 257].map((size) => {
      const hashes = Array.from({ length: size }, (_, i) => createHash('sha256').update(`py/${size}/${i}`).digest());
      const tree = buildMerkleTree(hashes);
      return {
        recordHashes: hashes.map(hex),
        proofs: hashes.map((h, i) => ({ root: hex(tree.root), recordHash: hex(h), proof: tree.proof(i).map(hex) })),
      };
    });
    const results = runPython([...fromVectors, ...fresh]);
    [...fromVectors, ...fresh].forEach((c, k) => {
      expect(results[k]!.root).toBe(c.proofs[0]!.root);
      expect(results[k]!.verified).toEqual(c.proofs.map(() => true));
    });
  });

  it('the Python verifier rejects mutated proofs', () => {
    const c = vectors.cases.find((v) => v.name === 'thirty-three-leaves')!;
    const flip = (h: string, at: number): string => {
      const b = bytes(h);
      b[at % 32]! ^= 0x80;
      return hex(b);
    };
    const mutated: PyProof[] = c.proofs.flatMap((p) => [
      {
        root: c.root,
        recordHash: c.recordHashes[p.index]!,
        proof: p.proof.map((s, j) => (j === p.index % p.proof.length ? flip(s, p.index) : s)),
      },
      { root: c.root, recordHash: flip(c.recordHashes[p.index]!, p.index), proof: p.proof },
      { root: c.root, recordHash: c.recordHashes[(p.index + 1) % c.recordHashes.length]!, proof: p.proof },
    ]);
    const [result] = runPython([{ proofs: mutated }]);
    expect(result!.root).toBeNull();
    expect(result!.verified).toEqual(mutated.map(() => false));
  });
});
