// The status tree (consent/status-tree.ts): inclusion and exclusion proofs over random trees, tampering, a 3-leaf
// tree recomputed by hand from the spec formulas, and order independence of the root.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CONSENT_EVENT_TYPES, DELEGATION_EVENT_TYPES } from '../../consent/event.ts';
import {
  buildStatusTree,
  statusKeyOf,
  StatusProof,
  statusValueHash,
  verifyStatusExclusion,
  verifyStatusInclusion,
  type StatusLeafValue,
  type StatusTree,
} from '../../consent/status-tree.ts';
import { prng } from '../fixtures/json-mutations.ts';

const sha256 = (...parts: (string | Uint8Array)[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ZERO = Buffer.alloc(32);

/** A copy of `h` (64 hex) with one bit flipped. */
const flip = (h: string, bit = 0): string => {
  const b = Buffer.from(h, 'hex');
  b[(bit >> 3) % 32]! ^= 0x80 >> (bit & 7);
  return hex(b);
};

/** A random version-4 lower-case UUID drawn from `rand`. */
function uuidFrom(rand: () => number): string {
  const h = Array.from({ length: 32 }, () => Math.floor(rand() * 16).toString(16));
  h[12] = '4';
  h[16] = '89ab'[Math.floor(rand() * 4)]!;
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

const TYPES = [...CONSENT_EVENT_TYPES, ...DELEGATION_EVENT_TYPES];
function valueFor(recordId: string, rand: () => number): StatusLeafValue {
  const type = TYPES[Math.floor(rand() * TYPES.length)]!;
  return {
    recordId,
    kind: (CONSENT_EVENT_TYPES as readonly string[]).includes(type) ? 'consent' : 'delegation',
    lastEventSeq: 1 + Math.floor(rand() * 1e9),
    lastEventType: type,
    lastEventHash: hex(sha256(String(rand()))),
  };
}
const randomValues = (n: number, seed: number): StatusLeafValue[] => {
  const rand = prng(seed);
  return Array.from({ length: n }, () => valueFor(uuidFrom(rand), rand));
};

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as { code?: string }).code ?? 'NO_CODE';
  }
  throw new Error('expected a throw');
}

const SIZES = [0, 1, 2, 3, 17, 1000];
const trees = new Map<number, { values: StatusLeafValue[]; tree: StatusTree }>(
  SIZES.map((n) => {
    const values = randomValues(n, 1000 + n);
    return [n, { values, tree: buildStatusTree(values) }];
  }),
);
const treeOf = (n: number): { values: StatusLeafValue[]; tree: StatusTree } => trees.get(n)!;

describe('status tree: inclusion', () => {
  it('every inclusion proof of random trees of 0, 1, 2, 3, 17 and 1000 leaves verifies', () => {
    for (const n of SIZES) {
      const { values, tree } = treeOf(n);
      expect(tree.size).toBe(n);
      if (n === 0) expect(tree.root).toEqual(ZERO);
      if (n === 1)
        expect(tree.root).toEqual(
          sha256(Uint8Array.of(2), statusKeyOf(values[0]!.recordId), Buffer.from(statusValueHash(values[0]!), 'hex')),
        );
      for (const value of values) {
        const proof = tree.prove(value.recordId);
        expect(proof.terminal).toBeNull();
        expect(proof.siblings.length).toBeLessThanOrEqual(256);
        expect(tree.has(value.recordId)).toBe(true);
        expect(verifyStatusInclusion(tree.root, value, proof)).toBe(true);
        // Plain JSON: survives a round trip through text and the schema unchanged.
        expect(StatusProof.parse(JSON.parse(JSON.stringify(proof)))).toEqual(proof);
      }
    }
  });

  it('a changed value, a changed sibling, a wrong record or another root fails', () => {
    const other = treeOf(17).tree.root;
    for (const n of [2, 3, 17, 1000]) {
      const { values, tree } = treeOf(n);
      const root = tree.root;
      values.slice(0, 40).forEach((value, i) => {
        const proof = tree.prove(value.recordId);
        expect(verifyStatusInclusion(root, { ...value, lastEventSeq: value.lastEventSeq + 1 }, proof)).toBe(false);
        expect(verifyStatusInclusion(root, { ...value, lastEventHash: flip(value.lastEventHash, i) }, proof)).toBe(
          false,
        );
        const sameKind = TYPES.find(
          (t) =>
            t !== value.lastEventType &&
            (value.kind === 'consent') === (CONSENT_EVENT_TYPES as readonly string[]).includes(t),
        )!;
        expect(verifyStatusInclusion(root, { ...value, lastEventType: sameKind }, proof)).toBe(false);
        proof.siblings.forEach((_, j) => {
          const siblings = proof.siblings.map((s, k) => (k === j ? flip(s, i + j) : s));
          expect(verifyStatusInclusion(root, value, { ...proof, siblings })).toBe(false);
        });
        expect(verifyStatusInclusion(root, value, { ...proof, siblings: proof.siblings.slice(1) })).toBe(false);
        expect(verifyStatusInclusion(root, value, { ...proof, siblings: [...proof.siblings, hex(ZERO)] })).toBe(false);
        const wrong = values[(i + 1) % values.length]!;
        expect(verifyStatusInclusion(root, wrong, proof)).toBe(false);
        // The same value under another record id.
        expect(verifyStatusInclusion(root, { ...value, recordId: wrong.recordId }, proof)).toBe(false);
        if (n !== 17) expect(verifyStatusInclusion(other, value, proof)).toBe(false);
        // An inclusion proof carries no terminal, not even the record's own leaf.
        const own = { key: hex(statusKeyOf(value.recordId)), valueHash: statusValueHash(value) };
        expect(verifyStatusInclusion(root, value, { ...proof, terminal: own })).toBe(false);
      });
    }
  });

  it('verifiers answer false, never throw, on malformed input', () => {
    const { values, tree } = treeOf(17);
    const value = values[3]!;
    const proof = tree.prove(value.recordId);
    const root = tree.root;
    const badProofs: unknown[] = [
      null,
      undefined,
      42,
      'proof',
      [],
      {},
      { siblings: proof.siblings },
      { siblings: proof.siblings, terminal: null, extra: 1 },
      { siblings: proof.siblings.map((s) => s.toUpperCase()), terminal: null },
      { siblings: [...proof.siblings.slice(1), 'zz'], terminal: null },
      { siblings: Array.from({ length: 257 }, () => hex(ZERO)), terminal: null },
      { siblings: Array.from({ length: 1_000_000 }), terminal: null },
      { siblings: proof.siblings, terminal: { key: 'x', valueHash: hex(ZERO) } },
      { siblings: proof.siblings, terminal: { key: hex(ZERO), valueHash: hex(ZERO), extra: true } },
      {
        get siblings(): never {
          throw new Error('hostile getter');
        },
        terminal: null,
      },
    ];
    for (const bad of badProofs) {
      expect(verifyStatusInclusion(root, value, bad)).toBe(false);
      expect(verifyStatusExclusion(root, value.recordId, bad)).toBe(false);
    }
    const badValues: unknown[] = [
      null,
      'value',
      { ...value, extra: 1 },
      { ...value, recordId: value.recordId.toUpperCase() },
      { ...value, lastEventSeq: 0 },
      { ...value, lastEventSeq: 2 ** 53 },
      { ...value, lastEventSeq: 1.5 },
      { ...value, lastEventHash: value.lastEventHash.toUpperCase() },
      { ...value, kind: value.kind === 'consent' ? 'delegation' : 'consent' },
      { ...value, lastEventType: 'delete' },
    ];
    for (const bad of badValues) expect(verifyStatusInclusion(root, bad, proof)).toBe(false);
    for (const badRoot of [null, 'root', hex(root), root.subarray(0, 31), Buffer.concat([root, ZERO])] as unknown[]) {
      expect(verifyStatusInclusion(badRoot as Uint8Array, value, proof)).toBe(false);
      expect(verifyStatusExclusion(badRoot as Uint8Array, value.recordId, proof)).toBe(false);
    }
    for (const badId of [null, 7, 'not-a-uuid', value.recordId.toUpperCase(), ''] as unknown[])
      expect(verifyStatusExclusion(root, badId as string, { siblings: [], terminal: null })).toBe(false);
  });
});

describe('status tree: exclusion', () => {
  it('exclusion proofs for absent ids verify, ending both in empty subtrees and in other leaves', () => {
    const rand = prng(7);
    const ends = { empty: 0, leaf: 0 };
    for (const n of SIZES) {
      const { tree } = treeOf(n);
      const root = tree.root;
      const endsHere = { empty: 0, leaf: 0 };
      for (let i = 0; i < 200; i++) {
        const id = uuidFrom(rand);
        expect(tree.has(id)).toBe(false);
        const proof = tree.prove(id);
        expect(verifyStatusExclusion(root, id, proof)).toBe(true);
        if (proof.terminal === null) {
          endsHere.empty++;
        } else {
          endsHere.leaf++;
          expect(proof.terminal.key).not.toBe(hex(statusKeyOf(id)));
          // Tampering with the terminal or a sibling breaks it.
          const terminal = { ...proof.terminal, valueHash: flip(proof.terminal.valueHash, i) };
          expect(verifyStatusExclusion(root, id, { ...proof, terminal })).toBe(false);
          expect(verifyStatusExclusion(root, id, { ...proof, terminal: null })).toBe(false);
        }
        if (proof.siblings.length > 0) {
          const siblings = proof.siblings.map((s, k) => (k === i % proof.siblings.length ? flip(s, i) : s));
          expect(verifyStatusExclusion(root, id, { ...proof, siblings })).toBe(false);
        }
        if (n >= 2) expect(verifyStatusExclusion(treeOf(n === 17 ? 3 : 17).tree.root, id, proof)).toBe(false);
      }
      // Which ends a size can have: none has leaves to end at, one has no empty subtree on any path.
      if (n === 0) expect(endsHere).toEqual({ empty: 200, leaf: 0 });
      if (n === 1) expect(endsHere).toEqual({ empty: 0, leaf: 200 });
      if (n >= 17) expect(endsHere.empty > 0 && endsHere.leaf > 0).toBe(true);
      ends.empty += endsHere.empty;
      ends.leaf += endsHere.leaf;
    }
    expect(ends.empty).toBeGreaterThan(0);
    expect(ends.leaf).toBeGreaterThan(0);
  });

  it('no exclusion proof for a present id verifies: not its inclusion proof, not its own leaf, not a cut path', () => {
    for (const n of [1, 2, 3, 17]) {
      const { values, tree } = treeOf(n);
      const root = tree.root;
      const leaves = values.map((v) => ({ key: hex(statusKeyOf(v.recordId)), valueHash: statusValueHash(v) }));
      for (const value of values) {
        const { siblings } = tree.prove(value.recordId);
        // Every prefix of its path, ending in an empty subtree or in any leaf of the tree, including its own.
        for (let cut = 0; cut <= siblings.length; cut++) {
          const path = siblings.slice(0, cut);
          expect(verifyStatusExclusion(root, value.recordId, { siblings: path, terminal: null })).toBe(false);
          for (const terminal of leaves)
            expect(verifyStatusExclusion(root, value.recordId, { siblings: path, terminal })).toBe(false);
        }
      }
    }
  });

  it('an exclusion proof is refused for a present id even when its terminal folds to the root', () => {
    // Own leaf as "another" leaf: the fold gives the root, only k' ≠ k refuses it.
    const { values, tree } = treeOf(17);
    const value = values[5]!;
    const { siblings } = tree.prove(value.recordId);
    const terminal = { key: hex(statusKeyOf(value.recordId)), valueHash: statusValueHash(value) };
    expect(verifyStatusExclusion(tree.root, value.recordId, { siblings, terminal })).toBe(false);
  });
});

describe('status tree: the spec by hand', () => {
  // Key bits (first three) checked below: A 0…, B 110…, C 111…; absent D 10…, E 0….
  const A = 'e55aa4a8-fa63-4f80-84d2-cb8362c84128';
  const B = '562668f0-5e0d-424b-8f85-f4f7a64bee48';
  const C = 'b6828f23-ed22-41bd-a593-ed8db40b59d4';
  const D = '0c12cc49-c775-42d3-9bf0-e1d17858b943';
  const E = '0e0115a6-d82d-4b53-b893-4ef6a1d76565';
  const key = (id: string): Buffer => sha256(Buffer.from(id, 'utf8'));
  const bits = (id: string, n: number): string =>
    Array.from({ length: n }, (_, i) => (key(id)[i >> 3]! >> (7 - (i & 7))) & 1).join('');
  const value = (recordId: string, seq: number): StatusLeafValue => ({
    recordId,
    kind: 'consent',
    lastEventSeq: seq,
    lastEventType: 'grant',
    lastEventHash: hex(sha256(`event/${recordId}`)),
  });
  // RFC 8785 of these objects written out by hand: members in code-unit order, no spaces.
  const valueHash = (v: StatusLeafValue): Buffer =>
    sha256(
      `{"kind":"${v.kind}","lastEventHash":"${v.lastEventHash}","lastEventSeq":${v.lastEventSeq},` +
        `"lastEventType":"${v.lastEventType}","recordId":"${v.recordId}"}`,
    );
  const leaf = (v: StatusLeafValue): Buffer => sha256(Uint8Array.of(0x02), key(v.recordId), valueHash(v));
  const internal = (l: Buffer, r: Buffer): Buffer => sha256(Uint8Array.of(0x03), l, r);
  const [a, b, c] = [value(A, 3), value(B, 1), value(C, 2)];

  it('the chosen ids have the key bits the tree below assumes', () => {
    expect([bits(A, 1), bits(B, 3), bits(C, 3), bits(D, 2), bits(E, 1)]).toEqual(['0', '110', '111', '10', '0']);
    expect(statusKeyOf(A)).toEqual(key(A));
    expect(statusValueHash(a)).toBe(hex(valueHash(a)));
  });

  it('root = internal(leaf(A), internal(empty, internal(leaf(B), leaf(C)))), proofs as the spec says', () => {
    const bc = internal(leaf(b), leaf(c));
    const right = internal(ZERO, bc);
    const root = internal(leaf(a), right);
    for (const order of [
      [a, b, c],
      [c, a, b],
      [b, c, a],
    ]) {
      expect(hex(buildStatusTree(order).root)).toBe(hex(root));
    }
    const tree = buildStatusTree([a, b, c]);
    expect(tree.prove(A)).toEqual({ siblings: [hex(right)], terminal: null });
    expect(tree.prove(B)).toEqual({ siblings: [hex(leaf(a)), hex(ZERO), hex(leaf(c))], terminal: null });
    expect(tree.prove(C)).toEqual({ siblings: [hex(leaf(a)), hex(ZERO), hex(leaf(b))], terminal: null });
    // D goes right, then left into the empty subtree; E goes left into A's leaf.
    expect(tree.prove(D)).toEqual({ siblings: [hex(leaf(a)), hex(bc)], terminal: null });
    expect(tree.prove(E)).toEqual({
      siblings: [hex(right)],
      terminal: { key: hex(key(A)), valueHash: hex(valueHash(a)) },
    });
    for (const v of [a, b, c]) expect(verifyStatusInclusion(root, v, tree.prove(v.recordId))).toBe(true);
    for (const id of [D, E]) expect(verifyStatusExclusion(root, id, tree.prove(id))).toBe(true);
    // Two leaves: they part at bit 0, each sits directly under the root.
    expect(hex(buildStatusTree([a, c]).root)).toBe(hex(internal(leaf(a), leaf(c))));
    // B and C share bits 0 and 1: a chain of two internal nodes with empty siblings above their parting.
    expect(hex(buildStatusTree([b, c]).root)).toBe(hex(internal(ZERO, internal(ZERO, bc))));
  });

  it('two values for one record id are BAD_INPUT, and so is a malformed value or id', () => {
    expect(codeOf(() => buildStatusTree([a, b, { ...a, lastEventSeq: 9 }]))).toBe('BAD_INPUT');
    expect(codeOf(() => buildStatusTree([a, a]))).toBe('BAD_INPUT');
    expect(codeOf(() => buildStatusTree([a, { ...b, lastEventSeq: 0 }]))).toBe('BAD_INPUT');
    expect(codeOf(() => buildStatusTree([{ ...a, kind: 'delegation' }]))).toBe('BAD_INPUT');
    expect(codeOf(() => buildStatusTree('values' as unknown as StatusLeafValue[]))).toBe('BAD_INPUT');
    expect(codeOf(() => statusKeyOf('not-a-uuid'))).toBe('BAD_INPUT');
    expect(codeOf(() => buildStatusTree([a]).prove(A.toUpperCase()))).toBe('BAD_INPUT');
    expect(codeOf(() => statusValueHash({ ...a, extra: 1 } as StatusLeafValue))).toBe('BAD_INPUT');
  });
});

describe('status tree: order', () => {
  it('the root does not depend on the order of the values (seeded shuffles)', () => {
    const rand = prng(42);
    for (const n of [2, 3, 5, 17, 64, 300]) {
      const values = randomValues(n, 5000 + n);
      const root = hex(buildStatusTree(values).root);
      for (let round = 0; round < 8; round++) {
        const shuffled = values.slice();
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = Math.floor(rand() * (i + 1));
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        expect(hex(buildStatusTree(shuffled).root)).toBe(root);
      }
      // And it does depend on every value.
      const changed = values.map((v, i) => (i === n - 1 ? { ...v, lastEventSeq: v.lastEventSeq + 1 } : v));
      expect(hex(buildStatusTree(changed).root)).not.toBe(root);
      expect(hex(buildStatusTree(values.slice(1)).root)).not.toBe(root);
    }
  });
});
