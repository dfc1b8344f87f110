// Receipts survive key rotations, and one key cannot rewrite the identity (docs/receipts.md §5.3, §6;
// docs/trust-model.md): a real consent log anchored on an in-process chain through two rotations of the Ed25519 key
// and one of the anchoring account; then an attacker holding only the EVM key.
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { signReceipt, type Receipt, type UnsignedReceipt } from '../../consent/receipt.ts';
import { verifyReceipt, type Verification } from '../../consent/receipt-verifier.ts';
import { createSigner, type Signer } from '../../consent/signer.ts';
import { buildMerkleTree } from '../../consent/merkle.ts';
import { canonicalHash } from '../../consent/canonical.ts';
import { keyRotationMessage } from '../../contracts/key-rotation.ts';
import { codeOf, type Ledger, type SimulatedChain } from '../fixtures/contracts-fixture.ts';
import { useFreshLedger } from '../fixtures/fresh-ledger.ts';
import { GATEWAY_ID, openAnchoringHarness, writeGrants, type AnchoringHarness } from '../fixtures/anchoring-fixture.ts';

let chain: SimulatedChain;
let ledger: Ledger;
let h: AnchoringHarness;

useFreshLedger({}, async (fresh) => {
  ({ chain, ledger } = fresh);
  h = await openAnchoringHarness(chain, ledger);
});
afterEach(async () => {
  await h.dispose();
});

const newSigner = (): Signer => createSigner(generateKeyPairSync('ed25519').privateKey);
const failed = (v: Verification): string[] => v.checks.filter((c) => !c.ok).map((c) => c.name);

/** The gateway's part of a rotation: anchor everything signed with the old key, hand over on chain, switch. */
async function rotateKey(next: Signer, retired: Uint8Array[]): Promise<void> {
  expect((await h.anchoring().flushNow()).error).toBeNull();
  const current = h.signer;
  const message = keyRotationMessage({
    chainId: ledger.addresses.chainId,
    registry: ledger.addresses.registry,
    gatewayId: GATEWAY_ID,
    currentKey: current.publicKey,
    newKey: next.publicKey,
  });
  await h.client.rotateGatewayKey(GATEWAY_ID, next.publicKey, current.sign(message));
  h = await h.reopen({ signer: next, retiredKeys: [...retired, current.publicKey] });
}

/** Every record of both chains, as receipts the gateway issues now. */
async function allReceipts(): Promise<Receipt[]> {
  const heads = await h.store.settledHeads();
  const receipts: Receipt[] = [];
  for (let seq = 1; seq <= heads.events; seq++)
    receipts.push(await h.issuer.issueAnchoredReceipt({ chain: 'events', seq }));
  for (let seq = 1; seq <= heads.audit; seq++)
    receipts.push(await h.issuer.issueAnchoredReceipt({ chain: 'audit', seq }));
  return receipts;
}

describe('key history', () => {
  it('after two key rotations and one account rotation, every receipt verifies, old and new', async () => {
    const k0 = h.signer;
    await writeGrants(h, 3);
    expect((await h.anchoring().flushNow()).error).toBeNull();
    const issuedBefore = await allReceipts();

    const k1 = newSigner();
    await rotateKey(k1, []);
    await writeGrants(h, 2, 10);
    expect((await h.anchoring().flushNow()).error).toBeNull();

    // The account moves; the gateway id, its anchor chain and its keys stay.
    const account = chain.accounts[3]!;
    await h.client.rotateGatewayAccount(GATEWAY_ID, account);
    h = await h.reopen({ client: ledger.clientFor(account), evmAccount: account });
    await writeGrants(h, 2, 20);
    expect((await h.anchoring().flushNow()).error).toBeNull();

    const k2 = newSigner();
    await rotateKey(k2, [k0.publicKey]);
    await writeGrants(h, 2, 30);
    await h.log.recordDecision({
      actor: 'tok_pdp',
      action: 'read',
      outcome: 'permit',
      purpose: 'joint-modeling',
      reasons: [],
      consentIds: [],
      delegationIds: [],
    });
    expect((await h.anchoring().flushNow()).error).toBeNull();

    const batches = await h.anchors.listBatches(0, 100);
    expect(new Set(batches.map((b) => b.keyId))).toEqual(new Set([k0.keyId, k1.keyId, k2.keyId]));
    const history = await h.client.keyHistory(GATEWAY_ID);
    expect(history.map((k) => k.keyId)).toEqual([k0.keyId, k1.keyId, k2.keyId]);

    const issuedNow = await allReceipts();
    expect(issuedNow.length).toBe(9 * 2 + 1);
    for (const receipt of [...issuedBefore, ...issuedNow]) {
      const result = await verifyReceipt(receipt, h.reader);
      expect(result.failure, `${receipt.record.chain} #${receipt.record.seq}`).toBeNull();
    }
    // Receipts issued now are signed with k2; the events keep the key they were signed with.
    expect(issuedNow[0]).toMatchObject({ gateway: { keyId: k2.keyId }, record: { event: { keyId: k0.keyId } } });
    expect(await h.log.verify()).toMatchObject({ ok: true });

    // A key retired before the anchor cannot vouch for it: k0 signing a receipt of a record anchored under k2.
    const late = issuedNow.find((r) => r.anchor?.keyId === k2.keyId)!;
    const { signature: _s, ...unsigned } = structuredClone(late);
    const byRetired = signReceipt(
      {
        ...(unsigned as UnsignedReceipt),
        gateway: { ...unsigned.gateway, keyId: k0.keyId, publicKey: Buffer.from(k0.publicKey).toString('hex') },
      },
      k0,
    );
    const result = await verifyReceipt(byRetired, h.reader);
    expect(failed(result)).toEqual(['anchoring-key']);
    expect(result.failure?.detail).toContain('retired before block');
  });

  it('whoever holds only the EVM key can neither register a key nor pass off a fabricated record', async () => {
    await writeGrants(h, 2);
    expect((await h.anchoring().flushNow()).error).toBeNull();
    const mallory = newSigner();
    // The registration itself is refused without the current key's signature, whatever the EVM account signs.
    const selfSigned = mallory.sign(
      keyRotationMessage({
        chainId: ledger.addresses.chainId,
        registry: ledger.addresses.registry,
        gatewayId: GATEWAY_ID,
        currentKey: h.signer.publicKey,
        newKey: mallory.publicKey,
      }),
    );
    expect(await codeOf(h.client.rotateGatewayKey(GATEWAY_ID, mallory.publicKey, selfSigned))).toBe(
      'LEDGER_UNAUTHORIZED',
    );
    expect((await h.client.keyHistory(GATEWAY_ID)).map((k) => k.keyId)).toEqual([h.signer.keyId]);

    // The EVM key can still anchor a root: a fabricated audit entry, anchored under the gateway's current key id.
    const genuine = await h.issuer.issueAnchoredReceipt({ chain: 'audit', seq: 1 });
    const entry = { ...genuine.record.entry!, actor: 'tok_fabricated' };
    const { hash: _h, ...body } = entry;
    const hash = canonicalHash(body);
    const root = `0x${Buffer.from(buildMerkleTree([Buffer.from(hash, 'hex')]).root).toString('hex')}`;
    const lastRoot = await h.client.lastRootOf(GATEWAY_ID);
    const sent = await h.client.anchorRoot(root, 1, lastRoot);
    const anchoredAt = await h.client.findAnchorTx(root);
    // Its receipt can only be signed with Mallory's own key, which the registry never listed.
    const { signature: _signature, ...base } = structuredClone(genuine);
    const fabricated = signReceipt(
      {
        ...base,
        gateway: {
          ...genuine.gateway,
          keyId: mallory.keyId,
          publicKey: Buffer.from(mallory.publicKey).toString('hex'),
        },
        record: { chain: 'audit', seq: entry.seq, hash, entry: { ...entry, hash } },
        anchor: {
          ...genuine.anchor!,
          root,
          proof: [],
          txHash: sent.txHash.toLowerCase(),
          blockNumber: sent.blockNumber,
          blockTime: sent.blockTime,
          keyId: anchoredAt!.keyId,
          stateRoot: anchoredAt!.stateRoot,
        },
      } as UnsignedReceipt,
      mallory,
    );
    const result = await verifyReceipt(fabricated, h.reader);
    expect(failed(result)).toEqual(['anchoring-key']);
    expect(result.failure?.detail).toContain('never registered');
  });
});
