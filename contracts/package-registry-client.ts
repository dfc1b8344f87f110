// Typed calls to DataPackageRegistry.sol: register and revise a data package's listing hash,
// valuation report hash and consent basis root, and read the current revision.
import { txSummaryOf } from './ledger-contract.ts';
import type { LedgerContract } from './ledger-contract.ts';
import { gatewayIdFromBytes32, toBytes32Hex } from './ledger-values.ts';
import type { Bytes32Input, PackageEntry, TxSummary } from './ledger-values.ts';

/** packageId is any 32-byte id, for example SHA-256 of the exchange's listing id. */
export type PackageRegistration = {
  packageId: Bytes32Input;
  listingHash: Bytes32Input;
  valuationReportHash: Bytes32Input;
  consentBasisRoot: Bytes32Input;
};

export type PackageRegistryClient = {
  /** Active gateways only (LEDGER_UNAUTHORIZED otherwise); CONFLICT if the id exists. */
  registerPackage(input: PackageRegistration): Promise<TxSummary>;
  /** The registering gateway only; bumps the revision. NOT_FOUND for an unknown package. */
  revisePackage(input: PackageRegistration): Promise<TxSummary>;
  /** The current revision, or null if never registered. */
  getPackage(packageId: Bytes32Input): Promise<PackageEntry | null>;
};

const argsOf = (p: PackageRegistration): string[] => [
  toBytes32Hex(p.packageId, 'packageId'),
  toBytes32Hex(p.listingHash, 'listingHash'),
  toBytes32Hex(p.valuationReportHash, 'valuationReportHash'),
  toBytes32Hex(p.consentBasisRoot, 'consentBasisRoot'),
];

export function packageRegistryClient(packages: LedgerContract): PackageRegistryClient {
  return {
    async registerPackage(input) {
      return txSummaryOf(await packages.write('register', argsOf(input), 'registerPackage'));
    },
    async revisePackage(input) {
      return txSummaryOf(await packages.write('revise', argsOf(input), 'revisePackage'));
    },
    async getPackage(packageId) {
      const id = toBytes32Hex(packageId, 'packageId');
      const [p] = await packages.read('get', [id], 'getPackage');
      if (/^0x0{40}$/.test(String(p.registrant))) return null;
      return {
        packageId: id,
        listingHash: String(p.listingHash).toLowerCase(),
        valuationReportHash: String(p.valuationReportHash).toLowerCase(),
        consentBasisRoot: String(p.consentBasisRoot).toLowerCase(),
        registrant: String(p.registrant),
        gatewayId: gatewayIdFromBytes32(String(p.gatewayId)),
        revision: Number(p.revision),
        updatedAt: Number(p.updatedAt),
      };
    },
  };
}
