// Receipts verify offline against the chain, and every kind of forgery or tampering fails a named check
// (DESIGN.md §1.4, §4 "Anchoring"; Ed25519 RFC 8032 over RFC 8785 JSON; proofs per docs/merkle.md).
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalHash } from '../../consent/canonical.ts';
import { attachSignature, signingBytes, type LogEvent } from '../../consent/event.ts';
import { signReceipt, type Receipt, type UnsignedReceipt } from '../../consent/receipt.ts';
import { CHECK_NAMES, verifyReceipt, type CheckName, type Verification } from '../../consent/receipt-verifier.ts';
import { waitForPendingTransactions, type Ledger, type SimulatedChain } from '../fixtures/contracts-fixture.ts';
import { useFreshLedger } from '../fixtures/fresh-ledger.ts';
import {
  GATEWAY_ID,
  openAnchoringHarness,
  switchablePort,
  writeGrants,
  type AnchoringHarness,
} from '../fixtures/anchoring-fixture.ts';

let chain: SimulatedChain;
let ledger: Ledger;
let h: AnchoringHarness;

useFreshLedger({}, async (fresh) => {
  ({ chain, ledger } = fresh);
  h = await openAnchoringHarness(chain, ledger);
  await writeGrants(h, 5);
  await h.log.recordDecision({
    actor: 'tok_pdp',
    action: 'read',
    outcome: 'deny',
    purpose: 'joint-modeling',
    reasons: ['no consent'],
    consentIds: [],
    delegationIds: [],
  });
  expect((await h.anchoring().flushNow()).error).toBeNull();
});
afterEach(async () => {
  await h.dispose();
});

const failed = (v: Verification): CheckName[] => v.checks.filter((c) => !c.ok).map((c) => c.name);
/**
 * A forger holding the gateway key: signs whatever changed receipt it makes, so only the targeted check can catch it.
 */
const resign = (r: Receipt, change: (u: UnsignedReceipt) => UnsignedReceipt): Receipt => {
  const { signature: _s, ...unsigned } = structuredClone(r);
  return signReceipt(change(unsigned as UnsignedReceipt), h.signer);
};

describe('receipt verification', () => {
  it('a receipt verifies offline against the chain', async () => {
    for (const ref of [
      { chain: 'events', seq: 3 },
      { chain: 'audit', seq: 6 },
    ] as const) {
      const receipt = await h.issuer.issueAnchoredReceipt(ref);
      // What a third party holds: the JSON file, nothing else from the gateway.
      const result = await verifyReceipt(JSON.parse(JSON.stringify(receipt)), h.reader);
      expect(result.failure).toBeNull();
      expect(result.checks.map((c) => c.name)).toEqual(CHECK_NAMES.filter((n) => n !== 'not-anchored'));
      expect(receipt).toMatchObject({
        status: 'anchored',
        record: ref,
        gateway: { partyId: GATEWAY_ID, evmAccount: h.evmAccount },
      });
    }
  });

  it('a pending receipt fails with not-anchored, then its upgrade verifies', async () => {
    await writeGrants(h, 1, 50);
    const pending = await h.issuer.issueReceipt({ chain: 'events', seq: 6 });
    expect(pending.status).toBe('pending');
    const before = await verifyReceipt(pending, h.reader);
    expect(before.failure?.name).toBe('not-anchored');
    expect(failed(before)).toEqual(['not-anchored']);
    await expect(h.issuer.issueAnchoredReceipt({ chain: 'events', seq: 6 })).rejects.toMatchObject({
      code: 'CONFLICT',
      detail: { reason: 'not-anchored' },
    });

    await h.anchoring().flushNow();
    const upgraded = await h.issuer.issueAnchoredReceipt({ chain: pending.record.chain, seq: pending.record.seq });
    expect(upgraded.record).toEqual(pending.record);
    expect((await verifyReceipt(upgraded, h.reader)).ok).toBe(true);
  });

  it('a forged receipt fails: a changed event field fails record-hash', async () => {
    const receipt = await h.issuer.issueAnchoredReceipt({ chain: 'events', seq: 2 });
    const forged = resign(receipt, (u) => ({
      ...u,
      record: { ...u.record, event: { ...u.record.event!, actor: 'tok_attacker' } },
    }));
    const result = await verifyReceipt(forged, h.reader);
    expect(result.failure?.name).toBe('record-hash');
    expect(failed(result)).toEqual(['record-hash']);
    // Without the gateway key the receipt signature fails first.
    const { signature } = receipt;
    expect(failed(await verifyReceipt({ ...forged, signature }, h.reader))).toEqual([
      'receipt-signature',
      'record-hash',
    ]);
  });

  it('a forged receipt fails: an event re-hashed and re-signed with the gateway key is not in the anchored batch', async () => {
    const receipt = await h.issuer.issueAnchoredReceipt({ chain: 'events', seq: 2 });
    const { hash: _h, signature: _s, ...body } = receipt.record.event!;
    const changed = { ...body, actor: 'tok_attacker' };
    const event: LogEvent = attachSignature({ ...changed, hash: canonicalHash(changed) }, new Uint8Array());
    const resealed = attachSignature(event, h.signer.sign(signingBytes(event)));
    const forged = resign(receipt, (u) => ({ ...u, record: { ...u.record, hash: resealed.hash, event: resealed } }));
    const result = await verifyReceipt(forged, h.reader);
    expect(result.failure?.name).toBe('merkle-path');
    expect(failed(result)).toEqual(['merkle-path', 'on-chain-inclusion']);
  });

  it('a forged receipt fails: the proof of another leaf fails merkle-path', async () => {
    const receipt = await h.issuer.issueAnchoredReceipt({ chain: 'events', seq: 2 });
    const other = await h.issuer.issueAnchoredReceipt({ chain: 'events', seq: 4 });
    expect(other.anchor!.proof).not.toEqual(receipt.anchor!.proof);
    const forged = resign(receipt, (u) => ({ ...u, anchor: { ...u.anchor!, proof: other.anchor!.proof } }));
    const result = await verifyReceipt(forged, h.reader);
    expect(result.failure?.name).toBe('merkle-path');
    expect(failed(result)).toEqual(['merkle-path', 'on-chain-inclusion']);
  });

  it('a forged receipt fails: a changed signature fails receipt-signature', async () => {
    const receipt = await h.issuer.issueAnchoredReceipt({ chain: 'audit', seq: 1 });
    const flipped = `${receipt.signature.slice(0, 10)}${receipt.signature[10] === '0' ? '1' : '0'}${receipt.signature.slice(11)}`;
    const result = await verifyReceipt({ ...receipt, signature: flipped }, h.reader);
    expect(result.failure?.name).toBe('receipt-signature');
    expect(failed(result)).toEqual(['receipt-signature']);
  });

  it('a forged receipt fails: a changed block time or transaction fails against the chain', async () => {
    const receipt = await h.issuer.issueAnchoredReceipt({ chain: 'audit', seq: 2 });
    const late = resign(receipt, (u) => ({ ...u, anchor: { ...u.anchor!, blockTime: u.anchor!.blockTime + 3600 } }));
    expect(failed(await verifyReceipt(late, h.reader))).toEqual(['block-time']);
    const otherTx = resign(receipt, (u) => ({ ...u, anchor: { ...u.anchor!, txHash: `0x${'ee'.repeat(32)}` } }));
    expect(failed(await verifyReceipt(otherTx, h.reader))).toEqual(['on-chain-root']);
    const unanchored = resign(receipt, (u) => ({ ...u, anchor: { ...u.anchor!, root: `0x${'11'.repeat(32)}` } }));
    expect(failed(await verifyReceipt(unanchored, h.reader))).toEqual([
      'merkle-path',
      'on-chain-root',
      'block-time',
      'record-time',
      'anchoring-account',
      'anchoring-key',
      'revocation',
      'on-chain-inclusion',
    ]);
  });

  it('a root another gateway anchored is never recorded, and a receipt claiming it fails anchoring-account', async () => {
    const insurer = await ledger.registerGateway('insurer', 2);
    await writeGrants(h, 2, 30);
    const down = switchablePort(h.port);
    down.isDown = true;
    await h.anchoring({ ledger: down }).flushNow(); // batch 2 is built locally
    const batch = (await h.anchors.getBatch(2))!;
    const sent = await insurer.anchorRoot(batch.root, batch.count, null); // front-run by another gateway
    expect((await h.anchoring().flushNow()).error).toMatchObject({
      code: 'CONFLICT',
      detail: { reason: 'foreign-anchor' },
    });
    expect(await h.anchors.getBatch(2)).toMatchObject({ status: 'built' });

    // A gateway database that records it anyway issues receipts no verifier accepts.
    await h.anchors.markAnchored(2, { ...sent, chainId: h.port.chainId, contract: h.port.contract }, h.clock.now());
    const result = await verifyReceipt(await h.issuer.issueAnchoredReceipt({ chain: 'events', seq: 7 }), h.reader);
    // The insurer's anchor names its own key and status root, and is attributed to the insurer.
    expect(failed(result)).toEqual(['on-chain-root', 'anchoring-account', 'anchoring-key', 'revocation']);
    expect(result.checks.find((c) => c.name === 'anchoring-account')?.detail).toContain('anchored by gateway insurer');
  });

  it("a revoked gateway's receipts verify before the revocation block and fail from it on", async () => {
    const receipt = await h.issuer.issueAnchoredReceipt({ chain: 'events', seq: 1 });
    // An anchor mined in the revocation block itself: the anchor transaction first, the revocation second.
    await writeGrants(h, 1, 40);
    await chain.provider.request({ method: 'evm_setAutomine', params: [false] });
    const flushing = h.anchoring().flushNow();
    await waitForPendingTransactions(chain, 1);
    const revoking = ledger.admin.revokeGateway(GATEWAY_ID);
    await waitForPendingTransactions(chain, 2);
    await chain.provider.request({ method: 'evm_mine', params: [] });
    await chain.provider.request({ method: 'evm_setAutomine', params: [true] });
    expect((await flushing).error).toBeNull();
    const revokedAt = (await revoking).blockNumber;

    const before = await verifyReceipt(receipt, h.reader);
    expect(before.ok).toBe(true);
    expect(before.checks.find((c) => c.name === 'revocation')?.detail).toContain(`revoked at block ${revokedAt}`);
    const same = await verifyReceipt(await h.issuer.issueAnchoredReceipt({ chain: 'events', seq: 6 }), h.reader);
    expect(failed(same)).toEqual(['revocation']);
    expect(same.failure?.detail).toContain(`revoked at block ${revokedAt}; an anchor at block ${revokedAt}`);
  });

  it('a tampered event row makes the receipt issued afterwards fail, and the chain verification names the row', async () => {
    const before = await h.issuer.issueAnchoredReceipt({ chain: 'events', seq: 2 });
    await h.db.transaction((tx) =>
      tx.run(`UPDATE events SET payload = replace(payload, 'joint-modeling', 'marketing') WHERE seq = 2`),
    );

    await expect(h.issuer.issueAnchoredReceipt({ chain: 'events', seq: 2 })).rejects.toMatchObject({
      code: 'INTEGRITY_VIOLATION',
      detail: { chain: 'events', seq: 2, reason: 'hash-mismatch' },
    });
    expect(await h.log.verify()).toMatchObject({ ok: false, chain: 'events', seq: 2, reason: 'hash-mismatch' });
    // A receipt that embeds the row as it now stands cannot verify, even signed with the gateway key...
    const [row] = await h.store.readEvents(1, 1);
    const fromTamperedRow = resign(before, (u) => ({ ...u, record: { ...u.record, event: row! } }));
    expect(failed(await verifyReceipt(fromTamperedRow, h.reader))).toEqual(['record-hash']);
    // ...while the receipt issued before the change still proves the original.
    expect((await verifyReceipt(before, h.reader)).ok).toBe(true);
  });

  it('an audit row re-hashed after anchoring no longer matches its batch root', async () => {
    const [entry] = await h.log.listAudit({ afterSeq: 2, limit: 1 });
    const { hash: _h, ...body } = { ...entry!, actor: 'tok_attacker' };
    await h.db.transaction((tx) =>
      tx.run('UPDATE audit SET actor = $1, hash = $2 WHERE seq = 3', ['tok_attacker', canonicalHash(body)]),
    );
    await expect(h.issuer.issueAnchoredReceipt({ chain: 'audit', seq: 3 })).rejects.toMatchObject({
      code: 'INTEGRITY_VIOLATION',
      detail: { chain: 'audit', seq: 3, reason: 'root-mismatch', batchNo: 1 },
    });
  });

  it('the chain checks fail closed when the chain cannot be read', async () => {
    const receipt = await h.issuer.issueAnchoredReceipt({ chain: 'events', seq: 1 });
    const down = async (): Promise<never> => {
      throw Object.assign(new Error('down'), { code: 'ECONNREFUSED' });
    };
    const result = await verifyReceipt(receipt, {
      getAnchor: down,
      findAnchorTx: down,
      getGateway: down,
      verifyInclusion: down,
      getBlock: down,
      lastRootOf: down,
    });
    const chainChecks = [
      'on-chain-root',
      'block-time',
      'record-time',
      'anchoring-account',
      'anchoring-key',
      'revocation',
      'on-chain-inclusion',
    ];
    expect(failed(result)).toEqual(chainChecks);
    expect(failed(await verifyReceipt(receipt, null))).toEqual(chainChecks);
    // A version 1 receipt (no signing context) is not read as a version 2 one.
    expect((await verifyReceipt({ ...receipt, version: 1 }, h.reader)).failure?.name).toBe('receipt-format');
  });
});
