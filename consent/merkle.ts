// Binary SHA-256 Merkle tree over record hashes, with inclusion proofs (encoding: docs/merkle.md;
// the same rules as ConsentAnchor.verifyInclusion and test/vectors/merkle_verify.py).
//
//   leaf  = SHA-256(0x00 ‖ recordHash)                 recordHash: the 32-byte digest of one record
//   node  = SHA-256(0x01 ‖ min(a, b) ‖ max(a, b))      a, b compared as 256-bit big-endian integers
//   level k+1 pairs (0,1), (2,3), … of level k; an unpaired last node is promoted unchanged
//   root  = the single node of the top level; a one-leaf tree's root is its leaf; no empty trees
//
// The 0x00/0x01 prefixes (RFC 6962 §2.1 style) keep a leaf from ever being read as an inner node,
// so a proof cannot pass off an inner node as a record. Sorted pairs (as in OpenZeppelin's
// MerkleProof) mean a proof is just the sibling list, with no left/right bits. Verifiers take the
// record hash, never a leaf hash, and apply the leaf prefix themselves for the same reason.
//
// Levels live in contiguous Buffers (32 bytes per node): a million-leaf tree is ~64 MB of flat
// memory and no per-node objects.
import { hash } from 'node:crypto';
import { abytes } from '../core/bytes.ts';
import { GatewayError } from '../core/errors.ts';
import { sha256Prefixed32, sha256Prefixed64 } from './merkle-sha256.ts';

export const HASH_BYTES = 32;
const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

export type MerkleTree = {
  /** Number of leaves (records). */
  readonly size: number;
  /** 32-byte root. A fresh copy on every read, so callers cannot corrupt the tree. */
  readonly root: Uint8Array;
  /** The domain-separated leaf hash of record `index`. */
  leaf(index: number): Uint8Array;
  /** Sibling hashes from the leaf level up; verify with verifyMerkleProof(root, recordHash, proof). */
  proof(index: number): Uint8Array[];
};

// Verification takes a root, a record hash and a proof that may come from outside (a receipt handed in): a wrong
// length there is the caller's error, BAD_INPUT.
function assertHash(value: Uint8Array, name: string): void {
  if (!(value instanceof Uint8Array) || value.length !== HASH_BYTES) {
    throw new GatewayError('BAD_INPUT', `${name} must be ${HASH_BYTES} bytes`, { field: name });
  }
}

/**
 * Accepts either an array of 32-byte record hashes or one buffer of n·32 concatenated hashes. Trees are built only
 * over digests the log itself computed, so a wrong length is a programmer error (RangeError).
 */
function toContiguous(recordHashes: readonly Uint8Array[] | Uint8Array): Uint8Array {
  if (!Array.isArray(recordHashes)) {
    const flat: unknown = recordHashes;
    abytes(flat, { multipleOf: HASH_BYTES }, 'recordHashes');
    return flat;
  }
  const out = new Uint8Array(recordHashes.length * HASH_BYTES);
  recordHashes.forEach((h, i) => {
    abytes(h, HASH_BYTES, `recordHashes[${i}]`);
    out.set(h, i * HASH_BYTES);
  });
  return out;
}

const viewOf = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** True if the node at offset a sorts at or before the node at offset b (unsigned big-endian). */
function isOrdered(view: DataView, a: number, b: number): boolean {
  for (let j = 0; j < HASH_BYTES; j += 4) {
    const x = view.getUint32(a + j);
    const y = view.getUint32(b + j);
    if (x !== y) return x < y;
  }
  return true;
}

function nextLevel(level: Buffer): Buffer {
  const count = level.length / HASH_BYTES;
  const next = Buffer.allocUnsafe(Math.ceil(count / 2) * HASH_BYTES);
  const src = viewOf(level);
  const dst = viewOf(next);
  let out = 0;
  for (let i = 0; i + 1 < count; i += 2, out += HASH_BYTES) {
    const a = i * HASH_BYTES;
    const b = a + HASH_BYTES;
    if (isOrdered(src, a, b)) sha256Prefixed64(NODE_PREFIX, src, a, b, dst, out);
    else sha256Prefixed64(NODE_PREFIX, src, b, a, dst, out);
  }
  // Odd count: the last node has no sibling and moves up unchanged (no duplication, so no
  // CVE-2012-2459-style ambiguity between a tree and the same tree with its last leaf repeated).
  if (count % 2 === 1) level.copy(next, out, (count - 1) * HASH_BYTES);
  return next;
}

/** Builds the tree over `recordHashes` (each a 32-byte digest). Throws BAD_INPUT for no leaves. */
export function buildMerkleTree(recordHashes: readonly Uint8Array[] | Uint8Array): MerkleTree {
  const input = toContiguous(recordHashes);
  const size = input.length / HASH_BYTES;
  if (size === 0)
    throw new GatewayError('BAD_INPUT', 'a Merkle tree needs at least one leaf', { field: 'recordHashes' });

  const leaves = Buffer.allocUnsafe(input.length);
  const src = viewOf(input);
  const dst = viewOf(leaves);
  for (let i = 0, off = 0; i < size; i++, off += HASH_BYTES) sha256Prefixed32(LEAF_PREFIX, src, off, dst, off);

  const levels: Buffer[] = [leaves];
  for (let level: Buffer = leaves; level.length > HASH_BYTES;) {
    level = nextLevel(level);
    levels.push(level);
  }
  const top = levels[levels.length - 1]!;

  const checkIndex = (index: number): void => {
    if (!Number.isInteger(index) || index < 0 || index >= size) {
      throw new GatewayError('BAD_INPUT', 'leaf index out of range', { field: 'index', size });
    }
  };
  const nodeAt = (level: Buffer, i: number): Uint8Array =>
    new Uint8Array(level.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES));

  return {
    size,
    get root() {
      return nodeAt(top, 0);
    },
    leaf(index) {
      checkIndex(index);
      return nodeAt(leaves, index);
    },
    proof(index) {
      checkIndex(index);
      const siblings: Uint8Array[] = [];
      let i = index;
      for (let k = 0; k < levels.length - 1; k++, i >>>= 1) {
        const level = levels[k]!;
        const sibling = i ^ 1;
        // A promoted node has no sibling at this level, so it contributes no proof element.
        if (sibling < level.length / HASH_BYTES) siblings.push(nodeAt(level, sibling));
      }
      return siblings;
    },
  };
}

/** SHA-256(0x00 ‖ recordHash), through node:crypto. */
export function hashLeaf(recordHash: Uint8Array): Uint8Array {
  assertHash(recordHash, 'recordHash');
  return hash('sha256', Buffer.concat([Buffer.of(LEAF_PREFIX), recordHash]), 'buffer');
}

/** SHA-256(0x01 ‖ min(a, b) ‖ max(a, b)), through node:crypto. */
export function hashPair(a: Uint8Array, b: Uint8Array): Uint8Array {
  assertHash(a, 'a');
  assertHash(b, 'b');
  const [lo, hi] = Buffer.compare(a, b) <= 0 ? [a, b] : [b, a];
  return hash('sha256', Buffer.concat([Buffer.of(NODE_PREFIX), lo, hi]), 'buffer');
}

/**
 * True iff `proof` links `recordHash` to `root` under the encoding above. Uses node:crypto, not the
 * fast builder hash, so building and verifying are independent implementations.
 * Throws BAD_INPUT if any argument is not 32 bytes; a mismatch is `false`, never a throw.
 */
export function verifyMerkleProof(root: Uint8Array, recordHash: Uint8Array, proof: readonly Uint8Array[]): boolean {
  assertHash(root, 'root');
  let node = hashLeaf(recordHash);
  proof.forEach((sibling, i) => {
    assertHash(sibling, `proof[${i}]`);
    node = hashPair(node, sibling);
  });
  return Buffer.compare(node, root) === 0;
}
