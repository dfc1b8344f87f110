// Orders and their deliveries over HTTP (docs/exchange.md, "Orders" and "Deliveries"): a buyer places an order under an
// offer and runs compute-to-data deliveries under it; a buyer token sees its own orders only, the seller's side all of
// them. A compliance officer reads the consent records each delivery relied on.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ConsentBasisCheck } from '../../../exchange/consent-basis-store.ts';
import { StoredDelivery } from '../../../exchange/delivery-store.ts';
import { OrderQuota } from '../../../exchange/order.ts';
import { StoredOrder } from '../../../exchange/order-store.ts';
import type { OrderAsker } from '../../../exchange/orders.ts';
import type { GatewayContext } from '../../services/context.ts';
import { actorOf, askerOf } from './request-actor.ts';

const BUYER = { roles: ['buyer'] } as const;
const READERS = { roles: ['buyer', 'data-steward', 'exchange', 'compliance-officer', 'admin'] } as const;
const AUDITORS = { roles: ['compliance-officer', 'admin', 'data-steward'] } as const;

const OrderView = StoredOrder.extend({ remaining: OrderQuota, listingFlag: ConsentBasisCheck.nullable() });
const OrderParams = z.strictObject({ orderId: z.uuid() });
const DeliveryParams = z.strictObject({ deliveryId: z.uuid() });
const Limit = z.coerce.number().int().min(1).max(200).default(50);

const orderAsker = (request: FastifyRequest): OrderAsker => ({ ...askerOf(request), actor: actorOf(request) });

export function registerOrderRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['exchange'];
  const { orders, deliveries } = ctx;

  api.post(
    '/v1/orders',
    {
      config: BUYER,
      bodyLimit: 16 * 1024,
      schema: {
        summary:
          'Place an order under an offer: a purpose the consent basis allows, the algorithms bought, the listing and terms accepted by hash',
        tags,
        body: z.unknown(),
        response: { 201: OrderView },
      },
    },
    async (request, reply) => reply.code(201).send(await orders.place(request.body, orderAsker(request))),
  );

  api.get(
    '/v1/orders',
    {
      config: READERS,
      schema: {
        summary: 'Orders, oldest first (a buyer token: its own)',
        tags,
        querystring: z.strictObject({ listingId: z.uuid().optional(), limit: Limit }),
        response: { 200: z.object({ orders: z.array(OrderView) }) },
      },
    },
    async (request) => ({
      orders: await orders.list(orderAsker(request), {
        listingId: request.query.listingId,
        limit: request.query.limit,
      }),
    }),
  );

  api.get(
    '/v1/orders/:orderId',
    {
      config: READERS,
      schema: {
        summary: "An order with what is left of its quota and its listing's flag",
        tags,
        params: OrderParams,
        response: { 200: OrderView },
      },
    },
    async (request) => orders.get(request.params.orderId, orderAsker(request)),
  );

  api.post(
    '/v1/orders/:orderId/deliveries',
    {
      config: BUYER,
      bodyLimit: 1024 * 1024,
      schema: {
        summary:
          'Start a compute-to-data delivery: an algorithm the order bought, run where the data lives; the result passes the output check',
        tags,
        params: OrderParams,
        body: z.unknown(),
        response: { 202: StoredDelivery },
      },
    },
    async (request, reply) =>
      reply.code(202).send(await deliveries.start(request.params.orderId, request.body, orderAsker(request))),
  );

  api.get(
    '/v1/orders/:orderId/deliveries',
    {
      config: READERS,
      schema: {
        summary: "An order's deliveries, oldest first",
        tags,
        params: OrderParams,
        querystring: z.strictObject({ limit: Limit }),
        response: { 200: z.object({ deliveries: z.array(StoredDelivery) }) },
      },
    },
    async (request) => ({
      deliveries: await deliveries.byOrder(request.params.orderId, orderAsker(request), request.query.limit),
    }),
  );

  api.get(
    '/v1/deliveries/:deliveryId',
    {
      config: READERS,
      schema: {
        summary: 'A delivery: its state, the subjects and consent basis it used, and its result or refusal',
        tags,
        params: DeliveryParams,
        response: { 200: StoredDelivery },
      },
    },
    async (request) => deliveries.get(request.params.deliveryId, orderAsker(request)),
  );

  api.get(
    '/v1/deliveries/:deliveryId/consents',
    {
      config: AUDITORS,
      schema: {
        summary: 'The consent records a delivery read its rows under, by record id, with their event hashes',
        tags,
        params: DeliveryParams,
        querystring: z.strictObject({
          after: z.uuid().optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(200),
        }),
        response: {
          200: z.object({
            records: z.array(z.object({ recordId: z.string(), subject: z.string(), eventHash: z.string() })),
            next: z.string().nullable(),
          }),
        },
      },
    },
    async (request) => {
      const { limit } = request.query;
      const records = await deliveries.consents(request.params.deliveryId, request.query.after ?? null, limit);
      return { records, next: records.length === limit ? (records[records.length - 1]?.recordId ?? null) : null };
    },
  );

  // Deliveries a stop interrupted run again once the gateway listens (their consent filter runs again too).
  app.addHook('onListen', async () => {
    void deliveries
      .recover()
      .catch((error: unknown) => app.log.error({ err: error }, 'could not recover interrupted deliveries'));
  });
}
