// Offers as a service (docs/exchange.md, "Offers"): the seller's data steward puts terms on a listing that is not
// delisted, or withdraws them; whoever may read the listing reads its offers (a buyer: of listed listings only, and
// only those still standing). Every change is audited.
import { randomUUID } from 'node:crypto';
import { canonicalHash } from '../consent/canonical.ts';
import type { Clock } from '../core/clock.ts';
import { GatewayError } from '../core/errors.ts';
import { parseRequest } from './parse-request.ts';
import type { Listings } from './listings.ts';
import { OfferInput } from './offer.ts';
import type { OfferStore, StoredOffer } from './offer-store.ts';

export type Offers = {
  /** BAD_INPUT for malformed terms, CONFLICT for a delisted listing or a validity already past. */
  create(listingId: string, input: unknown, actor: { id: string; role: string }): Promise<StoredOffer>;
  withdraw(offerId: string, actor: { id: string; role: string }): Promise<StoredOffer>;
  /** A listing's offers; a buyer sees the active ones still valid. NOT_FOUND as for the listing. */
  ofListing(listingId: string, viewerRole: string): Promise<StoredOffer[]>;
};

export type OffersOptions = {
  store: OfferStore;
  listings: Pick<Listings, 'get'>;
  clock: Clock;
  audit(entry: { actor: string; action: string; refs: string[]; detail: Record<string, string | null> }): Promise<void>;
};

export function createOffers(options: OffersOptions): Offers {
  const { store, listings, clock } = options;
  const find = async (offerId: string): Promise<StoredOffer> => {
    const offer = await store.get(offerId);
    if (offer === null) throw new GatewayError('NOT_FOUND', 'no such offer', { offerId });
    return offer;
  };
  return {
    async create(listingId, raw, actor) {
      const listing = await listings.get(listingId, actor.role);
      const input = parseRequest(OfferInput, raw, 'an offer');
      const now = clock.now();
      if (listing.state === 'delisted')
        throw new GatewayError('CONFLICT', 'a delisted listing takes no offer', { listingId });
      if (Date.parse(input.validUntil) <= now.getTime())
        throw new GatewayError('CONFLICT', 'the offer would be valid until a time already past', {
          validUntil: input.validUntil,
        });
      const offer = {
        offerId: randomUUID(),
        listingId,
        terms: input.terms,
        termsHash: canonicalHash(input.terms),
        validUntil: new Date(input.validUntil).toISOString(),
        createdAt: now.toISOString(),
        createdBy: actor.id,
      };
      await store.insert(offer);
      await options.audit({
        actor: actor.id,
        action: 'offer-create',
        refs: [offer.offerId, listingId],
        detail: { kind: offer.terms.kind, termsHash: offer.termsHash, validUntil: offer.validUntil },
      });
      return find(offer.offerId);
    },
    async withdraw(offerId, actor) {
      const offer = await find(offerId);
      await listings.get(offer.listingId, actor.role);
      await store.withdraw(offerId, clock.now().toISOString());
      await options.audit({
        actor: actor.id,
        action: 'offer-withdraw',
        refs: [offerId, offer.listingId],
        detail: { termsHash: offer.termsHash },
      });
      return find(offerId);
    },
    async ofListing(listingId, viewerRole) {
      await listings.get(listingId, viewerRole);
      const offers = await store.byListing(listingId);
      if (viewerRole !== 'buyer') return offers;
      const now = clock.now().getTime();
      return offers.filter((o) => o.state === 'active' && Date.parse(o.validUntil) > now);
    },
  };
}
