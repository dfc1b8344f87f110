// Proof of current status (docs/receipts.md §7): a record's last event as of the latest anchored batch, proven
// against the status root the anchor commits to. "In force" before a withdrawal, "withdrawn" after the next batch,
// and an older proof is reported as older, with its block.
import { afterEach, describe, expect, it } from 'vitest';
import { verifyReceipt } from '../../consent/receipt-verifier.ts';
import { createStatusProver, statusProofSigningBytes, type StatusProofDocument } from '../../consent/status-proof.ts';
import { verifyStatusProof, type StatusVerification } from '../../consent/status-proof-verifier.ts';
import type { Ledger, SimulatedChain } from '../fixtures/contracts-fixture.ts';
import { useFreshLedger } from '../fixtures/fresh-ledger.ts';
import { grantInput } from '../fixtures/consent-log-fixture.ts';
import {
  ctx,
  GATEWAY_ID,
  openAnchoringHarness,
  writeGrants,
  type AnchoringHarness,
} from '../fixtures/anchoring-fixture.ts';

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

const failed = (v: StatusVerification): string[] => v.checks.filter((c) => !c.ok).map((c) => c.name);
const proverOf = (harness: AnchoringHarness) =>
  createStatusProver({
    anchors: harness.anchors,
    records: harness.store,
    signer: harness.signer,
    clock: harness.clock,
    partyId: GATEWAY_ID,
    evmAccount: harness.evmAccount,
  });
const known = async (): Promise<boolean> => true;
/** A forger holding the gateway key: re-signs whatever it changed, so only the targeted check can catch it. */
const resign = (doc: StatusProofDocument, change: (d: StatusProofDocument) => StatusProofDocument) => {
  const changed = change(structuredClone(doc));
  return { ...changed, signature: Buffer.from(h.signer.sign(statusProofSigningBytes(changed))).toString('hex') };
};

describe('status proofs', () => {
  it('say "in force" before a withdrawal and "withdrawn" after the next batch; the old proof is reported as older', async () => {
    // No expiry: the fixture's clock is in 2025 and the chain's blocks are dated now, so a dated grant would read as
    // expired by the block's time.
    const grants = await Promise.all(
      ['a', 'b', 'c'].map((s) => h.log.grant(grantInput({ subjectId: `customer-${s}`, expiresAt: null }), ctx)),
    );
    const recordId = grants[0]!.record.recordId;
    const otherId = grants[1]!.record.recordId;
    expect((await h.anchoring().flushNow()).error).toBeNull();
    const prover = proverOf(h);
    const before = await prover.proveStatus(recordId, known);
    const inForce = await verifyStatusProof(JSON.parse(JSON.stringify(before)), h.reader);
    expect(inForce.failure).toBeNull();
    expect(inForce.verdict).toMatchObject({ recordId, status: 'in-force', isLatest: true, latestRoot: null });
    expect(inForce.verdict?.summary).toBe(`in force as of block ${before.anchor.blockNumber}`);
    const grantReceipt = await h.issuer.issueAnchoredReceipt({ chain: 'events', seq: before.event.seq });

    const { events } = await h.log.withdraw(recordId, ctx, 'changed my mind');
    const withdrawal = events.at(-1)!;
    // Until the withdrawal is anchored, the latest anchored batch still says "in force".
    expect((await prover.proveStatus(recordId, known)).event.type).toBe('grant');
    expect((await h.anchoring().flushNow()).error).toBeNull();

    const after = await verifyStatusProof(await prover.proveStatus(recordId, known), h.reader);
    expect(after.failure).toBeNull();
    expect(after.verdict).toMatchObject({ status: 'withdrawn', isLatest: true, event: { seq: withdrawal.seq } });
    expect(after.verdict?.summary).toContain(`withdrawn at event ${withdrawal.eventId}`);

    // The old proof still verifies, but says it is older, with its block and the newest root.
    const stale = await verifyStatusProof(before, h.reader);
    expect(stale.failure).toBeNull();
    expect(stale.verdict).toMatchObject({ status: 'in-force', isLatest: false, asOfBlock: before.anchor.blockNumber });
    expect(stale.verdict?.latestRoot).toBe(await h.client.lastRootOf(GATEWAY_ID));
    expect(stale.verdict?.summary).toContain('an older batch');
    // The grant did happen: its receipt still verifies as a receipt. Only the status proof speaks of "now".
    expect((await verifyReceipt(grantReceipt, h.reader)).ok).toBe(true);
    // Untouched records stay in force in the same new batch.
    const other = await verifyStatusProof(await prover.proveStatus(otherId, known), h.reader);
    expect(other.verdict).toMatchObject({ status: 'in-force', isLatest: true });
  });

  it('covers delegations, and refuses ids no anchored batch knows', async () => {
    const { delegation } = await h.log.delegate(
      { partner: 'insurer', purposes: ['joint-modeling'], fieldAllowlist: ['age'], expiresAt: '2099-01-01T00:00:00Z' },
      ctx,
    );
    const prover = proverOf(h);
    await expect(prover.proveStatus(delegation.delegationId, known)).rejects.toMatchObject({
      code: 'CONFLICT',
      detail: { reason: 'not-anchored' },
    });
    expect((await h.anchoring().flushNow()).error).toBeNull();
    const proof = await prover.proveStatus(delegation.delegationId, known);
    expect((await verifyStatusProof(proof, h.reader)).verdict).toMatchObject({ status: 'in-force' });
    await expect(prover.proveStatus('00000000-0000-4000-8000-000000000000', async () => false)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(prover.proveStatus('not-a-uuid', known)).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });

  it('a forged status fails a named check', async () => {
    const [recordId] = await writeGrants(h, 2);
    expect((await h.anchoring().flushNow()).error).toBeNull();
    const proof = await proverOf(h).proveStatus(recordId!, known);

    // Claiming the grant was withdrawn (or any other last event) breaks the path to the anchored status root.
    const relabeled = resign(proof, (d) => ({ ...d, value: { ...d.value, lastEventType: 'renew' } }));
    expect(failed(await verifyStatusProof(relabeled, h.reader))).toEqual(['last-event', 'status-path']);
    // A status root of the forger's own making is not the one the anchor committed to.
    const ownRoot = resign(proof, (d) => ({ ...d, anchor: { ...d.anchor, stateRoot: `0x${'22'.repeat(32)}` } }));
    expect(failed(await verifyStatusProof(ownRoot, h.reader))).toContain('on-chain-root');
    const otherTx = resign(proof, (d) => ({ ...d, anchor: { ...d.anchor, txHash: `0x${'ee'.repeat(32)}` } }));
    expect(failed(await verifyStatusProof(otherTx, h.reader))).toContain('on-chain-root');
    const flipped = {
      ...proof,
      signature: `${proof.signature.slice(0, -1)}${proof.signature.endsWith('0') ? '1' : '0'}`,
    };
    expect(failed(await verifyStatusProof(flipped, h.reader))).toEqual(['proof-signature']);
    expect(failed(await verifyStatusProof({ ...proof, extra: 1 }, h.reader))).toEqual(['proof-format']);
    // Without a chain, nothing chain-side passes.
    expect(failed(await verifyStatusProof(proof, null))).toEqual([
      'on-chain-root',
      'block-time',
      'anchoring-account',
      'anchoring-key',
      'revocation',
      'freshness',
    ]);
  });
});
