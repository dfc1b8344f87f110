// Signed statements (a lift certificate is one) verify against the chain through the receipt of the audit entry that
// recorded their hash; a changed byte, another entry, another key or another issuer fails a named check.
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  signStatement,
  statementHash,
  verifyStatementProof,
  type AnchoredStatement,
} from '../../consent/anchored-statement.ts';
import { createSigner } from '../../consent/signer.ts';
import type { Ledger, SimulatedChain } from '../fixtures/contracts-fixture.ts';
import { useFreshLedger } from '../fixtures/fresh-ledger.ts';
import { GATEWAY_ID, openAnchoringHarness, type AnchoringHarness } from '../fixtures/anchoring-fixture.ts';

let chain: SimulatedChain;
let ledger: Ledger;
let h: AnchoringHarness;
let statement: AnchoredStatement;
let recordedSeq: number;
let otherSeq: number;

const CONTEXT = 'sealgate/lift-certificate/v1';
const body = { issuer: GATEWAY_ID, certificateId: 'c-1', baseline: { value: 0.44, low: 0.42, high: 0.47 } };

useFreshLedger({}, async (fresh) => {
  ({ chain, ledger } = fresh);
  h = await openAnchoringHarness(chain, ledger);
  statement = signStatement(CONTEXT, body, h.signer);
  const audit = (statementHashValue: string) =>
    h.log.appendAudit({
      kind: 'valuation',
      actor: 'token:t1',
      action: 'lift-certificate-issue',
      outcome: 'ok',
      refs: ['c-1'],
      detail: { statementHash: statementHashValue },
    });
  recordedSeq = (await audit(statementHash(CONTEXT, body))).seq;
  otherSeq = (await audit('ab'.repeat(32))).seq;
  expect((await h.anchoring().flushNow()).error).toBeNull();
});
afterEach(async () => {
  await h.dispose();
});

const proofOf = async (s: AnchoredStatement, seq = recordedSeq) => ({
  statement: s,
  receipt: await h.issuer.issueAnchoredReceipt({ chain: 'audit', seq }),
});
const failedAt = async (proof: unknown) => (await verifyStatementProof(proof, h.reader)).failure?.name ?? null;

describe('anchored statements', () => {
  it('verify offline against the chain: signature, recorded hash, then every receipt check', async () => {
    const result = await verifyStatementProof(JSON.parse(JSON.stringify(await proofOf(statement))), h.reader);
    expect(result.failure).toBeNull();
    expect(result.checks.slice(0, 3).map((c) => c.name)).toEqual([
      'statement-format',
      'statement-signature',
      'statement-recorded',
    ]);
    expect(result.checks.map((c) => c.name)).toContain('on-chain-inclusion');
  });

  it('a changed byte of the body fails the signature; re-signed, it is no longer the recorded statement', async () => {
    const changed = { ...statement, body: { ...statement.body, certificateId: 'c-2' } };
    expect(await failedAt(await proofOf(changed))).toBe('statement-signature');
    const resigned = signStatement(CONTEXT, changed.body, h.signer);
    expect(await failedAt(await proofOf(resigned))).toBe('statement-recorded');
  });

  it("another entry's receipt, another key or another issuer fails statement-recorded", async () => {
    expect(await failedAt(await proofOf(statement, otherSeq))).toBe('statement-recorded');
    const stranger = createSigner(generateKeyPairSync('ed25519').privateKey);
    const byStranger = signStatement(CONTEXT, body, stranger);
    // Its hash is the recorded one (same body), but the key is not the one the batch was anchored under.
    expect(await failedAt(await proofOf(byStranger))).toBe('statement-recorded');
    const otherIssuer = signStatement(CONTEXT, { ...body, issuer: 'insurer' }, h.signer);
    expect(await failedAt(await proofOf(otherIssuer))).toBe('statement-recorded');
  });

  it('refuses what is not a statement proof, and a signature under another context', async () => {
    expect(await failedAt({ statement: { ...statement, signature: 'zz' }, receipt: {} })).toBe('statement-format');
    expect(await failedAt({ statement, receipt: { not: 'a receipt' } })).toBe('statement-format');
    const otherContext = { ...statement, context: 'sealgate/other-statement/v1' };
    expect(await failedAt(await proofOf(otherContext))).toBe('statement-signature');
  });
});
