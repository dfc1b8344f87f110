// The EAS-style baseline stores one attestation per record, which is what the gas comparison with
// ConsentAnchor (one root per batch) relies on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMerkleTree } from '../../consent/merkle.ts';
import { connectAttestationBaseline } from '../../contracts/attestation-baseline-client.ts';
import { deployAttestationBaseline } from '../../contracts/ledger-deploy.ts';
import { bytes32Of, codeOf, deployFreshLedger, startSimulatedChain } from '../fixtures/contracts-fixture.ts';
import type { SimulatedChain } from '../fixtures/contracts-fixture.ts';

let chain: SimulatedChain;
beforeAll(async () => {
  chain = await startSimulatedChain();
});
afterAll(async () => {
  await chain.close();
});

describe('AttestationBaseline', () => {
  it('stores one attestation per record, and costs more gas than anchoring the batch root', async () => {
    const account = chain.accounts[0]!;
    const address = await deployAttestationBaseline({ provider: chain.provider, account });
    const baseline = connectAttestationBaseline({ provider: chain.provider, account, address, chainId: 31337 });
    const schema = bytes32Of('schema:consent-receipt');
    const records = Array.from({ length: 20 }, (_, i) => bytes32Of(`baseline-${i}`));

    const single = await baseline.attestRecord(schema, records[0]!);
    const stored = await baseline.getAttestation(single.uid);
    expect(stored?.data).toBe(`0x${records[0]!.toString('hex')}`);
    expect(stored?.attester.toLowerCase()).toBe(account.toLowerCase());
    const batch = await baseline.attestRecords(schema, records.slice(1));
    expect(batch.uids).toHaveLength(19);
    expect(new Set(batch.uids).size).toBe(19);
    for (const uid of batch.uids.slice(0, 3)) expect(await baseline.getAttestation(uid)).not.toBeNull();
    expect(await baseline.getAttestation(bytes32Of('missing'))).toBeNull();

    const ledger = await deployFreshLedger(chain);
    const gateway = await ledger.registerGateway('bench', 1);
    const anchored = await gateway.anchorRoot(buildMerkleTree(records.slice(1)).root, 19, null);
    expect(anchored.gasUsed).toBeLessThan(batch.gasUsed / 10);
    expect(await codeOf(baseline.attestRecord(schema, new Uint8Array(31)))).toBe('BAD_INPUT');
  });
});
