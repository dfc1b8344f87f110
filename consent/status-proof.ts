// Proof of current status (docs/receipts.md, "Status proofs"): one consent or delegation record's last event as of
// the gateway's latest anchored batch, with its path in the batch's status tree (consent/status-tree.ts) and the
// anchor that commits to the tree's root. A grant's receipt says a grant happened; this says whether anything
// happened after it, as of a block anyone can read.
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';
import type { Clock } from '../core/clock.ts';
import type { AnchorBatch, AnchorStore } from './anchor-store.ts';
import { canonicalHash } from './canonical.ts';
import type { ConsentStore } from './consent-store.ts';
import { LogEvent, UtcTimestamp, verifyEvent } from './event.ts';
import { keyRingOf, withContext } from './key-ring.ts';
import { Bytes32Hex, KeyId, TxHash } from './ledger-port.ts';
import { createLruCache } from './lru-cache.ts';
import { ReceiptGateway } from './receipt.ts';
import { RecordId } from './record.ts';
import type { Signer } from './signer.ts';
import { buildStatusTree, StatusLeafValue, StatusProof, type StatusTree } from './status-tree.ts';
import { EvmAccount } from './ledger-port.ts';

export const STATUS_PROOF_VERSION = 1;
/** The signature's domain: see withContext (consent/key-ring.ts). */
export const STATUS_PROOF_SIGNING_CONTEXT = 'sealgate/status-proof/v1';

export const StatusAnchor = z
  .object({
    chainId: z.number().int().positive(),
    contract: EvmAccount,
    /** The batch root (what ConsentAnchor is keyed by). */
    root: Bytes32Hex,
    /** The status tree root the batch committed to. */
    stateRoot: Bytes32Hex,
    keyId: KeyId,
    txHash: TxHash,
    blockNumber: z.number().int().min(0),
    blockTime: z.number().int().min(0),
    batchNo: z.number().int().min(1),
  })
  .strict();
export type StatusAnchor = z.infer<typeof StatusAnchor>;

const statusShape = {
  version: z.literal(STATUS_PROOF_VERSION),
  gateway: ReceiptGateway,
  recordId: RecordId,
  /** The status tree leaf: the record's last event as of the batch. */
  value: StatusLeafValue,
  /** That event itself, so a verifier sees its type, time and payload (an expiry, who superseded it). */
  event: LogEvent,
  /** The raw public key (hex) named by event.keyId. */
  eventKey: z.string().regex(/^[0-9a-f]{64}$/),
  proof: StatusProof,
  anchor: StatusAnchor,
  issuedAt: UtcTimestamp,
};
export const UnsignedStatusProofDocument = z.object(statusShape).strict();
export type UnsignedStatusProofDocument = z.infer<typeof UnsignedStatusProofDocument>;
export const StatusProofDocument = z
  .object({ ...statusShape, signature: z.string().regex(/^[0-9a-f]{128}$/) })
  .strict();
export type StatusProofDocument = z.infer<typeof StatusProofDocument>;

/** The bytes the signature covers: the context, a zero byte, then SHA-256 of the RFC 8785 form without `signature`. */
export function statusProofSigningBytes(document: UnsignedStatusProofDocument | StatusProofDocument): Buffer {
  const { signature: _signature, ...unsigned } = document as StatusProofDocument;
  return withContext(STATUS_PROOF_SIGNING_CONTEXT, Buffer.from(canonicalHash(unsigned), 'hex'));
}

export type StatusProverOptions = {
  anchors: AnchorStore;
  records: Pick<ConsentStore, 'readEvents'>;
  signer: Signer;
  retiredKeys?: readonly Uint8Array[];
  clock: Clock;
  partyId: string;
  evmAccount: string;
};

export type StatusProver = {
  /**
   * The record's status proof against the latest anchored batch. NOT_FOUND for an id no anchored batch knows when the
   * gateway never wrote it; CONFLICT (reason not-anchored) while its first event still waits for a batch.
   */
  proveStatus(recordId: string, isKnown: () => Promise<boolean>): Promise<StatusProofDocument>;
};

export function createStatusProver(options: StatusProverOptions): StatusProver {
  const { anchors, records, signer, clock } = options;
  const keys = keyRingOf(signer.publicKey, options.retiredKeys ?? []);
  const gateway = ReceiptGateway.parse({
    partyId: options.partyId,
    keyId: signer.keyId,
    publicKey: Buffer.from(signer.publicKey).toString('hex'),
    evmAccount: options.evmAccount,
  });
  // A tree per anchored batch; the latest serves every request until the next batch is anchored.
  const trees = createLruCache<StatusTree>(2);

  const treeOf = async (batch: AnchorBatch & { stateRoot: string }): Promise<StatusTree> => {
    const key = `${batch.batchNo}:${batch.stateRoot}`;
    const cached = trees.get(key);
    if (cached !== undefined) return cached;
    const tree = buildStatusTree(await anchors.readStatusLeaves(batch.eventsTo));
    // An event edited after anchoring changes the rebuilt root: refuse rather than sign a proof that cannot verify.
    if (`0x${tree.root.toString('hex')}` !== batch.stateRoot)
      throw new GatewayError('INTEGRITY_VIOLATION', 'the rebuilt status tree differs from the anchored one', {
        batchNo: batch.batchNo,
        reason: 'state-root-mismatch',
      });
    trees.set(key, tree);
    return tree;
  };

  return {
    async proveStatus(recordId, isKnown) {
      if (!RecordId.safeParse(recordId).success)
        throw new GatewayError('BAD_INPUT', 'not a record id', { field: 'id' });
      const batch = await anchors.lastAnchoredBatch();
      const anchored =
        batch === null ||
        batch.stateRoot === null ||
        batch.keyId === null ||
        batch.txHash === null ||
        batch.blockNumber === null ||
        batch.blockTime === null ||
        batch.chainId === null ||
        batch.contract === null
          ? null
          : { ...batch, stateRoot: batch.stateRoot, keyId: batch.keyId };
      const tree = anchored === null ? null : await treeOf(anchored);
      if (tree === null || anchored === null || !tree.has(recordId)) {
        if (!(await isKnown())) throw new GatewayError('NOT_FOUND', 'no such record', { recordId });
        throw new GatewayError('CONFLICT', "the record's first event is not anchored yet", {
          recordId,
          reason: 'not-anchored',
        });
      }
      const proof = tree.prove(recordId);
      const value = await anchors.readStatusLeaf(recordId, anchored.eventsTo);
      if (value === null)
        throw new GatewayError('INTERNAL', 'the status tree holds a record the events table lacks', { recordId });
      const [event] = await records.readEvents(value.lastEventSeq - 1, 1);
      const parsed = LogEvent.safeParse(event);
      const eventKey = parsed.success ? keys.publicKeyOf(parsed.data.keyId) : null;
      if (
        !parsed.success ||
        parsed.data.hash !== value.lastEventHash ||
        eventKey === null ||
        verifyEvent(parsed.data, eventKey) !== null
      )
        throw new GatewayError('INTEGRITY_VIOLATION', `stored events record ${value.lastEventSeq} fails its check`, {
          chain: 'events',
          seq: value.lastEventSeq,
        });
      const unsigned = UnsignedStatusProofDocument.parse({
        version: STATUS_PROOF_VERSION,
        gateway,
        recordId,
        value,
        event: parsed.data,
        eventKey: Buffer.from(eventKey).toString('hex'),
        proof,
        anchor: {
          chainId: anchored.chainId,
          contract: anchored.contract,
          root: anchored.root,
          stateRoot: anchored.stateRoot,
          keyId: anchored.keyId,
          txHash: anchored.txHash,
          blockNumber: anchored.blockNumber,
          blockTime: anchored.blockTime,
          batchNo: anchored.batchNo,
        },
        issuedAt: clock.now().toISOString(),
      });
      return {
        ...unsigned,
        signature: Buffer.from(signer.sign(statusProofSigningBytes(unsigned))).toString('hex'),
      };
    },
  };
}
