// The compliance audit report: chain verification recomputed from disk, anchoring state and batches,
// and optionally one subject's verified authorization chain. The JSON form is the report; the HTML
// form (audit-report-html.ts) renders the same object.
import { buildAuthorizationChain, type AuthorizationChain } from '../../consent/authorization-chain.ts';
import type { AnchorBatch } from '../../consent/anchor-store.ts';
import type { AnchoringStatus } from '../../consent/anchoring.ts';
import type { ChainVerification } from '../../consent/consent-store.ts';
import type { LogEvent } from '../../consent/event.ts';
import { verifyReceipt } from '../../consent/receipt-verifier.ts';
import type { GatewayContext } from './context.ts';

export type AuditReport = {
  generatedAt: string;
  /** keyId is keyIdOf(publicKey), the id this gateway's receipts and consent events carry. */
  gateway: { partyId: string; publicKey: string; keyId: string; evmAddress: string };
  ledger: { mode: string; chainId: number | null; anchorContract: string | null };
  verification: ChainVerification;
  anchoring: Pick<AnchoringStatus, 'state' | 'reason' | 'pendingRecords'>;
  batches: AnchorBatch[];
  subjectChain: AuthorizationChain | null;
};

const MAX_USES = 1000;

/** One subject's chain: its consent events, the delegations its uses relied on, and those uses. */
export async function subjectAuthorizationChain(ctx: GatewayContext, subject: string): Promise<AuthorizationChain> {
  const records = await ctx.consent.subjectHistory(subject);
  const consentEvents = records.flatMap((r) => r.events);
  const uses = (
    await Promise.all(
      records.map((r) => ctx.consent.listAudit({ ref: r.record.recordId, kind: 'decision', limit: MAX_USES })),
    )
  ).flat();
  const delegationIds = new Set(
    uses.flatMap((u) => u.refs).filter((id) => !records.some((r) => r.record.recordId === id)),
  );
  const delegationEvents: LogEvent[] = [];
  for (const id of delegationIds) {
    try {
      delegationEvents.push(...(await ctx.consent.getDelegation(id)).events);
    } catch {
      // A ref that is not a delegation (e.g. another record id) is simply not a delegation link.
    }
  }
  const { receipts, chainReader } = ctx.ledger;
  return buildAuthorizationChain(subject, {
    consentEvents,
    delegationEvents,
    uses: [...new Map(uses.map((u) => [u.seq, u])).values()],
    issue: (ref) => receipts.issueReceipt(ref),
    verify: (receipt) => verifyReceipt(receipt, chainReader),
  });
}

export async function buildAuditReport(
  ctx: GatewayContext,
  options: { subject?: string; batchLimit?: number } = {},
): Promise<AuditReport> {
  const { ledger, anchors, anchoring } = ctx.ledger;
  const status = anchoring?.status();
  return {
    generatedAt: ctx.clock.now().toISOString(),
    gateway: {
      partyId: ctx.identity.partyId,
      publicKey: Buffer.from(ctx.identity.ed25519.publicKeyRaw).toString('hex'),
      keyId: ctx.identity.ed25519.keyId,
      evmAddress: ctx.identity.evm.address,
    },
    ledger: {
      mode: ctx.config.ledger.mode,
      chainId: ledger?.chainId ?? null,
      anchorContract: ledger?.addresses.anchor ?? null,
    },
    verification: await ctx.consent.verify(),
    anchoring:
      status === undefined
        ? { state: 'degraded', reason: 'LEDGER_OFF: anchoring is disabled', pendingRecords: 0 }
        : { state: status.state, reason: status.reason, pendingRecords: status.pendingRecords },
    batches: await anchors.listBatches(0, options.batchLimit ?? 500),
    subjectChain: options.subject === undefined ? null : await subjectAuthorizationChain(ctx, options.subject),
  };
}
