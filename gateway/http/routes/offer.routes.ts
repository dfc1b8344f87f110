// Offers over HTTP (docs/exchange.md, "Offers"): the seller's data steward puts terms on a listing or withdraws them;
// readers of the listing read its offers, a buyer only the standing ones of a listed listing.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { StoredOffer } from '../../../exchange/offer-store.ts';
import type { GatewayContext } from '../../services/context.ts';
import { actorOf, askerOf } from './request-actor.ts';

const SELLER = { roles: ['data-steward'] } as const;
const READERS = { roles: ['data-steward', 'exchange', 'compliance-officer', 'admin', 'buyer'] } as const;

export function registerOfferRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['exchange'];
  const offers = ctx.offers;
  const who = (request: Parameters<typeof actorOf>[0]) => ({ id: actorOf(request), role: askerOf(request).role });

  api.post(
    '/v1/listings/:id/offers',
    {
      config: SELLER,
      bodyLimit: 64 * 1024,
      schema: {
        summary: 'Put terms on a listing: a fixed price, tiers by jobs, or a price per job, each with its quota',
        tags,
        params: z.strictObject({ id: z.uuid() }),
        body: z.unknown(),
        response: { 201: StoredOffer },
      },
    },
    async (request, reply) => reply.code(201).send(await offers.create(request.params.id, request.body, who(request))),
  );

  api.get(
    '/v1/listings/:id/offers',
    {
      config: READERS,
      schema: {
        summary: "A listing's offers (a buyer: the standing ones of a listed listing)",
        tags,
        params: z.strictObject({ id: z.uuid() }),
        response: { 200: z.object({ offers: z.array(StoredOffer) }) },
      },
    },
    async (request) => ({ offers: await offers.ofListing(request.params.id, askerOf(request).role) }),
  );

  api.post(
    '/v1/offers/:offerId/withdraw',
    {
      config: SELLER,
      schema: {
        summary: 'Withdraw an offer: no order can be placed under it any more',
        tags,
        params: z.strictObject({ offerId: z.uuid() }),
        response: { 200: StoredOffer },
      },
    },
    async (request) => offers.withdraw(request.params.offerId, who(request)),
  );
}
