// The chain view recorded in test/vectors/receipt-vectors.json, and a ChainReader over it, so that the receipt and
// status proof verifiers run on the vectors offline. The view holds what the contracts return, in their ABI form
// (docs/receipts.md §5): bytes32 and bytes8 as 0x-hex, untilBlock and revokedAtBlock 0 for "none", status as the
// uint8. The reader maps it to the verifier's types as contracts/ledger-port-adapter.ts maps the live chain.
import { decodeBytes32String, encodeBytes32String } from 'ethers';
import type { OnChainAnchor, OnChainAnchorTx } from '../../consent/ledger-port.ts';
import { ZERO_ROOT } from '../../consent/ledger-port.ts';
import { verifyMerkleProof } from '../../consent/merkle.ts';
import type { ChainReader, RegisteredGateway } from '../../consent/receipt-verifier.ts';

/**
 * ConsentAnchor.getAnchor(root), with the root's Anchored event: its transaction hash, and the previous root and the
 * status root, which only the event carries (docs/receipts.md §5.1).
 */
export type ViewAnchor = {
  root: string;
  anchoredBy: string;
  blockTime: number;
  count: number;
  blockNumber: number;
  /** bytes8, 0x and 16 hex. */
  keyId: string;
  /** bytes32: the party id's ASCII bytes right-padded with zeros. */
  gatewayId: string;
  event: { txHash: string; prevRoot: string; stateRoot: string };
};

/** GatewayRegistry.get(gatewayId), keyHistory and accountHistory. keyId is derived: SHA-256(publicKey)[0..8]. */
export type ViewGateway = {
  gatewayId: string;
  ed25519PublicKey: string;
  evmAccount: string;
  /** 0 never registered, 1 active, 2 revoked. */
  status: number;
  keyId: string;
  registeredAt: number;
  updatedAt: number;
  /** 0 while active. */
  revokedAtBlock: number;
  keys: { publicKey: string; keyId: string; fromBlock: number; untilBlock: number; isRecovery: boolean }[];
  accounts: { account: string; fromBlock: number; untilBlock: number }[];
};

export type ChainView = {
  chainId: number;
  anchorContract: string;
  registryContract: string;
  anchors: ViewAnchor[];
  /** The header of every anchor block. */
  blocks: { number: number; timestamp: number; hash: string }[];
  registry: ViewGateway[];
  /** ConsentAnchor.lastRootOf(gatewayId). */
  lastRoots: { gatewayId: string; root: string }[];
};

/** The registry's bytes32 id of a party id, or null for a string that has no such layout. */
function bytes32Of(partyId: string): string | null {
  try {
    return encodeBytes32String(partyId);
  } catch {
    return null;
  }
}

/** A bytes32 id read as a party id when it is one (round-trips exactly), else its hex. */
function partyIdOf(gatewayId: string): string {
  try {
    const id = decodeBytes32String(gatewayId);
    if (encodeBytes32String(id) === gatewayId.toLowerCase()) return id;
  } catch {
    // not a string layout
  }
  return gatewayId.toLowerCase();
}

const hex = (h: string): Buffer => Buffer.from(h.replace(/^0x/, ''), 'hex');
const orNull = (n: number): number | null => (n === 0 ? null : n);

function anchorOf(a: ViewAnchor): OnChainAnchor {
  return {
    root: a.root.toLowerCase(),
    gatewayId: partyIdOf(a.gatewayId),
    count: a.count,
    anchoredBy: a.anchoredBy,
    blockNumber: a.blockNumber,
    blockTime: a.blockTime,
    keyId: a.keyId.toLowerCase().replace(/^0x/, ''),
  };
}

/** A ChainReader answering from `view` alone: no network, the same answers the recorded chain gave. */
export function viewChainReader(view: ChainView): ChainReader {
  const findAnchor = (root: string): ViewAnchor | undefined =>
    view.anchors.find((a) => a.root.toLowerCase() === root.toLowerCase());
  return {
    async getAnchor(root) {
      const found = findAnchor(root);
      return found === undefined ? null : anchorOf(found);
    },
    async findAnchorTx(root): Promise<OnChainAnchorTx | null> {
      const found = findAnchor(root);
      if (found === undefined) return null;
      return {
        ...anchorOf(found),
        prevRoot: found.event.prevRoot.toLowerCase(),
        stateRoot: found.event.stateRoot.toLowerCase(),
        txHash: found.event.txHash.toLowerCase(),
      };
    },
    async getGateway(partyId): Promise<RegisteredGateway | null> {
      const id = bytes32Of(partyId);
      const entry = id === null ? undefined : view.registry.find((g) => g.gatewayId.toLowerCase() === id);
      if (entry === undefined || entry.status === 0) return null;
      return {
        status: entry.status === 2 ? 'Revoked' : 'Active',
        revokedAtBlock: orNull(entry.revokedAtBlock),
        keys: entry.keys.map((k) => ({
          publicKey: k.publicKey.toLowerCase().replace(/^0x/, ''),
          keyId: k.keyId.toLowerCase().replace(/^0x/, ''),
          fromBlock: k.fromBlock,
          untilBlock: orNull(k.untilBlock),
          isRecovery: k.isRecovery,
        })),
        accounts: entry.accounts.map((a) => ({
          account: a.account,
          fromBlock: a.fromBlock,
          untilBlock: orNull(a.untilBlock),
        })),
      };
    },
    // ConsentAnchor.verifyInclusion: true only for an anchored root and a proof that links the record hash to it.
    async verifyInclusion(root, recordHash, proof) {
      return findAnchor(root) !== undefined && verifyMerkleProof(hex(root), hex(recordHash), proof.map(hex));
    },
    async getBlock(blockNumber) {
      return view.blocks.find((b) => b.number === blockNumber) ?? null;
    },
    async lastRootOf(partyId) {
      const id = bytes32Of(partyId);
      return (view.lastRoots.find((r) => r.gatewayId.toLowerCase() === id)?.root ?? ZERO_ROOT).toLowerCase();
    },
  };
}
