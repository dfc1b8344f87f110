// Generates test/vectors/merkle-vectors.json once (run: node test/vectors/merkle-vector-generator.ts).
// The committed file is the contract: consent/merkle.ts, ConsentAnchor.sol and merkle_verify.py are
// each checked against it, so regenerating it is a deliberate, reviewed change of the encoding.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { buildMerkleTree } from '../../consent/merkle.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const recordHash = (label: string): Uint8Array => createHash('sha256').update(label, 'utf8').digest();

type Spec = { name: string; labels: string[] };
const numbered = (name: string, n: number): Spec => ({
  name,
  labels: Array.from({ length: n }, (_, i) => `sealgate-merkle-vector/${name}/${i}`),
});
const specs: Spec[] = [
  numbered('one-leaf', 1),
  numbered('two-leaves', 2),
  numbered('three-leaves-odd-promotion', 3),
  numbered('four-leaves-perfect', 4),
  numbered('five-leaves-promotion-twice', 5),
  numbered('seven-leaves', 7),
  numbered('eight-leaves-perfect', 8),
  numbered('eleven-leaves', 11),
  numbered('thirty-three-leaves', 33),
  { name: 'duplicate-records', labels: ['same', 'same', 'same'] },
];

const cases = specs.map(({ name, labels }) => {
  const recordHashes = labels.map(recordHash);
  const tree = buildMerkleTree(recordHashes);
  return {
    name,
    recordLabels: labels,
    recordHashes: recordHashes.map(hex),
    leaves: recordHashes.map((_, i) => hex(tree.leaf(i))),
    root: hex(tree.root),
    proofs: recordHashes.map((_, i) => ({ index: i, proof: tree.proof(i).map(hex) })),
  };
});

const doc = {
  source:
    'sealgate, generated once by test/vectors/merkle-vector-generator.ts from consent/merkle.ts; ' +
    'cross-checked by test/vectors/merkle_verify.py (Python hashlib) and ConsentAnchor.verifyInclusion',
  encoding:
    'docs/merkle.md: leaf = SHA-256(0x00 || recordHash); node = SHA-256(0x01 || min(a,b) || max(a,b)); ' +
    'unpaired last node promoted unchanged; recordHash = SHA-256(UTF-8 recordLabel)',
  cases,
};
writeFileSync(new URL('./merkle-vectors.json', import.meta.url), JSON.stringify(doc, null, 2) + '\n');
