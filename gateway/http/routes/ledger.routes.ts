// Proofs for compliance officers: receipts with Merkle proofs per consent record, a subject's whole
// authorization chain with per-link verification, the audit report (JSON or HTML) and anchoring status.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Receipt } from '../../../consent/receipt.ts';
import { StatusProofDocument } from '../../../consent/status-proof.ts';
import { RecordId } from '../../../consent/record.ts';
import { GatewayError } from '../../../core/errors.ts';
import { AnchorBatch } from '../../../consent/anchor-store.ts';
import { KeyId } from '../../identity/identity.ts';
import { buildAuditReport, subjectAuthorizationChain } from '../../services/audit-report.ts';
import { renderAuditReportHtml } from '../../services/audit-report-html.ts';
import type { GatewayContext } from '../../services/context.ts';
import { RecordIdParams, SubjectParams } from './consent-schemas.ts';

const PROOF_READERS = { roles: ['collector', 'data-steward', 'compliance-officer', 'admin'] } as const;
const OFFICERS = { roles: ['compliance-officer', 'admin'] } as const;

const ChainLink = z.object({
  kind: z.enum(['consent-event', 'delegation-event', 'use']),
  type: z.string(),
  recordId: z.string(),
  seq: z.number().int(),
  chain: z.enum(['events', 'audit']),
  at: z.string(),
  hash: z.string(),
  anchor: z.enum(['anchored', 'pending']),
  isVerified: z.boolean(),
  failedCheck: z.string().nullable(),
  detail: z.string().nullable(),
  receipt: Receipt,
});
const AuthorizationChain = z.object({
  subject: z.string(),
  links: z.array(ChainLink),
  summary: z.object({
    links: z.number().int(),
    anchored: z.number().int(),
    pending: z.number().int(),
    broken: z.number().int(),
  }),
});
const ProofResponse = z.object({ recordId: RecordId, receipts: z.array(Receipt) });
const ReportQuery = z.strictObject({
  format: z.enum(['json', 'html']).default('json'),
  subject: SubjectParams.shape.subject.optional(),
});
const AuditReport = z.object({
  generatedAt: z.string(),
  gateway: z.object({ partyId: z.string(), publicKey: z.string(), keyId: KeyId, evmAddress: z.string() }),
  ledger: z.object({ mode: z.string(), chainId: z.number().int().nullable(), anchorContract: z.string().nullable() }),
  verification: z.record(z.string(), z.unknown()),
  anchoring: z.object({
    state: z.enum(['ok', 'degraded']),
    reason: z.string().nullable(),
    pendingRecords: z.number().int(),
  }),
  batches: z.array(AnchorBatch),
  subjectChain: AuthorizationChain.nullable(),
});
const LedgerStatus = z.object({
  mode: z.string(),
  chainId: z.number().int().nullable(),
  /** The embedded chain's loopback JSON-RPC URL (for `npm run verify`); null for an external chain. */
  rpcUrl: z.string().nullable(),
  contracts: z.object({ registry: z.string(), anchor: z.string(), packages: z.string() }).nullable(),
  state: z.enum(['ok', 'degraded']),
  reason: z.string().nullable(),
  pendingRecords: z.number().int(),
  builtBatches: z.number().int(),
});

export function registerLedgerRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['proofs'];

  api.get(
    '/v1/consents/:id/proof',
    {
      config: PROOF_READERS,
      schema: {
        summary:
          'Signed receipts for every event of a consent record, with Merkle proof and anchor once anchored (verify offline with npm run verify)',
        tags,
        params: RecordIdParams,
        response: { 200: ProofResponse },
      },
    },
    async (request) => {
      const { events } = await ctx.consent.getRecord(request.params.id);
      const receipts = [];
      for (const e of events) receipts.push(await ctx.ledger.receipts.issueReceipt({ chain: 'events', seq: e.seq }));
      return { recordId: request.params.id, receipts };
    },
  );

  api.get(
    '/v1/consents/:id/status-proof',
    {
      config: PROOF_READERS,
      schema: {
        summary:
          "A consent or delegation record's last event as of the latest anchored batch, with its path to the batch's status root (verify with npm run verify -- --status)",
        tags,
        params: RecordIdParams,
        response: { 200: StatusProofDocument },
      },
    },
    async (request) => {
      const { id } = request.params;
      // Known as a consent record or as a delegation: a status proof covers both kinds.
      const isKnown = async (): Promise<boolean> => {
        const found = async (read: () => Promise<unknown>): Promise<boolean> =>
          read().then(
            () => true,
            (error: unknown) => {
              if (error instanceof GatewayError && error.code === 'NOT_FOUND') return false;
              throw error;
            },
          );
        return (await found(() => ctx.consent.getRecord(id))) || found(() => ctx.consent.getDelegation(id));
      };
      return ctx.ledger.statusProofs.proveStatus(id, isKnown);
    },
  );

  api.get(
    '/v1/subjects/:subject/chain',
    {
      config: OFFICERS,
      schema: {
        summary:
          "A subject's authorization chain: grants, delegations, withdrawals and uses, each with anchor status and verification",
        tags,
        params: SubjectParams,
        response: { 200: AuthorizationChain },
      },
    },
    async (request) => subjectAuthorizationChain(ctx, request.params.subject),
  );

  api.get(
    '/v1/audit/report',
    {
      config: OFFICERS,
      schema: {
        summary:
          'Audit report: chain verification, anchoring, batches and optionally one subject chain; format=html for a readable page',
        tags,
        querystring: ReportQuery,
        response: { 200: z.union([AuditReport, z.string()]) },
      },
    },
    async (request, reply) => {
      const report = await buildAuditReport(
        ctx,
        request.query.subject === undefined ? {} : { subject: request.query.subject },
      );
      if (request.query.format === 'html') {
        return reply
          .type('text/html; charset=utf-8')
          .serializer((payload) => payload as string)
          .send(renderAuditReportHtml(report));
      }
      return report;
    },
  );

  api.get(
    '/v1/ledger/status',
    {
      config: OFFICERS,
      schema: {
        summary: 'Where this gateway anchors, and how far behind anchoring is',
        tags,
        response: { 200: LedgerStatus },
      },
    },
    async () => {
      const { ledger, anchoring } = ctx.ledger;
      const status = anchoring?.status();
      return {
        mode: ctx.config.ledger.mode,
        chainId: ledger?.chainId ?? null,
        rpcUrl: ledger?.localChain ? ledger.rpcUrl : null,
        contracts:
          ledger === null
            ? null
            : {
                registry: ledger.addresses.registry,
                anchor: ledger.addresses.anchor,
                packages: ledger.addresses.packages,
              },
        state: status?.state ?? 'degraded',
        reason: status === undefined ? 'LEDGER_OFF: anchoring is disabled' : status.reason,
        pendingRecords: status?.pendingRecords ?? 0,
        builtBatches: status?.builtBatches ?? 0,
      };
    },
  );
}
