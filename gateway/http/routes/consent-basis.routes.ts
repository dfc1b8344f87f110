// Package sources and consent bases over HTTP (docs/exchange.md, "Consent basis"): the data steward binds a package to
// the view its rows live in and computes its basis for a listing; the seller's side and the exchange check a listing's
// basis again (flagging and revaluing it when it has shrunk past the package's threshold); whoever reads a listing
// reads the history of its checks.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PurposeId } from '../../../consent/purpose.ts';
import { ConsentBasisSummary } from '../../../exchange/consent-basis.ts';
import { ConsentBasisCheck } from '../../../exchange/consent-basis-store.ts';
import { PackageSource } from '../../../exchange/package-source.ts';
import { PackageId } from '../../../valuation/valuation-input.ts';
import type { GatewayContext } from '../../services/context.ts';
import { actorOf, askerOf } from './request-actor.ts';

const SELLER = { roles: ['data-steward'] } as const;
const CHECKERS = { roles: ['data-steward', 'exchange', 'compliance-officer'] } as const;
const READERS = { roles: ['data-steward', 'exchange', 'compliance-officer', 'admin', 'buyer'] } as const;

const PackageParams = z.strictObject({ packageId: PackageId });
const ListingParams = z.strictObject({ id: z.uuid() });

export function registerConsentBasisRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['exchange'];
  const bases = ctx.consentBases;

  api.put(
    '/v1/packages/:packageId/source',
    {
      config: SELLER,
      bodyLimit: 16 * 1024,
      schema: {
        summary:
          "Bind a package to the connector view its rows live in, the fields deliveries may read, and its basis's shrink threshold",
        tags,
        params: PackageParams,
        body: z.unknown(),
        response: { 200: PackageSource },
      },
    },
    async (request) => bases.bindSource(request.params.packageId, request.body, actorOf(request)),
  );

  api.get(
    '/v1/packages/:packageId/source',
    {
      config: SELLER,
      schema: { summary: "A package's source", tags, params: PackageParams, response: { 200: PackageSource } },
    },
    async (request) => bases.source(request.params.packageId),
  );

  api.get(
    '/v1/packages/:packageId/consent-basis',
    {
      config: SELLER,
      schema: {
        summary:
          "A package's consent basis now, for the purposes named (all of the catalogue's when none is): what a listing states",
        tags,
        params: PackageParams,
        querystring: z.strictObject({
          purpose: z.union([PurposeId, z.array(PurposeId).min(1).max(16)]).optional(),
        }),
        response: { 200: ConsentBasisSummary.extend({ purposes: z.array(PurposeId) }) },
      },
    },
    async (request) => {
      const named = request.query.purpose;
      const purposes = named === undefined ? Object.keys(ctx.policies.bundle.purposes) : [named].flat();
      return { ...(await bases.compute(request.params.packageId, purposes)), purposes };
    },
  );

  api.post(
    '/v1/listings/:id/consent-basis',
    {
      config: CHECKERS,
      schema: {
        summary: "Check a listing's consent basis again: flags and revalues it when it has shrunk past its threshold",
        tags,
        params: ListingParams,
        response: { 200: ConsentBasisCheck },
      },
    },
    async (request) => bases.check(request.params.id, 'refresh', { id: actorOf(request), role: askerOf(request).role }),
  );

  api.get(
    '/v1/listings/:id/consent-basis',
    {
      config: READERS,
      schema: {
        summary: "The checks of a listing's consent basis, newest first",
        tags,
        params: ListingParams,
        querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(200).default(50) }),
        response: { 200: z.object({ checks: z.array(ConsentBasisCheck) }) },
      },
    },
    async (request) => ({
      checks: await bases.history(request.params.id, askerOf(request).role, request.query.limit),
    }),
  );
}
