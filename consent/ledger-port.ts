// What the anchoring core needs from an EVM ledger (DESIGN.md §4 "Anchoring", §5), as plain data: the
// consent folder never imports ethers; contracts/ledger-port-adapter.ts implements this over ethers v6.
import { z } from 'zod';

/** A Solidity bytes32 (root, proof element) as lowercase 0x-prefixed hex. */
export const Bytes32Hex = z.string().regex(/^0x[0-9a-f]{64}$/, 'expected 0x and 64 lower-case hex digits');
export type Bytes32Hex = z.infer<typeof Bytes32Hex>;

/** The prevRoot of a gateway's first anchor (ConsentAnchor: `_lastRoot` of a new gateway is zero). */
export const ZERO_ROOT: Bytes32Hex = `0x${'0'.repeat(64)}`;

export const TxHash = z.string().regex(/^0x[0-9a-f]{64}$/, 'expected a 0x-prefixed transaction hash');
export const EvmAccount = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'expected an EVM address');

/** An Ed25519 key id: the first 16 hex digits of SHA-256 of the raw public key (consent/signer.ts keyIdOf). */
export const KeyId = z.string().regex(/^[0-9a-f]{16}$/, 'expected 16 lower-case hex digits');

/** ConsentAnchor.Anchor as stored for one root. */
export const OnChainAnchor = z.object({
  root: Bytes32Hex,
  gatewayId: z.string().min(1),
  count: z.number().int().positive(),
  anchoredBy: EvmAccount,
  blockNumber: z.number().int().min(0),
  /** Unix seconds of the anchoring block, as the contract stored it. */
  blockTime: z.number().int().min(0),
  /** The key the batch's events were signed with; the contract required it to be the gateway's current key. */
  keyId: KeyId,
});
export type OnChainAnchor = z.infer<typeof OnChainAnchor>;

/**
 * An anchor found through its Anchored event: the stored anchor, the event's previous root and status tree root
 * (consent/status-tree.ts; neither is stored), and the transaction.
 */
export const OnChainAnchorTx = OnChainAnchor.extend({ prevRoot: Bytes32Hex, stateRoot: Bytes32Hex, txHash: TxHash });
export type OnChainAnchorTx = z.infer<typeof OnChainAnchorTx>;

/** What a mined anchor transaction tells the sender. */
export const AnchorSent = z.object({
  txHash: TxHash,
  blockNumber: z.number().int().min(0),
  gasUsed: z.number().int().min(0),
  blockTime: z.number().int().min(0),
});
export type AnchorSent = z.infer<typeof AnchorSent>;

/** What a batch commits to besides its root: its signing key's id and the status tree root. */
export type AnchorCommitment = { keyId: string; stateRoot: Bytes32Hex };

/**
 * One gateway's view of its anchor contract. Every method may throw GatewayError LEDGER_UNAVAILABLE
 * (transport, timeout, wrong chain); anchorRoot also throws ANCHOR_DUPLICATE, ANCHOR_CHAIN_BROKEN and
 * LEDGER_UNAUTHORIZED as ConsentAnchor.anchor reverts. A LEDGER_UNAVAILABLE from anchorRoot means the
 * outcome is unknown: the transaction may still be mined, so callers reconcile before resending.
 */
export type LedgerPort = {
  /** EIP-155 chain id the anchor contract lives on. */
  readonly chainId: number;
  /** The ConsentAnchor address (EIP-55). */
  readonly contract: string;
  /** This gateway's id in the GatewayRegistry (its party id). */
  readonly gatewayId: string;
  /** Sends ConsentAnchor.anchor and waits for it to be mined. */
  anchorRoot(root: Bytes32Hex, count: number, prevRoot: Bytes32Hex, commit: AnchorCommitment): Promise<AnchorSent>;
  /** The stored anchor of `root`, or null if it was never anchored. */
  getAnchor(root: Bytes32Hex): Promise<OnChainAnchor | null>;
  /** The anchor of `root` with its transaction hash, or null if it was never anchored. */
  findAnchorTx(root: Bytes32Hex): Promise<OnChainAnchorTx | null>;
  /** The last root `gatewayId` anchored, or ZERO_ROOT. */
  lastRootOf(gatewayId: string): Promise<Bytes32Hex>;
};
