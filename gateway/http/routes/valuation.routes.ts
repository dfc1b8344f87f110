// Data-package valuations over HTTP (docs/valuation.md, "Storing and anchoring"): create one from a ValuationInput,
// read it (JSON), list a package's valuations, and check a stored report against the package registry. Creating is
// audited; the answer comes once the valuation is on disk, with its anchor or the reason it has none yet.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { GatewayError } from '../../../core/errors.ts';
import { ValuationAnchor } from '../../../exchange/valuation-store.ts';
import { PackageId, ValuationInput } from '../../../valuation/valuation-input.ts';
import { ValuationReport } from '../../../valuation/valuation-report.ts';
import type { GatewayContext } from '../../services/context.ts';
import { renderValuationReportHtml } from '../../services/valuation-report-html.ts';
import { actorOf } from './request-actor.ts';

const WRITE = { roles: ['data-steward', 'admin'] } as const;
const READ = { roles: ['data-steward', 'compliance-officer', 'admin'] } as const;

const ValuationIdParams = z.strictObject({ id: z.uuid() });
const PackageParams = z.strictObject({ packageId: PackageId });
const FormatQuery = z.strictObject({ format: z.enum(['json', 'html']).default('json') });
const ListQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(50) });

const ValuationSummary = z.object({
  valuationId: z.string(),
  packageId: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  inputHash: z.string(),
  reportHash: z.string(),
  anchor: ValuationAnchor.nullable(),
});
const ValuationCreated = ValuationSummary.extend({ report: ValuationReport, anchorError: z.string().nullable() });
const StoredValuation = ValuationSummary.extend({ input: ValuationInput, report: ValuationReport });
const ValuationCheck = z.object({
  valuationId: z.string(),
  isIntact: z.boolean(),
  isCurrentOnChain: z.boolean().nullable(),
  onChainRevision: z.number().int().nullable(),
  detail: z.string(),
});

export function registerValuationRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['valuations'];

  api.post(
    '/v1/valuations',
    {
      config: WRITE,
      // The input is checked by valuate() with every path at fault named; a body limit bounds it.
      bodyLimit: 1024 * 1024,
      schema: {
        summary:
          'Value a data package: forecast-utility DCF with a seeded Monte Carlo, tornado, Shapley attribution, collateral and cross-checks; the report hash is anchored in the package registry',
        tags,
        body: z.unknown(),
        response: { 201: ValuationCreated },
      },
    },
    async (request, reply) => reply.code(201).send(await ctx.valuations.create(request.body, actorOf(request))),
  );

  api.get(
    '/v1/valuations/:id',
    {
      config: READ,
      schema: {
        summary:
          'A stored valuation: its input, report, hashes and anchor; format=html for the report as a page with its charts (offline, no external assets)',
        tags,
        params: ValuationIdParams,
        querystring: FormatQuery,
        response: { 200: z.union([StoredValuation, z.string()]) },
      },
    },
    async (request, reply) => {
      const stored = StoredValuation.parse(await ctx.valuations.get(request.params.id));
      if (request.query.format === 'json') return stored;
      const html = await renderValuationReportHtml(stored.report, {
        valuationId: stored.valuationId,
        reportHash: stored.reportHash,
        anchor: stored.anchor,
      });
      return reply
        .type('text/html; charset=utf-8')
        .serializer((payload) => payload as string)
        .send(html);
    },
  );

  api.get(
    '/v1/valuations/:id/check',
    {
      config: READ,
      schema: {
        summary: "Recompute a stored report's hash and compare it with the package registry's current revision",
        tags,
        params: ValuationIdParams,
        response: { 200: ValuationCheck },
      },
    },
    async (request) => ctx.valuations.check(request.params.id),
  );

  api.get(
    '/v1/packages/:packageId/valuations',
    {
      config: READ,
      schema: {
        summary: "A package's valuations, newest first (NOT_FOUND when this gateway never valued it)",
        tags,
        params: PackageParams,
        querystring: ListQuery,
        response: { 200: z.object({ valuations: z.array(ValuationSummary) }) },
      },
    },
    async (request) => {
      const valuations = await ctx.valuations.list(request.params.packageId, request.query.limit);
      // A package is known here through its valuations: none means this gateway never valued it.
      if (valuations.length === 0)
        throw new GatewayError('NOT_FOUND', 'no valuation of this package', { packageId: request.params.packageId });
      return { valuations };
    },
  );
}
