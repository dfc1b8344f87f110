// Signed consent and audit receipts (DESIGN.md §4 "Anchoring"; Kantara Consent Receipt in spirit): a record
// with its hash, a "pending" status at once, upgraded to "anchored" with {root, proof, txHash, block} once its
// batch is on chain. Signed with Ed25519 (RFC 8032) over RECEIPT_SIGNING_CONTEXT, a zero byte and the 32 raw bytes
// of the SHA-256 of the RFC 8785 form of the receipt without `signature`. docs/receipts.md specifies every byte;
// proofs follow docs/merkle.md and are rebuilt from the batch's leaves.
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';
import { PartyId } from '../core/party-id.ts';
import { AuditEntry } from './audit.ts';
import { RecordChain, type AnchorBatch, type AnchorStore } from './anchor-store.ts';
import { canonicalHash } from './canonical.ts';
import type { Clock } from '../core/clock.ts';
import type { ConsentStore } from './consent-store.ts';
import { LogEvent, UtcTimestamp, verifyEvent } from './event.ts';
import { Bytes32Hex, EvmAccount, KeyId, TxHash } from './ledger-port.ts';
import { keyRingOf, withContext } from './key-ring.ts';
import { createLruCache } from './lru-cache.ts';
import { buildMerkleTree, verifyMerkleProof, type MerkleTree } from './merkle.ts';
import { Sha256Hex } from './record.ts';
import { coalescingSign } from './sign-coalescer.ts';
import type { Signer } from './signer.ts';

/**
 * Version 2 added the signing context, the event's key and the anchor's key id and status root. Receipts are built
 * from the stores on every request, so no stored receipt needs migrating: a holder of a version 1 receipt asks the
 * gateway for the record's receipt again (docs/receipts.md, "Versions").
 */
export const RECEIPT_VERSION = 2;

/**
 * Domain separation: an event signature covers exactly 32 bytes (its hash), every other signature of the gateway's
 * key starts with its own ASCII context and a zero byte, so no signature can be taken for another kind.
 */
export const RECEIPT_SIGNING_CONTEXT = 'sealgate/receipt/v2';

export const ReceiptGateway = z
  .object({
    /** The gateway's party id, which is also its id in the GatewayRegistry. */
    partyId: PartyId,
    /** keyIdOf(publicKey): the keyId every event this gateway signs carries. */
    keyId: z.string().regex(/^[0-9a-f]{16}$/),
    /** Raw 32-byte Ed25519 public key, hex: the key that signed this receipt (the gateway's key when it issued it). */
    publicKey: z.string().regex(/^[0-9a-f]{64}$/),
    /** The secp256k1 account that anchors for the gateway. */
    evmAccount: EvmAccount,
  })
  .strict();
export type ReceiptGateway = z.infer<typeof ReceiptGateway>;

/** The record itself, so a verifier can recompute its canonical hash (and, for events, check its signature). */
export const ReceiptRecord = z
  .object({
    chain: RecordChain,
    seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    hash: Sha256Hex,
    event: LogEvent.optional(),
    /** The raw public key (hex) named by event.keyId: the event may predate a key rotation. */
    eventKey: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
    entry: AuditEntry.optional(),
  })
  .strict()
  .refine(
    (r) =>
      r.chain === 'events'
        ? r.event !== undefined && r.eventKey !== undefined && r.entry === undefined
        : r.entry !== undefined && r.event === undefined && r.eventKey === undefined,
    {
      message: 'an events record carries `event` and `eventKey`, an audit record carries `entry`',
    },
  );
export type ReceiptRecord = z.infer<typeof ReceiptRecord>;

export const ReceiptAnchor = z
  .object({
    chainId: z.number().int().positive(),
    /** The ConsentAnchor contract. */
    contract: EvmAccount,
    root: Bytes32Hex,
    /** Sibling hashes from the leaf up (docs/merkle.md); at most ⌈log₂ n⌉ of them. */
    proof: z.array(Bytes32Hex).max(64),
    txHash: TxHash,
    blockNumber: z.number().int().min(0),
    /** Unix seconds of the anchoring block, as ConsentAnchor stored it. */
    blockTime: z.number().int().min(0),
    batchNo: z.number().int().min(1),
    /** The key id the anchor names: the key of the batch's events, current on chain when it was anchored. */
    keyId: KeyId,
    /** The status tree root the batch committed to (docs/receipts.md, "Status proofs"). */
    stateRoot: Bytes32Hex,
  })
  .strict();
export type ReceiptAnchor = z.infer<typeof ReceiptAnchor>;

const receiptShape = {
  version: z.literal(RECEIPT_VERSION),
  gateway: ReceiptGateway,
  record: ReceiptRecord,
  issuedAt: UtcTimestamp,
  status: z.enum(['pending', 'anchored']),
  anchor: ReceiptAnchor.optional(),
};
const hasAnchorIffAnchored = (r: { status: string; anchor?: unknown }) =>
  (r.status === 'anchored') === (r.anchor !== undefined);
const anchorRule = { message: 'an anchored receipt carries `anchor`, a pending one does not', path: ['anchor'] };

export const UnsignedReceipt = z.object(receiptShape).strict().refine(hasAnchorIffAnchored, anchorRule);
export type UnsignedReceipt = z.infer<typeof UnsignedReceipt>;

export const Receipt = z
  .object({ ...receiptShape, signature: z.string().regex(/^[0-9a-f]{128}$/) })
  .strict()
  .refine(hasAnchorIffAnchored, anchorRule);
export type Receipt = z.infer<typeof Receipt>;

/** What gets signed: the 32 raw bytes of SHA-256(RFC 8785(receipt without `signature`)). */
export function receiptDigest(receipt: UnsignedReceipt | Receipt): Buffer {
  const { signature: _signature, ...unsigned } = receipt as Receipt;
  return Buffer.from(canonicalHash(unsigned), 'hex');
}

/** The bytes the Ed25519 signature covers: the context, a zero byte, then receiptDigest. */
export function receiptSigningBytes(receipt: UnsignedReceipt | Receipt): Buffer {
  return withContext(RECEIPT_SIGNING_CONTEXT, receiptDigest(receipt));
}

export function signReceipt(unsigned: UnsignedReceipt, signer: Signer): Receipt {
  const body = UnsignedReceipt.parse(unsigned);
  return { ...body, signature: Buffer.from(signer.sign(receiptSigningBytes(body))).toString('hex') };
}

export const RecordRef = z
  .object({ chain: RecordChain, seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER) })
  .strict();
export type RecordRef = z.infer<typeof RecordRef>;

export type ReceiptIssuerOptions = {
  anchors: AnchorStore;
  /** Read-only use of the consent store: one event or audit entry by seq. */
  records: Pick<ConsentStore, 'readEvents' | 'listAudit'>;
  signer: Signer;
  clock: Clock;
  partyId: string;
  evmAccount: string;
  /** Public keys the gateway signed with before its current one: their events still get receipts. */
  retiredKeys?: readonly Uint8Array[];
  /** Rebuilt trees kept for repeat proofs of the same batch (anchored trees never change). */
  treeCacheSize?: number;
};

export type ReceiptIssuer = {
  /** A signed receipt for a committed record, before (or regardless of) anchoring. NOT_FOUND if no such record. */
  issuePendingReceipt(ref: RecordRef): Promise<Receipt>;
  /**
   * The upgrade: the same record with its anchor and inclusion proof. CONFLICT (reason not-anchored) until its batch is
   * anchored.
   */
  issueAnchoredReceipt(ref: RecordRef): Promise<Receipt>;
  /** Anchored when the batch is, pending otherwise. */
  issueReceipt(ref: RecordRef): Promise<Receipt>;
  /** The pending receipt for an event this process just committed and still holds: no store read. */
  pendingReceiptFor(event: LogEvent): Promise<Receipt>;
};

const tampered = (ref: RecordRef, reason: string, extra: Record<string, unknown> = {}) =>
  new GatewayError('INTEGRITY_VIOLATION', `stored ${ref.chain} record ${ref.seq} fails its integrity check`, {
    chain: ref.chain,
    seq: ref.seq,
    reason,
    ...extra,
  });

/**
 * Builds receipts from the stores. Fails closed: a record whose stored form no longer matches its hash or
 * signature, or a batch whose rebuilt root differs from the anchored root, throws INTEGRITY_VIOLATION
 * naming the row instead of signing a receipt that could never verify.
 */
export function createReceiptIssuer(options: ReceiptIssuerOptions): ReceiptIssuer {
  const { anchors, records, signer, clock } = options;
  const gateway = ReceiptGateway.parse({
    partyId: options.partyId,
    keyId: signer.keyId,
    publicKey: Buffer.from(signer.publicKey).toString('hex'),
    evmAccount: options.evmAccount,
  });
  const keys = keyRingOf(signer.publicKey, options.retiredKeys ?? []);
  const trees = createLruCache<MerkleTree>(options.treeCacheSize ?? 8);
  const signSoon = coalescingSign(signer);

  const readRecord = async (ref: RecordRef): Promise<ReceiptRecord> => {
    if (ref.chain === 'events') {
      const [event] = await records.readEvents(ref.seq - 1, 1);
      if (event === undefined || event.seq !== ref.seq)
        throw new GatewayError('NOT_FOUND', 'no such event', { chain: ref.chain, seq: ref.seq });
      const parsed = LogEvent.safeParse(event);
      if (!parsed.success) throw tampered(ref, 'malformed');
      const eventKey = keys.publicKeyOf(parsed.data.keyId);
      if (eventKey === null) throw tampered(ref, 'unknown-key', { keyId: parsed.data.keyId });
      const reason = verifyEvent(parsed.data, eventKey);
      if (reason !== null) throw tampered(ref, reason);
      return {
        chain: 'events',
        seq: ref.seq,
        hash: parsed.data.hash,
        event: parsed.data,
        eventKey: Buffer.from(eventKey).toString('hex'),
      };
    }
    const [entry] = await records.listAudit({ afterSeq: ref.seq - 1, limit: 1 });
    if (entry === undefined || entry.seq !== ref.seq)
      throw new GatewayError('NOT_FOUND', 'no such audit entry', { chain: ref.chain, seq: ref.seq });
    const parsed = AuditEntry.safeParse(entry);
    if (!parsed.success) throw tampered(ref, 'malformed');
    const { hash, ...body } = parsed.data;
    if (canonicalHash(body) !== hash) throw tampered(ref, 'hash-mismatch');
    return { chain: 'audit', seq: ref.seq, hash, entry: parsed.data };
  };

  const treeOf = async (batch: AnchorBatch, ref: RecordRef): Promise<MerkleTree> => {
    const key = `${batch.batchNo}:${batch.root}`;
    const cached = trees.get(key);
    if (cached !== undefined) return cached;
    const tree = buildMerkleTree((await anchors.readBatchLeaves(batch)).map((h) => Buffer.from(h, 'hex')));
    // A leaf hash column edited after anchoring changes the root: the proof would not verify, so refuse.
    if (`0x${Buffer.from(tree.root).toString('hex')}` !== batch.root)
      throw tampered(ref, 'root-mismatch', { batchNo: batch.batchNo });
    trees.set(key, tree);
    return tree;
  };

  const unsigned = (record: ReceiptRecord): UnsignedReceipt => ({
    version: RECEIPT_VERSION,
    gateway,
    record,
    issuedAt: clock.now().toISOString(),
    status: 'pending',
  });

  const anchored = async (ref: RecordRef, record: ReceiptRecord): Promise<Receipt | null> => {
    const batch = await anchors.findBatchOf(ref.chain, ref.seq);
    if (batch === null || batch.status !== 'anchored') return null;
    const { txHash, blockNumber, blockTime, chainId, contract, keyId, stateRoot } = batch;
    if (
      txHash === null ||
      blockNumber === null ||
      blockTime === null ||
      chainId === null ||
      contract === null ||
      keyId === null ||
      stateRoot === null
    ) {
      throw new GatewayError('INTERNAL', 'anchored batch lacks its anchor fields', { batchNo: batch.batchNo });
    }
    const tree = await treeOf(batch, ref);
    // Leaf order is the batch's: its events range, then its audit range (consent/anchoring.ts).
    const index =
      ref.chain === 'events'
        ? ref.seq - batch.eventsFrom
        : batch.eventsTo - batch.eventsFrom + 1 + (ref.seq - batch.auditFrom);
    const siblings = tree.proof(index);
    // The record and the leaves are read separately; never sign a proof that does not link them.
    if (!verifyMerkleProof(tree.root, Buffer.from(record.hash, 'hex'), siblings))
      throw tampered(ref, 'not-in-batch', { batchNo: batch.batchNo });
    const proof = siblings.map((p) => `0x${Buffer.from(p).toString('hex')}`);
    return signReceipt(
      {
        ...unsigned(record),
        status: 'anchored',
        anchor: {
          chainId,
          contract,
          root: batch.root,
          proof,
          txHash,
          blockNumber,
          blockTime,
          batchNo: batch.batchNo,
          keyId,
          stateRoot,
        },
      },
      signer,
    );
  };

  return {
    async issuePendingReceipt(rawRef) {
      const ref = RecordRef.parse(rawRef);
      return signReceipt(unsigned(await readRecord(ref)), signer);
    },
    async issueAnchoredReceipt(rawRef) {
      const ref = RecordRef.parse(rawRef);
      const receipt = await anchored(ref, await readRecord(ref));
      if (receipt === null)
        throw new GatewayError('CONFLICT', "the record's batch is not anchored yet", {
          chain: ref.chain,
          seq: ref.seq,
          reason: 'not-anchored',
        });
      return receipt;
    },
    async issueReceipt(rawRef) {
      const ref = RecordRef.parse(rawRef);
      const record = await readRecord(ref);
      return (await anchored(ref, record)) ?? signReceipt(unsigned(record), signer);
    },
    async pendingReceiptFor(event) {
      // Issued "at" the event's own time, so a replayed idempotent write gets the byte-identical receipt. The event
      // is one this gateway just committed, typed LogEvent, so the receipt is not parsed again; its signature is made
      // off the request thread, with the other receipts of the same commit.
      const body: UnsignedReceipt = {
        ...unsigned({ chain: 'events', seq: event.seq, hash: event.hash, event, eventKey: gateway.publicKey }),
        issuedAt: event.at,
      };
      return { ...body, signature: Buffer.from(await signSoon(receiptSigningBytes(body))).toString('hex') };
    },
  };
}
