// Generates test/vectors/status-vectors.json (run: node test/vectors/status-vector-generator.ts). Deterministic: ids
// and values derive from fixed labels. The committed file is the contract for consent/status-tree.ts and for outside
// verifiers: test/consent/status-vectors.test.ts holds the file to this generator's output and to the module, and
// status_verify.py recomputes every verdict from the spec alone, so a change here is a reviewed change of the encoding.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CONSENT_EVENT_TYPES, DELEGATION_EVENT_TYPES } from '../../consent/event.ts';
import {
  buildStatusTree,
  statusKeyOf,
  statusValueHash,
  type StatusLeafValue,
  type StatusProof,
  type StatusTree,
} from '../../consent/status-tree.ts';

const sha256 = (...parts: (string | Uint8Array)[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ZERO = hex(Buffer.alloc(32));

/** A version-4 lower-case UUID taken from SHA-256(label). */
function uuidOf(label: string): string {
  const h = sha256(label).toString('hex').split('');
  h[12] = '4';
  h[16] = '89ab'[parseInt(h[16]!, 16) & 3]!;
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}

const TYPES = [...CONSENT_EVENT_TYPES, ...DELEGATION_EVENT_TYPES];
function valueOf(label: string, i: number): StatusLeafValue {
  const type = TYPES[i % TYPES.length]!;
  return {
    recordId: uuidOf(label),
    kind: i % TYPES.length < CONSENT_EVENT_TYPES.length ? 'consent' : 'delegation',
    lastEventSeq: 1 + ((i * 7919) % 100_000),
    lastEventType: type,
    lastEventHash: hex(sha256(`${label}/last-event`)),
  };
}

/** A copy of `h` (64 hex) with the first bit of byte `at` flipped. */
const flip = (h: string, at = 0): string => {
  const b = Buffer.from(h, 'hex');
  b[at % 32]! ^= 0x80;
  return hex(b);
};
const bitOf = (key: Uint8Array, i: number): number => (key[i >> 3]! >> (7 - (i & 7))) & 1;

type Check =
  | { claim: 'inclusion'; note: string; root: string; value: StatusLeafValue; proof: StatusProof; expected: boolean }
  | { claim: 'exclusion'; note: string; root: string; recordId: string; proof: StatusProof; expected: boolean };

const SIZES: [string, number][] = [
  ['empty', 0],
  ['one-leaf', 1],
  ['two-leaves', 2],
  ['five-leaves', 5],
  ['sixty-four-leaves', 64],
];
/** Inclusion proofs listed per tree: all of the small ones, these of the large one. */
const LISTED_OF_64 = [0, 1, 7, 13, 31, 32, 50, 63];

type Built = { name: string; values: StatusLeafValue[]; tree: StatusTree };

/** Absent ids of `tree`, the first two (in label order) ending in an empty subtree and the first two at a leaf. */
function absentIds({ name, tree }: Built): string[] {
  const found = { empty: [] as string[], leaf: [] as string[] };
  for (let i = 0; i < 2000 && (found.empty.length < 2 || found.leaf.length < 2); i++) {
    const id = uuidOf(`sealgate-status-vector/${name}/absent/${i}`);
    const bucket = tree.prove(id).terminal === null ? found.empty : found.leaf;
    if (bucket.length < 2) bucket.push(id);
  }
  return [...found.empty, ...found.leaf];
}

const leafOf = (v: StatusLeafValue): { key: string; valueHash: string } => ({
  key: hex(statusKeyOf(v.recordId)),
  valueHash: statusValueHash(v),
});

/** Inclusion checks: listed leaves (true), then one leaf's proof tampered with (false). */
function inclusionChecks({ values, tree }: Built, otherRoot: string): Check[] {
  const root = hex(tree.root);
  const checks: Check[] = [];
  const listed = values.length === 64 ? LISTED_OF_64 : values.map((_, i) => i);
  for (const i of listed) {
    const value = values[i]!;
    checks.push({
      claim: 'inclusion',
      note: `leaf ${i}`,
      root,
      value,
      proof: tree.prove(value.recordId),
      expected: true,
    });
  }
  const bad = (note: string, value: StatusLeafValue, proof: StatusProof, r = root): void => {
    checks.push({ claim: 'inclusion', note, root: r, value, proof, expected: false });
  };
  const value = values.at(-1);
  if (value === undefined) {
    bad('empty tree, empty proof', valueOf('sealgate-status-vector/empty/not-there', 0), {
      siblings: [],
      terminal: null,
    });
    return checks;
  }
  const proof = tree.prove(value.recordId);
  const { siblings } = proof;
  bad('lastEventSeq changed', { ...value, lastEventSeq: value.lastEventSeq + 1 }, proof);
  bad('lastEventHash changed', { ...value, lastEventHash: flip(value.lastEventHash, 5) }, proof);
  if (siblings.length > 0) {
    bad('first sibling changed', value, { ...proof, siblings: [flip(siblings[0]!), ...siblings.slice(1)] });
    bad('last sibling dropped', value, { ...proof, siblings: siblings.slice(0, -1) });
  }
  bad('empty sibling appended', value, { ...proof, siblings: [...siblings, ZERO] });
  if (values.length > 1) bad('value of another record', values[0]!, proof);
  bad('against another tree root', value, proof, otherRoot);
  bad('terminal set on an inclusion proof', value, { ...proof, terminal: leafOf(value) });
  return checks;
}

/** Exclusion checks: absent ids of both ends (true), then tampered proofs and present ids (false). */
function exclusionChecks(built: Built, otherRoot: string): Check[] {
  const { values, tree } = built;
  const root = hex(tree.root);
  const absent = absentIds(built).map((recordId) => ({ recordId, proof: tree.prove(recordId) }));
  const checks: Check[] = absent.map(({ recordId, proof }) => ({
    claim: 'exclusion',
    note: `absent id, path ends in ${proof.terminal === null ? 'an empty subtree' : 'another leaf'}`,
    root,
    recordId,
    proof,
    expected: true,
  }));
  const bad = (note: string, recordId: string, proof: StatusProof, r = root): void => {
    checks.push({ claim: 'exclusion', note, root: r, recordId, proof, expected: false });
  };
  const atLeaf = absent.find(({ proof }) => proof.terminal !== null);
  if (atLeaf !== undefined) {
    const { recordId, proof } = atLeaf;
    bad('terminal valueHash changed', recordId, {
      ...proof,
      terminal: { ...proof.terminal!, valueHash: flip(proof.terminal!.valueHash) },
    });
    bad('terminal dropped', recordId, { ...proof, terminal: null });
    bad('against another tree root', recordId, proof, otherRoot);
  }
  const atEmpty = absent.find(({ proof }) => proof.terminal === null && proof.siblings.length > 0);
  if (atEmpty !== undefined) {
    const { recordId, proof } = atEmpty;
    const s = proof.siblings;
    bad('last sibling changed', recordId, { ...proof, siblings: [...s.slice(0, -1), flip(s.at(-1)!)] });
  }
  const value = values.at(-1);
  if (value !== undefined) {
    const proof = tree.prove(value.recordId);
    bad('present id with its inclusion proof', value.recordId, proof);
    bad('present id with its own leaf as terminal', value.recordId, { ...proof, terminal: leafOf(value) });
    if (values.length > 1)
      bad('present id with another leaf as terminal', value.recordId, { ...proof, terminal: leafOf(values[0]!) });
  }
  return checks;
}

/**
 * Checks against roots no builder makes (a leaf placed off its key's path), so that a verifier skipping the prefix
 * rule of exclusion proofs fails: the fold reaches the root, only "k' agrees with k on the first len bits" refuses.
 */
function craftedChecks(): Check[] {
  const node = (l: Buffer, r: Buffer): Buffer => sha256(Uint8Array.of(0x03), l, r);
  const ids = Array.from({ length: 64 }, (_, i) => uuidOf(`sealgate-status-vector/crafted/${i}`));
  const zeroBit = ids.filter((id) => bitOf(statusKeyOf(id), 0) === 0);
  const oneBit = ids.filter((id) => bitOf(statusKeyOf(id), 0) === 1);
  // `other` is the misplaced leaf (key bit 0 = 0); the probes are absent ids with bit 0 = 1 and = 0.
  const other = { ...valueOf('sealgate-status-vector/crafted/value', 0), recordId: zeroBit[0]! };
  const terminal = leafOf(other);
  const leaf = sha256(Uint8Array.of(0x02), Buffer.from(terminal.key, 'hex'), Buffer.from(terminal.valueHash, 'hex'));
  const sibling = sha256('sealgate-status-vector/crafted/sibling');
  const proof = { siblings: [hex(sibling)], terminal };
  return [
    {
      claim: 'exclusion',
      note: 'root internal(S, leaf(other)), key bit 0 of other = 0, of the id = 1: the fold reaches the root, the prefix rule refuses',
      root: hex(node(sibling, leaf)),
      recordId: oneBit[0]!,
      proof,
      expected: false,
    },
    {
      claim: 'exclusion',
      note: 'control: root internal(leaf(other), S), key bit 0 of the id = 0 like other: accepted',
      root: hex(node(leaf, sibling)),
      recordId: zeroBit[1]!,
      proof,
      expected: true,
    },
  ];
}

export function statusVectors() {
  const built: Built[] = SIZES.map(([name, size]) => {
    const values = Array.from({ length: size }, (_, i) => valueOf(`sealgate-status-vector/${name}/${i}`, i));
    return { name, values, tree: buildStatusTree(values) };
  });
  // "Another tree root" of each tree is the next tree's root (the last takes the first's).
  const trees = built.map((b, i) => {
    const otherRoot = hex(built[(i + 1) % built.length]!.tree.root);
    return {
      name: b.name,
      size: b.values.length,
      root: hex(b.tree.root),
      leaves: b.values.map((value) => ({ value, ...leafOf(value) })),
      checks: [...inclusionChecks(b, otherRoot), ...exclusionChecks(b, otherRoot)],
    };
  });
  return {
    source:
      'sealgate, generated by test/vectors/status-vector-generator.ts from consent/status-tree.ts; ' +
      'cross-checked by test/vectors/status_verify.py (Python hashlib, written from the spec)',
    encoding:
      'consent/status-tree.ts: key = SHA-256(UTF-8 recordId); bit i = (key[i>>3] >> (7-(i&7))) & 1, 0 = left; ' +
      'valueHash = SHA-256(RFC 8785 JSON of value); leaf = SHA-256(0x02 || key || valueHash); ' +
      'internal = SHA-256(0x03 || left || right); empty = 32 zero bytes; a lone leaf sits as high as it can; ' +
      'proof = { siblings: root level first, terminal: null | { key, valueHash } of the other leaf an exclusion path ends at }',
    trees,
    craftedChecks: craftedChecks(),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(new URL('./status-vectors.json', import.meta.url), JSON.stringify(statusVectors(), null, 2) + '\n');
}
