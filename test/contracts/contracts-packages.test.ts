// DataPackageRegistry invariants on the in-process Hardhat network (DESIGN.md §5, §8).
import { describe, expect, it } from 'vitest';
import type { LedgerClient } from '../../contracts/ledger-client.ts';
import type { PackageRegistration } from '../../contracts/package-registry-client.ts';
import { bytes32Of, codeOf } from '../fixtures/contracts-fixture.ts';
import { useFreshLedger } from '../fixtures/fresh-ledger.ts';
import type { Ledger, SimulatedChain } from '../fixtures/contracts-fixture.ts';

const hex = (b: Uint8Array): string => `0x${Buffer.from(b).toString('hex')}`;

let chain: SimulatedChain;
let ledger: Ledger;
let dealer: LedgerClient;

const clvPackage: PackageRegistration = {
  packageId: bytes32Of('listing:clv-intent-2025'),
  listingHash: bytes32Of('listing-v1'),
  valuationReportHash: bytes32Of('valuation-v1'),
  consentBasisRoot: bytes32Of('consent-basis-v1'),
};

useFreshLedger({ 'dealer-4s': 1 }, (fresh) => {
  ({ chain, ledger } = fresh);
  dealer = fresh.gateways['dealer-4s']!;
});

describe('DataPackageRegistry', () => {
  it('package registration requires an active gateway', async () => {
    expect(await codeOf(ledger.admin.registerPackage(clvPackage))).toBe('LEDGER_UNAUTHORIZED');
    expect(await codeOf(ledger.clientFor(chain.accounts[6]!).registerPackage(clvPackage))).toBe('LEDGER_UNAUTHORIZED');
    await dealer.registerPackage(clvPackage);
    const stored = await ledger.admin.getPackage(clvPackage.packageId);
    expect({ ...stored, registrant: stored?.registrant.toLowerCase() }).toMatchObject({
      packageId: hex(clvPackage.packageId as Uint8Array),
      listingHash: hex(clvPackage.listingHash as Uint8Array),
      consentBasisRoot: hex(clvPackage.consentBasisRoot as Uint8Array),
      registrant: chain.accounts[1]!.toLowerCase(),
      gatewayId: 'dealer-4s',
      revision: 1,
    });
    await ledger.admin.revokeGateway('dealer-4s');
    expect(await codeOf(dealer.revisePackage({ ...clvPackage, listingHash: bytes32Of('listing-v2') }))).toBe(
      'LEDGER_UNAUTHORIZED',
    );
  });

  it('only the registering gateway revises a package, and each revision increments', async () => {
    const insurer = await ledger.registerGateway('insurer', 2);
    await dealer.registerPackage(clvPackage);
    expect(await codeOf(insurer.revisePackage({ ...clvPackage, listingHash: bytes32Of('forged') }))).toBe(
      'LEDGER_UNAUTHORIZED',
    );
    // A shrunken consent basis after withdrawals: revalued and re-anchored as revision 2.
    await dealer.revisePackage({
      ...clvPackage,
      valuationReportHash: bytes32Of('valuation-v2'),
      consentBasisRoot: bytes32Of('consent-basis-v2'),
    });
    const revised = await insurer.getPackage(clvPackage.packageId);
    expect(revised?.revision).toBe(2);
    expect(revised?.consentBasisRoot).toBe(hex(bytes32Of('consent-basis-v2')));
    expect(revised?.listingHash).toBe(hex(bytes32Of('listing-v1')));
  });

  it('a package id is registered once and unknown packages cannot be revised', async () => {
    await dealer.registerPackage(clvPackage);
    expect(await codeOf(dealer.registerPackage(clvPackage))).toBe('CONFLICT');
    expect(await codeOf(dealer.revisePackage({ ...clvPackage, packageId: bytes32Of('unknown') }))).toBe('NOT_FOUND');
    expect(await dealer.getPackage(bytes32Of('unknown'))).toBeNull();
    expect(
      await codeOf(
        dealer.registerPackage({ ...clvPackage, packageId: bytes32Of('p2'), consentBasisRoot: new Uint8Array(32) }),
      ),
    ).toBe('BAD_INPUT');
  });
});
