// The status tree of consent/status-tree.ts kept up to date record by record, for the anchoring service: each batch
// changes the last event of a few records, so the next status root costs O(changes × depth) hashes instead of a
// rebuild over every record. Same spec, same roots (a property test holds the two together); buildStatusTree stays
// the one that serves proofs.
//
// A node is empty, a leaf (key, valueHash) or an internal node (left, right), each with its hash. A lone leaf sits as
// high as it can: inserting a second leaf under it pushes both down to the first bit where their keys differ, with a
// chain of internal nodes (each with an empty sibling) above them; an update of an existing key rehashes its path.
import { createHash } from 'node:crypto';
import { statusKeyOf, statusValueHash, type StatusLeafValue } from './status-tree.ts';

const EMPTY_HASH = Buffer.alloc(32);

type Leaf = { kind: 'leaf'; key: Buffer; valueHash: Buffer; hash: Buffer };
type Internal = { kind: 'internal'; left: Node; right: Node; hash: Buffer };
type Node = null | Leaf | Internal;

const hashOf = (node: Node): Buffer => (node === null ? EMPTY_HASH : node.hash);
const bit = (key: Buffer, i: number): number => (key[i >> 3]! >> (7 - (i & 7))) & 1;

function leaf(key: Buffer, valueHash: Buffer): Leaf {
  const hash = createHash('sha256').update(Buffer.of(0x02)).update(key).update(valueHash).digest();
  return { kind: 'leaf', key, valueHash, hash };
}

function internal(left: Node, right: Node): Internal {
  const hash = createHash('sha256').update(Buffer.of(0x03)).update(hashOf(left)).update(hashOf(right)).digest();
  return { kind: 'internal', left, right, hash };
}

/** Two leaves with different keys under one subtree at `depth`: split at the first bit where the keys differ. */
function join(a: Leaf, b: Leaf, depth: number): Internal {
  const aBit = bit(a.key, depth);
  if (aBit !== bit(b.key, depth)) return aBit === 0 ? internal(a, b) : internal(b, a);
  const below = join(a, b, depth + 1);
  return aBit === 0 ? internal(below, null) : internal(null, below);
}

function insert(node: Node, depth: number, next: Leaf): Node {
  if (node === null) return next;
  if (node.kind === 'leaf') return node.key.equals(next.key) ? next : join(node, next, depth);
  return bit(next.key, depth) === 0
    ? internal(insert(node.left, depth + 1, next), node.right)
    : internal(node.left, insert(node.right, depth + 1, next));
}

export type IncrementalStatusTree = {
  /** The 32-byte root: 32 zero bytes while empty. */
  root(): Buffer;
  /** Sets a record's last event (insert or update). Throws BAD_INPUT for a value outside the spec. */
  set(value: StatusLeafValue): void;
};

/** The subtree at `depth` over leaves[from, to), sorted by key: one hash per node, O(n) in all. */
function build(leaves: readonly Leaf[], from: number, to: number, depth: number): Node {
  if (to === from) return null;
  if (to - from === 1) return leaves[from]!;
  let split = from;
  while (split < to && bit(leaves[split]!.key, depth) === 0) split++;
  return internal(build(leaves, from, split, depth + 1), build(leaves, split, to, depth + 1));
}

const leafOf = (value: StatusLeafValue): Leaf =>
  leaf(statusKeyOf(value.recordId), Buffer.from(statusValueHash(value), 'hex'));

/** Starts from `values` (one per record; a later value for the same record replaces an earlier one). */
export function incrementalStatusTree(values: readonly StatusLeafValue[] = []): IncrementalStatusTree {
  const byKey = new Map<string, Leaf>();
  for (const value of values) {
    const next = leafOf(value);
    byKey.set(next.key.toString('hex'), next);
  }
  const sorted = [...byKey.values()].sort((a, b) => Buffer.compare(a.key, b.key));
  let top: Node = build(sorted, 0, sorted.length, 0);
  return {
    root: () => Buffer.from(hashOf(top)),
    set(value) {
      top = insert(top, 0, leafOf(value));
    },
  };
}
