// An order: a buyer's purchase of the use of a listed package under one offer's terms (docs/exchange.md, "Orders").
// It names the offer (and its tier, or its number of jobs), the purpose the buyer will use the package for, the
// algorithms it buys, and the listing and terms it accepted by their hashes, so a listing or an offer changed after the
// buyer read it is never taken by mistake. The quota it receives comes from the terms. Pure.
import { z } from 'zod';
import { PurposeId } from '../consent/purpose.ts';
import { GatewayError } from '../core/errors.ts';
import { DELIVERY_ALGORITHMS, DeliveryAlgorithm } from './listing.ts';
import type { OfferTerms } from './offer.ts';

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 as 64 lower-case hex digits');

export const OrderRequest = z.strictObject({
  offerId: z.uuid(),
  /** The tier bought, by name: required for a tiered offer, refused otherwise. */
  tier: z.string().min(1).max(48).optional(),
  /** The jobs bought: required for a per-job offer (at most its quota), refused otherwise. */
  jobs: z.int().min(1).max(1_000_000).optional(),
  /** What the buyer will use the package for: one of the purposes its consent basis allows. */
  purpose: PurposeId,
  /** The delivery algorithms bought; default every one the listing allows. */
  algorithms: z.array(DeliveryAlgorithm).min(1).max(DELIVERY_ALGORITHMS.length).optional(),
  /** What the buyer read and accepts: the listing revision's content hash (its licence) and the offer's terms hash. */
  accepted: z.strictObject({ listingHash: Sha256Hex, termsHash: Sha256Hex }),
});
export type OrderRequest = z.infer<typeof OrderRequest>;

export const Money = z.strictObject({ amount: z.number(), currency: z.string() });
export const OrderQuota = z.strictObject({ jobs: z.int(), subjectsTouched: z.int() });
export type OrderQuota = z.infer<typeof OrderQuota>;

/** The Cedar action a delivery algorithm takes on the package's view (consent/default-policy-bundle.ts). */
export const ALGORITHM_ACTION: Readonly<Record<DeliveryAlgorithm, 'aggregate' | 'model'>> = {
  'segment-aggregates': 'aggregate',
  'train-model': 'model',
  'score-own-subjects': 'model',
  'lift-certificate': 'model',
};

/** The price and quota an order under `terms` receives. BAD_INPUT when the tier or job count does not fit the kind. */
export function orderTerms(
  terms: OfferTerms,
  request: Pick<OrderRequest, 'tier' | 'jobs'>,
): { tier: string | null; price: z.infer<typeof Money>; quota: OrderQuota } {
  const bad = (message: string) => new GatewayError('BAD_INPUT', message, { kind: terms.kind });
  if (terms.kind !== 'tiers' && request.tier !== undefined) throw bad(`a ${terms.kind} offer has no tiers`);
  if (terms.kind !== 'per-job' && request.jobs !== undefined)
    throw bad(`a ${terms.kind} offer sells its quota whole: name no job count`);
  switch (terms.kind) {
    case 'fixed':
      return { tier: null, price: terms.price, quota: terms.quota };
    case 'tiers': {
      const tier = terms.tiers.find((t) => t.name === request.tier);
      if (tier === undefined) throw bad(`name one of the tiers: ${terms.tiers.map((t) => t.name).join(', ')}`);
      return { tier: tier.name, price: tier.price, quota: tier.quota };
    }
    case 'per-job': {
      if (request.jobs === undefined) throw bad('a per-job offer needs the number of jobs bought');
      if (request.jobs > terms.quota.jobs) throw bad(`a per-job offer sells at most ${terms.quota.jobs} jobs`);
      return {
        tier: null,
        price: { amount: terms.pricePerJob.amount * request.jobs, currency: terms.pricePerJob.currency },
        quota: { jobs: request.jobs, subjectsTouched: terms.quota.subjectsTouched },
      };
    }
  }
}
