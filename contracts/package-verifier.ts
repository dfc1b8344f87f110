// Verifies a listing against the package registry contract, needing nothing from the gateway (docs/exchange.md,
// "Anchoring"): the listing as a buyer or a compliance officer received it (`GET /v1/listings/{id}`, a JSON file), an
// RPC URL, and the registry address the listing's anchor names. The content is hashed here (SHA-256 of RFC 8785) and
// compared, with its consent basis root, to the registry's current revision of the package.
import { z } from 'zod';
import { canonicalHash } from '../consent/canonical.ts';
import { bindLedgerContract } from './ledger-contract.ts';
import { openLedgerConnection } from './ledger-connection.ts';
import { gatewayIdToBytes32 } from './ledger-values.ts';
import type { PackageEntry } from './ledger-values.ts';
import { packageRegistryClient } from './package-registry-client.ts';

export const PACKAGE_CHECK_NAMES = ['listing-format', 'listing-hash', 'on-chain-listing', 'on-chain-consent-root'];
export type PackageCheck = { name: string; ok: boolean; detail: string };
export type PackageVerification = { ok: boolean; checks: PackageCheck[]; failure: PackageCheck | null };

const ListingDocument = z.object({
  packageId: z.string().min(1).max(31),
  contentHash: z.string().regex(/^[0-9a-f]{64}$/),
  content: z.object({ consentBasis: z.object({ root: z.string().regex(/^0x[0-9a-f]{64}$/) }) }).catchall(z.unknown()),
  anchor: z.object({ chainId: z.number().int().positive(), registry: z.string().regex(/^0x[0-9a-fA-F]{40}$/) }),
});

/** Reads the registry's current revision of a package (null when never registered). */
export type PackageReader = (packageId: string) => Promise<PackageEntry | null>;

export function openPackageReader(endpoint: { rpcUrl: string; chainId: number; registry: string; timeoutMs: number }): {
  read: PackageReader;
  close(): void;
} {
  const conn = openLedgerConnection({ rpcUrl: endpoint.rpcUrl, timeoutMs: endpoint.timeoutMs });
  const client = packageRegistryClient(
    bindLedgerContract(conn, 'DataPackageRegistry', endpoint.registry, endpoint.chainId),
  );
  return { read: (packageId) => client.getPackage(gatewayIdToBytes32(packageId)), close: () => conn.close() };
}

/** The listing's shape, its content hash, the registry's listing hash and consent root; the first failure ends them. */
export async function verifyListingAnchor(input: unknown, read: (registry: string, chainId: number) => PackageReader) {
  const checks: PackageCheck[] = [];
  const done = (): PackageVerification => {
    const failure = checks.find((c) => !c.ok) ?? null;
    return { ok: failure === null, checks, failure };
  };
  const parsed = ListingDocument.safeParse(input);
  if (!parsed.success) {
    const paths = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(root)'))].slice(0, 8);
    checks.push({ name: 'listing-format', ok: false, detail: `not an anchored listing: bad ${paths.join(', ')}` });
    return done();
  }
  const listing = parsed.data;
  checks.push({ name: 'listing-format', ok: true, detail: `a listing of package ${listing.packageId}` });
  const hash = canonicalHash(listing.content);
  checks.push({
    name: 'listing-hash',
    ok: hash === listing.contentHash,
    detail:
      hash === listing.contentHash
        ? `the content hashes to ${hash}`
        : `the content hashes to ${hash}, the listing says ${listing.contentHash}: it was changed`,
  });
  if (hash !== listing.contentHash) return done();
  let onChain: PackageEntry | null;
  try {
    onChain = await read(listing.anchor.registry, listing.anchor.chainId)(listing.packageId);
  } catch (error) {
    checks.push({ name: 'on-chain-listing', ok: false, detail: `the registry could not be read: ${String(error)}` });
    return done();
  }
  const listed = onChain !== null && onChain.listingHash === `0x${hash}`;
  checks.push({
    name: 'on-chain-listing',
    ok: listed,
    detail:
      onChain === null
        ? 'the package is not in the registry'
        : listed
          ? `revision ${onChain.revision} of the package, by gateway ${onChain.gatewayId}, carries this listing's hash`
          : `revision ${onChain.revision} carries another listing hash (${onChain.listingHash})`,
  });
  if (!listed || onChain === null) return done();
  const root = listing.content.consentBasis.root;
  checks.push({
    name: 'on-chain-consent-root',
    ok: onChain.consentBasisRoot === root,
    detail:
      onChain.consentBasisRoot === root
        ? `and its consent basis root ${root}`
        : `but consent basis root ${onChain.consentBasisRoot}, not the listing's ${root}`,
  });
  return done();
}
