// Values that cross the ledger boundary: 32-byte hashes, gateway ids, EVM addresses and the record
// shapes the ledger client returns (Solidity ABI types bytes32/address/uint64, EIP-55 addresses).
import { decodeBytes32String, encodeBytes32String, getAddress } from 'ethers';
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';

export const ZERO_BYTES32 = `0x${'0'.repeat(64)}`;

/** A 32-byte value as given by callers: raw bytes, or hex with or without 0x. */
export type Bytes32Input = Uint8Array | string;

/** Canonical form on the wire and in results: lowercase 0x-prefixed 64 hex digits. */
export function toBytes32Hex(value: Bytes32Input, name: string): string {
  if (value instanceof Uint8Array) {
    if (value.length !== 32) throw new GatewayError('BAD_INPUT', `${name} must be 32 bytes`, { field: name });
    return `0x${Buffer.from(value).toString('hex')}`;
  }
  if (typeof value === 'string' && /^(0x)?[0-9a-fA-F]{64}$/.test(value)) {
    return `0x${value.replace(/^0x/, '').toLowerCase()}`;
  }
  throw new GatewayError('BAD_INPUT', `${name} must be 32 bytes of hex`, { field: name });
}

export const EvmAddress = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'an EVM address (0x + 40 hex digits)');

/** EIP-55 checksummed form; throws BAD_INPUT for anything that is not an address. */
export function toAddress(value: string, name: string): string {
  if (!EvmAddress.safeParse(value).success)
    throw new GatewayError('BAD_INPUT', `${name} must be an EVM address`, { field: name });
  try {
    return getAddress(value);
  } catch (cause) {
    // Mixed case with a wrong checksum: likely a typo, so refuse rather than guess.
    throw new GatewayError('BAD_INPUT', `${name} has an invalid EIP-55 checksum`, { field: name }, { cause });
  }
}

/**
 * Gateway ids are short ASCII names stored as a right-zero-padded bytes32 (Solidity string
 * literal layout), so they stay readable in explorers and round-trip exactly.
 */
export const GatewayId = z.string().regex(/^[A-Za-z0-9._-]{1,31}$/, '1-31 characters of A-Z a-z 0-9 . _ -');

export function gatewayIdToBytes32(id: string): string {
  if (!GatewayId.safeParse(id).success)
    throw new GatewayError('BAD_INPUT', 'gateway id must be 1-31 characters of A-Z a-z 0-9 . _ -', {
      field: 'gatewayId',
    });
  return encodeBytes32String(id);
}

/** The id as a name when it follows the id rules; otherwise (written by another tool) its hex. */
export function gatewayIdFromBytes32(value: string): string {
  try {
    const id = decodeBytes32String(value);
    if (GatewayId.safeParse(id).success && encodeBytes32String(id) === value.toLowerCase()) return id;
  } catch {
    // not a string layout: fall through to hex
  }
  return value.toLowerCase();
}

/** Where the ledger contracts live; `deployBlock` bounds event scans. */
export const LedgerAddresses = z.object({
  registry: EvmAddress,
  anchor: EvmAddress,
  packages: EvmAddress,
  chainId: z.number().int().positive(),
  deployBlock: z.number().int().min(0),
});
export type LedgerAddresses = z.infer<typeof LedgerAddresses>;

export const TxSummary = z.object({
  txHash: z.string(),
  blockNumber: z.number().int().min(0),
  /** Gas the transaction consumed, for cost reporting (anchor per batch vs attestation per record). */
  gasUsed: z.number().int().min(0),
});
export type TxSummary = z.infer<typeof TxSummary>;

export const AnchorReceipt = TxSummary.extend({
  /** Unix seconds of the block that holds the anchor. */
  blockTime: z.number().int().min(0),
});
export type AnchorReceipt = z.infer<typeof AnchorReceipt>;

/** A 64-bit key id as the contracts hold it (bytes8): 0x and 16 lowercase hex digits. */
export const KeyIdHex = z.string().regex(/^0x[0-9a-f]{16}$/);

/** ConsentAnchor.Anchor as stored (the previous root is only in the Anchored event). */
export const AnchorRecord = z.object({
  root: z.string(),
  gatewayId: z.string(),
  count: z.number().int().positive(),
  anchoredBy: EvmAddress,
  blockNumber: z.number().int().min(0),
  blockTime: z.number().int().min(0),
  /** The Ed25519 key id the batch's events were signed with, as 16 hex digits without 0x (consent/signer.ts). */
  keyId: z.string(),
});
export type AnchorRecord = z.infer<typeof AnchorRecord>;

/** An anchor found through its Anchored event: the record plus the event's roots and the transaction. */
export const AnchorTx = AnchorRecord.extend({
  prevRoot: z.string(),
  /** The status tree root committed with the batch (consent/status-tree.ts); only in the event. */
  stateRoot: z.string(),
  txHash: z.string(),
  logIndex: z.number().int().min(0),
});
export type AnchorTx = z.infer<typeof AnchorTx>;

export const GatewayStatus = z.enum(['Active', 'Revoked']);
export const GatewayEntry = z.object({
  id: z.string(),
  ed25519PublicKey: z.string(),
  evmAccount: EvmAddress,
  status: GatewayStatus,
  /** The current key's id, 16 hex digits without 0x. */
  keyId: z.string(),
  registeredAt: z.number().int().min(0),
  updatedAt: z.number().int().min(0),
  /** The block the gateway was revoked in; null while active. */
  revokedAtBlock: z.number().int().min(1).nullable(),
});
export type GatewayEntry = z.infer<typeof GatewayEntry>;

/** One key a gateway held, valid for anchors in blocks fromBlock..untilBlock (null while current). */
export const KeyPeriod = z.object({
  ed25519PublicKey: z.string(),
  keyId: z.string(),
  fromBlock: z.number().int().min(0),
  untilBlock: z.number().int().min(0).nullable(),
  /** Set by the registry owner without the previous key's signature (the lost-key recovery path). */
  isRecovery: z.boolean(),
});
export type KeyPeriod = z.infer<typeof KeyPeriod>;

export const AccountPeriod = z.object({
  account: EvmAddress,
  fromBlock: z.number().int().min(0),
  untilBlock: z.number().int().min(0).nullable(),
});
export type AccountPeriod = z.infer<typeof AccountPeriod>;

export const PackageEntry = z.object({
  packageId: z.string(),
  listingHash: z.string(),
  valuationReportHash: z.string(),
  consentBasisRoot: z.string(),
  registrant: EvmAddress,
  gatewayId: z.string(),
  revision: z.number().int().positive(),
  updatedAt: z.number().int().min(0),
});
export type PackageEntry = z.infer<typeof PackageEntry>;
