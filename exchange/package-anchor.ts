// One revision of a data package in the package registry contract: its listing hash, the hash of its latest valuation
// report and its consent basis root, written by this gateway's account. Valuations and listings both anchor through
// it. The package is keyed by its id's bytes as a bytes32, as gateways are.
import type { PackageRegistryClient } from '../contracts/package-registry-client.ts';
import { gatewayIdToBytes32 } from '../contracts/ledger-values.ts';
import { GatewayError } from '../core/errors.ts';

/** The chain side: the package registry as this gateway's account writes it. */
export type PackageLedger = {
  client: Pick<PackageRegistryClient, 'registerPackage' | 'revisePackage' | 'getPackage'>;
  chainId: number;
  registry: string;
};

/** Where a revision went on chain. */
export type PackageAnchor = {
  chainId: number;
  registry: string;
  txHash: string;
  blockNumber: number;
  revision: number;
};

export const hex0x = (hex: string): string => `0x${hex}`;
export const ZERO_HASH = hex0x('0'.repeat(64));

/**
 * Registers the package or adds a revision. `listingHash` is the hash to write, or, for a new valuation, `keep` with
 * the hash to use only when the package is not registered yet: a valuation must not overwrite a listed revision's
 * hash. LEDGER_UNAVAILABLE with the ledger off (`ledger` null).
 */
export async function anchorPackageRevision(
  ledger: PackageLedger | null,
  revision: {
    packageId: string;
    listingHash: string | { keep: true; initially: string };
    valuationReportHash: string;
    consentBasisRoot: string;
  },
): Promise<PackageAnchor> {
  if (ledger === null) throw new GatewayError('LEDGER_UNAVAILABLE', 'the ledger is off', { reason: 'ledger-off' });
  const packageId = gatewayIdToBytes32(revision.packageId);
  const existing = await ledger.client.getPackage(packageId);
  const listingHash =
    typeof revision.listingHash === 'string'
      ? revision.listingHash
      : (existing?.listingHash ?? revision.listingHash.initially);
  const registration = { ...revision, packageId, listingHash };
  const sent =
    existing === null
      ? await ledger.client.registerPackage(registration)
      : await ledger.client.revisePackage(registration);
  return {
    chainId: ledger.chainId,
    registry: ledger.registry,
    txHash: sent.txHash.toLowerCase(),
    blockNumber: sent.blockNumber,
    revision: (existing?.revision ?? 0) + 1,
  };
}
