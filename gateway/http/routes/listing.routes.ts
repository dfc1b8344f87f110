// Listings over HTTP (docs/exchange.md): a seller's data steward writes and submits, the exchange reviews, approves,
// suspends and reinstates, either delists; buyers read listed ones only. Every step answers once it is on disk and
// audited; an approval also anchors the listed revision in the package registry.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PurposeId } from '../../../consent/purpose.ts';
import { ListingContent, ListingState, ListingStep } from '../../../exchange/listing.ts';
import { ListingHistoryEntry, ListingRevision, ListingRow } from '../../../exchange/listing-store.ts';
import type { ListingActor } from '../../../exchange/listings.ts';
import { ConsentBasisCheck } from '../../../exchange/consent-basis-store.ts';
import { listingAsDcat } from '../../../exchange/dcat.ts';
import type { GatewayContext } from '../../services/context.ts';
import { actorOf, askerOf } from './request-actor.ts';

const SELLER = { roles: ['data-steward'] } as const;
const STEPPERS = { roles: ['data-steward', 'exchange'] } as const;
const READERS = { roles: ['data-steward', 'exchange', 'compliance-officer', 'admin', 'buyer'] } as const;

const ListingParams = z.strictObject({ id: z.uuid() });
const StepParams = z.strictObject({ id: z.uuid(), step: ListingStep });
const StepBody = z.strictObject({ reason: z.string().min(1).max(500).optional() }).default({});
const ListQuery = z.strictObject({
  state: ListingState.optional(),
  dimension: z.string().min(1).max(48).optional(),
  purpose: PurposeId.optional(),
  exclusivity: z.enum(['exclusive', 'non-exclusive']).optional(),
  territory: z.string().min(1).max(64).optional(),
  maxPrice: z.coerce.number().min(0).optional(),
  minSubjects: z.coerce.number().int().min(0).optional(),
  after: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const ListingView = ListingRow.extend({
  content: ListingContent,
  contentHash: z.string(),
  anchorError: z.string().nullable().optional(),
  basisFlag: ConsentBasisCheck.nullable(),
});
const ListingPage = z.object({ listings: z.array(ListingView), next: z.uuid().nullable() });

const listingActorOf = (request: FastifyRequest): ListingActor => ({
  id: actorOf(request),
  role: askerOf(request).role,
});

export function registerListingRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['exchange'];
  const listings = ctx.listings;

  api.post(
    '/v1/listings',
    {
      config: SELLER,
      bodyLimit: 512 * 1024,
      schema: {
        summary: 'Write a listing of a data package as a draft (revision 1)',
        tags,
        body: z.unknown(),
        response: { 201: ListingView },
      },
    },
    async (request, reply) => reply.code(201).send(await listings.create(request.body, listingActorOf(request))),
  );

  api.get(
    '/v1/listings',
    {
      config: READERS,
      schema: {
        summary:
          'Listings, oldest first, filtered by dimension, purpose, licence, price and coverage; page with `after` (a buyer sees listed ones only)',
        tags,
        querystring: ListQuery,
        response: { 200: ListingPage },
      },
    },
    async (request) => {
      const { state, after, limit, ...filters } = request.query;
      return listings.list(
        { ...(state === undefined ? {} : { states: [state] }), after: after ?? null, limit, filters },
        askerOf(request).role,
      );
    },
  );

  api.get(
    '/v1/listings/:id',
    {
      config: READERS,
      schema: {
        summary: 'A listing at its current revision',
        tags,
        params: ListingParams,
        response: { 200: ListingView },
      },
    },
    async (request) => listings.get(request.params.id, askerOf(request).role),
  );

  api.put(
    '/v1/listings/:id',
    {
      config: SELLER,
      bodyLimit: 512 * 1024,
      schema: {
        summary: 'Revise a draft or suspended listing: a new revision (a suspended listing returns to draft)',
        tags,
        params: ListingParams,
        body: z.unknown(),
        response: { 200: ListingView },
      },
    },
    async (request) => listings.revise(request.params.id, request.body, listingActorOf(request)),
  );

  api.post(
    '/v1/listings/:id/:step',
    {
      config: STEPPERS,
      schema: {
        summary:
          'A lifecycle step: submit (seller), approve, reject, reinstate (exchange), suspend, delist (either); approve anchors the listed revision',
        tags,
        params: StepParams,
        body: StepBody,
        response: { 200: ListingView },
      },
    },
    async (request) =>
      listings.step(request.params.id, request.params.step, listingActorOf(request), request.body.reason ?? null),
  );

  api.get(
    '/v1/listings/:id/revisions',
    {
      config: READERS,
      schema: {
        summary: "Every revision of a listing's content, with its hash",
        tags,
        params: ListingParams,
        response: { 200: z.object({ revisions: z.array(ListingRevision) }) },
      },
    },
    async (request) => ({ revisions: await listings.revisions(request.params.id, askerOf(request).role) }),
  );

  api.get(
    '/v1/listings/:id/history',
    {
      config: READERS,
      schema: {
        summary: 'Every step of a listing: who took it, when, from which state to which',
        tags,
        params: ListingParams,
        response: { 200: z.object({ history: z.array(ListingHistoryEntry) }) },
      },
    },
    async (request) => ({ history: await listings.history(request.params.id, askerOf(request).role) }),
  );

  api.get(
    '/v1/listings/:id/check',
    {
      config: READERS,
      schema: {
        summary:
          "Hash the anchored revision again and compare it and its consent root with the package registry's current revision",
        tags,
        params: ListingParams,
        response: {
          200: z.object({
            listingId: z.string(),
            anchoredRevision: z.number().int().nullable(),
            isIntact: z.boolean().nullable(),
            isCurrentOnChain: z.boolean().nullable(),
            detail: z.string(),
          }),
        },
      },
    },
    async (request) => listings.check(request.params.id, askerOf(request).role),
  );

  api.get(
    '/v1/listings/:id/dcat',
    {
      config: READERS,
      schema: {
        summary: 'A listing as a DCAT-AP 3 dataset description (JSON-LD, inline context), for catalogue exchange',
        tags,
        params: ListingParams,
        response: { 200: z.record(z.string(), z.unknown()) },
      },
    },
    async (request, reply) => {
      const view = await listings.get(request.params.id, askerOf(request).role);
      const baseUrl = `${request.protocol}://${request.host}`;
      const document = listingAsDcat(view, { publisher: ctx.config.partyId, baseUrl });
      return reply.type('application/ld+json').send(document);
    },
  );
}
