// Sparse Merkle tree over record id → the record's last event: the pure core of "proof of current status". Each
// anchored batch commits to the root over every record's last event; a status proof shows one record's last event
// (inclusion) or that the record is unknown (exclusion) against that root. The rules below are the published spec;
// test/vectors/status_verify.py is an independent check written from them.
//
//   key(id)     = SHA-256(UTF-8 bytes of id), 32 bytes; bit i = (key[i >> 3] >> (7 - (i & 7))) & 1, MSB first
//   value       = { recordId, kind, lastEventSeq, lastEventType, lastEventHash }     (StatusLeafValue below)
//   valueHash   = SHA-256(RFC 8785 canonical JSON of value)                           (canonicalHash)
//   leaf        = SHA-256(0x02 ‖ key ‖ valueHash)
//   internal    = SHA-256(0x03 ‖ left ‖ right)
//   empty       = 32 zero bytes
//   H(S, d)     = empty if |S| = 0; leaf(S's one member) if |S| = 1; else internal(H(S with bit d = 0, d + 1),
//                 H(S with bit d = 1, d + 1)). root = H(all leaves, 0). Bit 0 goes left, bit 1 right.
//
// A lone leaf sits as high as it can (no chain of internal nodes above it), but two leaves sharing a long prefix sit
// under a chain of internal nodes whose other child is empty: there is no path compression, so every node on a path
// is at the depth of its bit and a proof needs no depth or prefix fields. 0x00/0x01 belong to the batch tree
// (docs/merkle.md); 0x02/0x03 keep a status node from ever reading as a batch node and the other way round.
//
// Proof (StatusProof, plain JSON):
//   { "siblings": [64-hex, …], "terminal": null | { "key": 64-hex, "valueHash": 64-hex } }
//   siblings: the sibling hashes met going down the key's path, root level first (siblings[i] is at depth i + 1), up
//   to where the path meets a leaf or an empty subtree; at most 256. The verifier folds them bottom up:
//   for i = len - 1 … 0, node = bit_i(k) = 0 ? internal(node, siblings[i]) : internal(siblings[i], node).
//   - inclusion of value v: terminal must be null; start from leaf(key(v.recordId), valueHash(v)); accept iff the
//     fold equals the root.
//   - exclusion of id k: terminal null means the path ends in an empty subtree (start from 32 zero bytes); a terminal
//     means it ends in the leaf of another key k' (k' ≠ k, k' equal to k on the first siblings.length bits; start from
//     leaf(k', terminal.valueHash)). Accept iff the fold equals the root.
//
// Decisions where the brief left room (part of the spec from here on):
// - One shape for both proofs. Whether a proof claims inclusion or exclusion is said by the verifier one calls, never
//   read from the proof, so nothing in it can switch the claim; `tree.has(id)` tells the prover which one prove() made.
// - Hex is lower case, exactly 64 digits; objects have exactly the members above (zod .strict()). Anything else is
//   `false` from a verifier, never a throw.
// - The terminal carries the other record's key, not its id: an exclusion proof discloses no other record id.
// - Record ids are the project's RecordId (lower-case UUIDs, so UTF-8 is ASCII); a value's kind must be the kind its
//   lastEventType belongs to (consent/event.ts). A value outside that schema cannot be built into a tree, and the
//   verifiers answer false for it; for every value a tree can hold they agree with the bare formulas above.
// - The empty tree is allowed (size 0, root = 32 zero bytes), unlike the batch tree: a batch may change no status.
// - Verifiers do not check that a root was built canonically (lone leaves as high as they can); the argument below
//   holds for any root.
//
// Why a root admits at most one status per record. Leaf and internal preimages are both 65 bytes and differ in their
// first byte, and 32 zero bytes is no known SHA-256 output. So a 32-byte node, found on a path, is the hash of at
// most one thing: an empty subtree, one leaf (key, valueHash) or one internal (left, right); two different readings
// are a SHA-256 collision or a preimage of zero. Going down k's path from the root, every proof for k therefore sees
// the same nodes and must stop at the same depth at the same terminal: the leaf of k with one valueHash (inclusion of
// exactly one canonical value, unless SHA-256 collides), or an empty subtree or another key's leaf (exclusion). A
// gateway cannot prove two statuses, or a status and an absence, for one record against one root.
//
// Build: values are parsed, keyed and hashed once, sorted by key once, and each subtree is the range of sorted leaves
// sharing its prefix, split at depth d by a binary search for the first key with bit d = 1. Both node shapes are
// 65-byte messages, so the builder hashes with the fixed-length SHA-256 of consent/merkle-sha256.ts (~1 µs against
// ~2 µs for a node:crypto call); the verifiers use node:crypto, so building and verifying stay independent
// implementations. Layout: one Buffer of 32-byte slots (slot 0 empty, 1..n the leaves in key order, then the internal
// nodes) and an Int32Array of the two child slots per internal node, so prove() reads siblings and rehashes nothing;
// with random keys a tree holds ~1.44 internal nodes per leaf, ~150 bytes per leaf in all.
import { hash } from 'node:crypto';
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';
import { canonicalHash } from './canonical.ts';
import { CONSENT_EVENT_TYPES, EventKind, EventType } from './event.ts';
import { sha256Prefixed64 } from './merkle-sha256.ts';
import { RecordId, Sha256Hex } from './record.ts';

const HASH_BYTES = 32;
/** The key and valueHash of a leaf, side by side: the leaf's preimage without its prefix byte. */
const ENTRY_BYTES = 2 * HASH_BYTES;
const LEAF_PREFIX = 0x02;
const NODE_PREFIX = 0x03;
export const MAX_STATUS_PROOF_SIBLINGS = 256;
const EMPTY = Buffer.alloc(HASH_BYTES);
const CONSENT_TYPES: ReadonlySet<string> = new Set(CONSENT_EVENT_TYPES);

// Members in RFC 8785 order, so the parsed object is already canonical and canonicalize() copies nothing.
export const StatusLeafValue = z
  .object({
    kind: EventKind,
    lastEventHash: Sha256Hex,
    lastEventSeq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    lastEventType: EventType,
    recordId: RecordId,
  })
  .strict()
  .refine((v) => CONSENT_TYPES.has(v.lastEventType) === (v.kind === 'consent'), {
    message: 'lastEventType does not belong to kind',
    path: ['lastEventType'],
  });
export type StatusLeafValue = z.infer<typeof StatusLeafValue>;

export const StatusProof = z
  .object({
    siblings: z.array(Sha256Hex).max(MAX_STATUS_PROOF_SIBLINGS),
    /** null: inclusion, or exclusion ending in an empty subtree; else exclusion ending in another key's leaf. */
    terminal: z.object({ key: Sha256Hex, valueHash: Sha256Hex }).strict().nullable(),
  })
  .strict();
export type StatusProof = z.infer<typeof StatusProof>;

export type StatusTree = {
  /** Number of leaves (records). */
  readonly size: number;
  /** 32-byte root; 32 zero bytes for no leaves. A fresh copy on every read, so callers cannot corrupt the tree. */
  readonly root: Buffer;
  /** True iff the tree holds `recordId`, i.e. prove(recordId) is an inclusion proof. */
  has(recordId: string): boolean;
  /** Inclusion proof if the tree holds `recordId`, else exclusion proof. Throws BAD_INPUT for a non-RecordId. */
  prove(recordId: string): StatusProof;
};

const badRecordId = (): GatewayError =>
  new GatewayError('BAD_INPUT', 'a status key needs a record id (lower-case UUID)', { field: 'recordId' });

/** SHA-256 of the record id's UTF-8 bytes. Throws BAD_INPUT for anything but a RecordId. */
export function statusKeyOf(recordId: string): Buffer {
  if (!RecordId.safeParse(recordId).success) throw badRecordId();
  return hash('sha256', recordId, 'buffer');
}

/** Hex SHA-256 over the RFC 8785 form of `value`. Throws BAD_INPUT if it is not a StatusLeafValue. */
export function statusValueHash(value: StatusLeafValue): string {
  const parsed = StatusLeafValue.safeParse(value);
  if (!parsed.success) throw badValue(parsed.error, 'value');
  return canonicalHash(parsed.data);
}

function badValue(error: z.ZodError, field: string): GatewayError {
  const issue = error.issues[0];
  const at = issue === undefined || issue.path.length === 0 ? '' : `.${issue.path.map(String).join('.')}`;
  return new GatewayError('BAD_INPUT', `not a status leaf value: ${issue?.message ?? 'invalid'}`, {
    field: `${field}${at}`,
  });
}

/** Bit `i` of the 32-byte key at `offset` in `bytes`, most significant bit first. */
const bitAt = (bytes: Uint8Array, offset: number, i: number): number =>
  (bytes[offset + (i >> 3)]! >> (7 - (i & 7))) & 1;

const viewOf = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Keys and valueHashes of `values`, in input order, 64 bytes each. Throws BAD_INPUT for a malformed value. */
function entriesOf(values: readonly StatusLeafValue[]): Buffer {
  const entries = Buffer.allocUnsafe(values.length * ENTRY_BYTES);
  for (let i = 0; i < values.length; i++) {
    const parsed = StatusLeafValue.safeParse(values[i]);
    if (!parsed.success) throw badValue(parsed.error, `values[${i}]`);
    const off = i * ENTRY_BYTES;
    hash('sha256', parsed.data.recordId, 'buffer').copy(entries, off);
    entries.write(canonicalHash(parsed.data), off + HASH_BYTES, 'hex');
  }
  return entries;
}

/** `entries` reordered by key (unsigned big-endian). Throws BAD_INPUT when two share a key, i.e. a record id. */
function sortedByKey(entries: Buffer): Buffer {
  const n = entries.length / ENTRY_BYTES;
  // The first 48 key bits as an exact double decide almost every comparison without a native call.
  const head = new Float64Array(n);
  for (let i = 0; i < n; i++) head[i] = entries.readUIntBE(i * ENTRY_BYTES, 6);
  const compare = (a: number, b: number): number =>
    head[a]! - head[b]! ||
    entries.compare(
      entries,
      b * ENTRY_BYTES,
      b * ENTRY_BYTES + HASH_BYTES,
      a * ENTRY_BYTES,
      a * ENTRY_BYTES + HASH_BYTES,
    );
  const order = Array.from({ length: n }, (_, i) => i).sort(compare);
  const sorted = Buffer.allocUnsafe(entries.length);
  order.forEach((from, to) => entries.copy(sorted, to * ENTRY_BYTES, from * ENTRY_BYTES, (from + 1) * ENTRY_BYTES));
  for (let i = 1; i < n; i++) {
    if (compare(order[i - 1]!, order[i]!) === 0) {
      throw new GatewayError('BAD_INPUT', 'two status values for one record id', {
        field: 'values',
        indices: [order[i - 1]!, order[i]!].sort((a, b) => a - b),
      });
    }
  }
  return sorted;
}

/** The hashed tree over `leaves` (sorted entries): node slots, two child slots per internal node, the root slot. */
type Layout = { nodes: Buffer; children: Int32Array; rootSlot: number };

// Its own function so that nothing the build needs (spare capacity, views) stays reachable from the tree's closures.
function layOut(leaves: Buffer): Layout {
  const n = leaves.length / ENTRY_BYTES;
  const leavesView = viewOf(leaves);
  const firstInternal = n + 1;
  // Slots: 0 the empty subtree, 1..n the leaves in key order, then internal nodes. ~1.44n internal nodes for random
  // keys; the arrays grow by doubling for the rare tree with longer shared prefixes and are trimmed at the end.
  let capacity = 2 * n + 8;
  let nodes = Buffer.alloc((firstInternal + capacity) * HASH_BYTES);
  let nodesView = viewOf(nodes);
  let children = new Int32Array(2 * capacity);
  let internals = 0;
  for (let i = 0; i < n; i++) {
    const off = i * ENTRY_BYTES;
    sha256Prefixed64(LEAF_PREFIX, leavesView, off, off + HASH_BYTES, nodesView, (1 + i) * HASH_BYTES);
  }

  const grow = (): void => {
    capacity *= 2;
    const more = Buffer.alloc((firstInternal + capacity) * HASH_BYTES);
    nodes.copy(more);
    nodes = more;
    nodesView = viewOf(nodes);
    const kids = new Int32Array(2 * capacity);
    kids.set(children);
    children = kids;
  };

  /** First index in [lo, hi) with key bit `depth` set; the range shares bits 0..depth-1, so bit `depth` is sorted. */
  const splitAt = (lo: number, hi: number, depth: number): number => {
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bitAt(leaves, mid * ENTRY_BYTES, depth) === 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  /** The slot holding H(leaves[lo..hi), depth). Recursion depth ≤ 256: distinct keys part by bit 255. */
  const subtree = (lo: number, hi: number, depth: number): number => {
    if (hi === lo) return 0;
    if (hi - lo === 1) return 1 + lo;
    const mid = splitAt(lo, hi, depth);
    const left = subtree(lo, mid, depth + 1);
    const right = subtree(mid, hi, depth + 1);
    if (internals === capacity) grow();
    const slot = firstInternal + internals;
    children[2 * internals] = left;
    children[2 * internals + 1] = right;
    internals++;
    sha256Prefixed64(NODE_PREFIX, nodesView, left * HASH_BYTES, right * HASH_BYTES, nodesView, slot * HASH_BYTES);
    return slot;
  };
  const rootSlot = subtree(0, n, 0);
  // Trimmed: a copy of ~2.4n slots once, against holding the spare capacity for the tree's life.
  return {
    nodes: Buffer.from(nodes.subarray(0, (firstInternal + internals) * HASH_BYTES)),
    children: children.slice(0, 2 * internals),
    rootSlot,
  };
}

/**
 * Builds the tree over `values`, one per record. Throws BAD_INPUT for a malformed value or two values for one record
 * id. Time O(n log n) with ~2.4 hashes per leaf; nothing is walked per leaf and level.
 */
export function buildStatusTree(values: readonly StatusLeafValue[]): StatusTree {
  if (!Array.isArray(values)) throw new GatewayError('BAD_INPUT', 'values must be an array', { field: 'values' });
  const n = values.length;
  const leaves = sortedByKey(entriesOf(values));
  const { nodes, children, rootSlot } = layOut(leaves);
  const firstInternal = n + 1;
  const nodeHex = (slot: number): string => nodes.toString('hex', slot * HASH_BYTES, (slot + 1) * HASH_BYTES);

  /** Walks `key`'s path; returns the slot it ends at (0 or a leaf), pushing siblings when asked. */
  const descend = (key: Buffer, siblings: string[] | null): number => {
    let slot = rootSlot;
    for (let depth = 0; slot >= firstInternal; depth++) {
      const j = 2 * (slot - firstInternal);
      const bit = bitAt(key, 0, depth);
      siblings?.push(nodeHex(children[j + 1 - bit]!));
      slot = children[j + bit]!;
    }
    return slot;
  };
  const holds = (key: Buffer, slot: number): boolean =>
    slot !== 0 && key.compare(leaves, (slot - 1) * ENTRY_BYTES, (slot - 1) * ENTRY_BYTES + HASH_BYTES) === 0;

  return {
    size: n,
    get root() {
      return Buffer.from(nodes.subarray(rootSlot * HASH_BYTES, (rootSlot + 1) * HASH_BYTES));
    },
    has(recordId) {
      const key = statusKeyOf(recordId);
      return holds(key, descend(key, null));
    },
    prove(recordId) {
      const key = statusKeyOf(recordId);
      const siblings: string[] = [];
      const end = descend(key, siblings);
      if (end === 0 || holds(key, end)) return { siblings, terminal: null };
      const off = (end - 1) * ENTRY_BYTES;
      return {
        siblings,
        terminal: {
          key: leaves.toString('hex', off, off + HASH_BYTES),
          valueHash: leaves.toString('hex', off + HASH_BYTES, off + ENTRY_BYTES),
        },
      };
    },
  };
}

// Verification: node:crypto only, from the formulas, sharing nothing with the builder but the bit rule.

const leafHash = (key: Uint8Array, valueHash: Uint8Array): Buffer =>
  hash('sha256', Buffer.concat([Buffer.of(LEAF_PREFIX), key, valueHash]), 'buffer');
const internalHash = (left: Uint8Array, right: Uint8Array): Buffer =>
  hash('sha256', Buffer.concat([Buffer.of(NODE_PREFIX), left, right]), 'buffer');

/** The proof, if well formed; the sibling count is checked before zod looks at any element. */
function parseProof(proof: unknown): StatusProof | null {
  const siblings: unknown = (proof as { siblings?: unknown } | null)?.siblings;
  if (!Array.isArray(siblings) || siblings.length > MAX_STATUS_PROOF_SIBLINGS) return null;
  const parsed = StatusProof.safeParse(proof);
  return parsed.success ? parsed.data : null;
}

/** Folds `siblings` from `start` up to a root along `key`'s path. */
function foldUp(key: Uint8Array, start: Buffer, siblings: readonly string[]): Buffer {
  let node = start;
  for (let i = siblings.length - 1; i >= 0; i--) {
    const sibling = Buffer.from(siblings[i]!, 'hex');
    node = bitAt(key, 0, i) === 0 ? internalHash(node, sibling) : internalHash(sibling, node);
  }
  return node;
}

const isRoot = (root: unknown): root is Uint8Array => root instanceof Uint8Array && root.length === HASH_BYTES;

/** True iff `proof` shows `value` as its record's leaf under `root`. Never throws: anything malformed is false. */
export function verifyStatusInclusion(root: Uint8Array, value: unknown, proof: unknown): boolean {
  try {
    const parsedValue = StatusLeafValue.safeParse(value);
    const parsedProof = parseProof(proof);
    if (!isRoot(root) || !parsedValue.success || parsedProof === null || parsedProof.terminal !== null) return false;
    const key = hash('sha256', parsedValue.data.recordId, 'buffer');
    const start = leafHash(key, Buffer.from(canonicalHash(parsedValue.data), 'hex'));
    return foldUp(key, start, parsedProof.siblings).equals(root);
  } catch {
    return false;
  }
}

/** True iff `proof` shows that `root` holds no leaf for `recordId`. Never throws: anything malformed is false. */
export function verifyStatusExclusion(root: Uint8Array, recordId: string, proof: unknown): boolean {
  try {
    const parsedProof = parseProof(proof);
    if (!isRoot(root) || !RecordId.safeParse(recordId).success || parsedProof === null) return false;
    const key = hash('sha256', recordId, 'buffer');
    const { siblings, terminal } = parsedProof;
    if (terminal === null) return foldUp(key, EMPTY, siblings).equals(root);
    const other = Buffer.from(terminal.key, 'hex');
    if (other.equals(key)) return false;
    for (let i = 0; i < siblings.length; i++) if (bitAt(other, 0, i) !== bitAt(key, 0, i)) return false;
    return foldUp(key, leafHash(other, Buffer.from(terminal.valueHash, 'hex')), siblings).equals(root);
  } catch {
    return false;
  }
}
