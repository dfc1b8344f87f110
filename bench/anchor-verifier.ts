// Receipt verification time (DESIGN.md §1.4: a third party with the record, its proof and a chain RPC can
// verify it): real anchored receipts from a consent log on DuckDB, anchored by the anchoring service on the
// in-process Hardhat chain, verified by consent/receipt-verifier.ts offline (Ed25519 RFC 8032 signatures,
// RFC 8785 canonical hash, Merkle path) and fully (plus the ConsentAnchor and GatewayRegistry reads).
import { loadavg } from 'node:os';
import { verifyReceipt, type CheckName } from '../consent/receipt-verifier.ts';
import { deployFreshLedger, type SimulatedChain } from '../test/fixtures/contracts-fixture.ts';
import { openAnchoringHarness, writeGrants } from '../test/fixtures/anchoring-fixture.ts';
import { msSince, summarizeMs, type TimingSummary } from './anchor-timing.ts';

/** With no chain reader these checks must fail ("no chain to check against") and only these. */
export const CHAIN_CHECKS: readonly CheckName[] = [
  'on-chain-root',
  'block-time',
  'record-time',
  'anchoring-account',
  'anchoring-key',
  'revocation',
  'on-chain-inclusion',
];

export type VerifierResult = {
  receipts: number;
  warmup: number;
  /** Records (events and audit entries) in the anchored batch the receipts prove. */
  batchRecords: number;
  proofSiblings: { min: number; max: number };
  receiptBytes: { min: number; max: number };
  /** One of the receipts, as the JSON a third party holds. */
  sampleReceiptJson: string;
  offline: TimingSummary;
  full: TimingSummary;
  loadAverage: { before: number; after: number };
};

/** The byte size of `receiptJson` with its proof replaced by `proof` (size only: such a receipt would not verify). */
export function receiptBytesWithProof(receiptJson: string, proof: readonly string[]): number {
  const receipt = JSON.parse(receiptJson) as { anchor: { proof: readonly string[] } };
  return Buffer.byteLength(JSON.stringify({ ...receipt, anchor: { ...receipt.anchor, proof } }));
}

const sameNames = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((n, i) => n === b[i]);

/** Issues `receipts` anchored event receipts and times both verifications of each, after `warmup` untimed rounds. */
export async function measureVerifier(
  chain: SimulatedChain,
  options: { receipts: number; warmup: number; log: (line: string) => void },
): Promise<VerifierResult> {
  const { receipts, warmup, log } = options;
  const ledger = await deployFreshLedger(chain);
  const h = await openAnchoringHarness(chain, ledger, 2);
  try {
    await writeGrants(h, receipts);
    const flush = await h.anchoring({ maxRecords: 10_000 }).flushNow();
    if (flush.error !== null || flush.anchored !== 1)
      throw new Error(`anchoring failed: ${flush.error?.code ?? `${flush.anchored} batches`}`);
    const batch = await h.anchors.getBatch(1);
    if (batch === null) throw new Error('the anchored batch is missing');
    const batchRecords = batch.count;

    const jsons: string[] = [];
    for (let seq = 1; seq <= receipts; seq++)
      jsons.push(JSON.stringify(await h.issuer.issueAnchoredReceipt({ chain: 'events', seq })));
    // What a third party holds is the JSON file, so verify parsed copies, not the issuer's objects.
    const held = jsons.map((j) => JSON.parse(j) as unknown);
    const siblings = held.map((r) => (r as { anchor: { proof: unknown[] } }).anchor.proof.length);
    const bytes = jsons.map((j) => Buffer.byteLength(j));
    log(
      `  ${receipts} anchored receipts from a batch of ${batchRecords} records (${Math.min(...siblings)}-${Math.max(...siblings)} siblings), ${Math.min(...bytes)}-${Math.max(...bytes)} bytes`,
    );

    const before = loadavg()[0] ?? 0;
    const offline: number[] = [];
    const full: number[] = [];
    for (let round = -warmup; round < receipts; round++) {
      const receipt = held[(round + receipts) % receipts];
      let start = process.hrtime.bigint();
      const alone = await verifyReceipt(receipt, null);
      const offlineMs = msSince(start);
      start = process.hrtime.bigint();
      const checked = await verifyReceipt(receipt, h.reader);
      const fullMs = msSince(start);
      const failed = alone.checks.filter((c) => !c.ok).map((c) => c.name);
      if (
        !sameNames(failed, CHAIN_CHECKS) ||
        alone.checks.some((c) => !c.ok && c.detail !== 'no chain to check against')
      ) {
        throw new Error(`offline verification failed other checks than the chain ones: ${failed.join(', ')}`);
      }
      if (!checked.ok) throw new Error(`full verification failed: ${checked.failure?.name ?? '?'}`);
      if (round >= 0) {
        offline.push(offlineMs);
        full.push(fullMs);
      }
    }
    return {
      receipts,
      warmup,
      batchRecords,
      proofSiblings: { min: Math.min(...siblings), max: Math.max(...siblings) },
      receiptBytes: { min: Math.min(...bytes), max: Math.max(...bytes) },
      sampleReceiptJson: jsons[0]!,
      offline: summarizeMs(offline),
      full: summarizeMs(full),
      loadAverage: { before, after: loadavg()[0] ?? 0 },
    };
  } finally {
    await h.dispose();
    ledger.admin.close();
  }
}
