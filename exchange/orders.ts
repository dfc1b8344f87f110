// Orders as a service (docs/exchange.md, "Orders"): a buyer places an order under a standing offer of a listed
// listing, for a purpose the package's consent basis allows, and is admitted by the decision point (buyer-admission.ts)
// for every algorithm it buys. The order is on disk and audited before the answer. A buyer token reads its own orders
// only; the seller's side reads them all. Each order shows whether its listing is flagged for a shrunken basis.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import { GatewayError } from '../core/errors.ts';
import { parseRequest } from './parse-request.ts';
import { admitBuyer, type BuyerAdmissionDeps } from './buyer-admission.ts';
import type { ConsentBasisCheck } from './consent-basis-store.ts';
import type { ConsentBases } from './consent-bases.ts';
import type { Listings } from './listings.ts';
import { ALGORITHM_ACTION, OrderRequest, orderTerms, type OrderQuota } from './order.ts';
import type { OrderStore, StoredOrder } from './order-store.ts';
import type { OfferStore } from './offer-store.ts';

export type OrderView = StoredOrder & {
  remaining: OrderQuota;
  /** The listing's flag, when its consent basis has shrunk past the package's threshold since this order's revision. */
  listingFlag: ConsentBasisCheck | null;
};

export type OrderAsker = { tokenId: string; role: string; actor: string };

export type Orders = {
  /**
   * Places an order. BAD_INPUT (malformed, tier or jobs not fitting the terms), NOT_FOUND (no such offer, or its
   * listing not listed), CONFLICT (offer withdrawn or expired, listing or terms changed since accepted, licence
   * ended, package not bound to its data), ALGORITHM_NOT_ALLOWED, CONSENT_DENIED (naming the missing basis).
   */
  place(input: unknown, asker: OrderAsker): Promise<OrderView>;
  /** NOT_FOUND for an unknown order and for another buyer token's. */
  get(orderId: string, asker: OrderAsker): Promise<OrderView>;
  list(asker: OrderAsker, query: { listingId?: string | undefined; limit: number }): Promise<OrderView[]>;
};

export type OrdersOptions = {
  store: OrderStore;
  offers: Pick<OfferStore, 'get'>;
  listings: Pick<Listings, 'get'>;
  bases: Pick<ConsentBases, 'source'>;
  admission: BuyerAdmissionDeps;
  clock: Clock;
  /** The organisation a buyer token acts for: its label, when that is a recipient id; null otherwise. */
  buyerOrganisation(tokenId: string): Promise<string | null>;
  audit(entry: {
    actor: string;
    action: string;
    refs: string[];
    detail: Record<string, string | number | null>;
  }): Promise<void>;
};

export function createOrders(options: OrdersOptions): Orders {
  const { store, clock } = options;

  const viewOf = async (order: StoredOrder): Promise<OrderView> => {
    // The listing as read carries its current revision's flag: no second look-up.
    const listing = await options.listings.get(order.listingId, 'exchange');
    return {
      ...order,
      remaining: {
        jobs: order.quota.jobs - order.used.jobs,
        subjectsTouched: order.quota.subjectsTouched - order.used.subjectsTouched,
      },
      listingFlag: listing.basisFlag,
    };
  };

  const get = async (orderId: string, asker: OrderAsker): Promise<StoredOrder> => {
    const order = await store.get(orderId);
    if (order === null || (asker.role === 'buyer' && order.tokenId !== asker.tokenId))
      throw new GatewayError('NOT_FOUND', 'no such order', { orderId });
    return order;
  };

  return {
    async place(raw, asker) {
      if (asker.role !== 'buyer')
        throw new GatewayError('FORBIDDEN', `a ${asker.role} may not place an order`, { allowedRoles: ['buyer'] });
      const buyer = await options.buyerOrganisation(asker.tokenId);
      if (buyer === null)
        throw new GatewayError(
          'FORBIDDEN',
          "this buyer token names no organisation: its label must be the buyer's recipient id (e.g. battery-maker)",
        );
      const request = parseRequest(OrderRequest, raw, 'an order');
      const offer = await options.offers.get(request.offerId);
      if (offer === null) throw new GatewayError('NOT_FOUND', 'no such offer', { offerId: request.offerId });
      const listing = await options.listings.get(offer.listingId, 'buyer');
      const now = clock.now();
      if (offer.state !== 'active' || Date.parse(offer.validUntil) <= now.getTime())
        throw new GatewayError('CONFLICT', 'the offer no longer stands', { offerId: offer.offerId });
      if (request.accepted.termsHash !== offer.termsHash)
        throw new GatewayError('CONFLICT', "the terms accepted are not the offer's", { termsHash: offer.termsHash });
      if (request.accepted.listingHash !== listing.contentHash)
        throw new GatewayError('CONFLICT', 'the listing changed since it was accepted: read it again', {
          listingHash: listing.contentHash,
        });
      const { content } = listing;
      if (content.licence.endDate < now.toISOString().slice(0, 10))
        throw new GatewayError('CONFLICT', `the licence ended on ${content.licence.endDate}`, {
          endDate: content.licence.endDate,
        });
      const terms = orderTerms(offer.terms, request);
      if (!content.consentBasis.purposes.includes(request.purpose))
        throw new GatewayError('CONSENT_DENIED', `the package's subjects did not consent to ${request.purpose}`, {
          reason: 'PURPOSE_NOT_IN_BASIS',
          purpose: request.purpose,
          missingBasis: `consent of the package's subjects to ${request.purpose}`,
          purposes: content.consentBasis.purposes,
        });
      const algorithms = request.algorithms ?? content.delivery.algorithms;
      const outside = algorithms.filter((a) => !content.delivery.algorithms.includes(a));
      if (outside.length > 0)
        throw new GatewayError('ALGORITHM_NOT_ALLOWED', `the listing does not deliver ${outside.join(', ')}`, {
          algorithms: outside,
          allowed: content.delivery.algorithms,
        });
      const source = await options.bases.source(listing.packageId).catch((error: unknown) => {
        if (error instanceof GatewayError && error.code === 'NOT_FOUND')
          throw new GatewayError('CONFLICT', 'the seller has not bound the package to its data yet', {
            packageId: listing.packageId,
          });
        throw error;
      });
      const admitted = await admitBuyer(options.admission, {
        buyer,
        purpose: request.purpose,
        actions: algorithms.map((a) => ALGORITHM_ACTION[a]),
        source,
        cohortSize: content.consentBasis.subjects,
        actor: asker.actor,
      });
      const order = {
        orderId: randomUUID(),
        listingId: listing.listingId,
        packageId: listing.packageId,
        listingRevision: listing.revision,
        listingHash: listing.contentHash,
        offerId: offer.offerId,
        termsHash: offer.termsHash,
        tier: terms.tier,
        buyer,
        tokenId: asker.tokenId,
        purpose: request.purpose,
        algorithms,
        price: terms.price,
        quota: terms.quota,
        ...admitted,
        createdAt: now.toISOString(),
      };
      await store.insert(order);
      await options.audit({
        actor: asker.actor,
        action: 'order-create',
        refs: [order.orderId, order.listingId, order.offerId],
        detail: {
          buyer,
          purpose: order.purpose,
          packageId: order.packageId,
          listingHash: order.listingHash,
          termsHash: order.termsHash,
          tier: order.tier,
          price: `${order.price.amount} ${order.price.currency}`,
          quotaJobs: order.quota.jobs,
          quotaSubjects: order.quota.subjectsTouched,
          delegationIds: order.delegationIds.join(','),
        },
      });
      return viewOf(await get(order.orderId, asker));
    },
    get: async (orderId, asker) => viewOf(await get(orderId, asker)),
    async list(asker, query) {
      const orders = await store.list({
        ...(asker.role === 'buyer' ? { tokenId: asker.tokenId } : {}),
        ...(query.listingId === undefined ? {} : { listingId: query.listingId }),
        limit: query.limit,
      });
      return Promise.all(orders.map(viewOf));
    },
  };
}
