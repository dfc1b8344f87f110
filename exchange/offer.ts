// An offer: the terms on which a listing's package is sold (docs/exchange.md, "Offers"). A fixed price for the
// licence term, price tiers by the number of delivery jobs, or a price per delivery job; each with the quota an order
// under it receives. Pure.
import { z } from 'zod';

const Money = z.strictObject({
  amount: z.number().min(0).max(1e15),
  currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as CNY'),
});

/** What an order under the offer may use: delivery jobs, and subjects touched over all of them. */
export const Quota = z.strictObject({
  jobs: z.int().min(1).max(1_000_000),
  subjectsTouched: z.int().min(1).max(1_000_000_000),
});

export const OfferTerms = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('fixed'), price: Money, quota: Quota }),
  z
    .strictObject({
      kind: z.literal('tiers'),
      /** Ascending by jobs: an order buys one tier. */
      tiers: z
        .array(z.strictObject({ name: z.string().min(1).max(48), price: Money, quota: Quota }))
        .min(2)
        .max(10),
    })
    .refine(
      (t) => t.tiers.every((tier, i) => i === 0 || tier.quota.jobs > (t.tiers[i - 1] as typeof tier).quota.jobs),
      {
        message: 'tiers must grow in jobs',
        path: ['tiers'],
      },
    )
    .refine((t) => new Set(t.tiers.map((tier) => tier.price.currency)).size === 1, {
      message: 'one currency across the tiers',
      path: ['tiers'],
    }),
  z.strictObject({
    kind: z.literal('per-job'),
    pricePerJob: Money,
    /** The most jobs one order may buy, and the subjects they may touch. */
    quota: Quota,
  }),
]);
export type OfferTerms = z.infer<typeof OfferTerms>;

export const OfferInput = z.strictObject({
  terms: OfferTerms,
  /** Until when an order may be placed under the offer. */
  validUntil: z.iso.datetime({ offset: true }),
});
export type OfferInput = z.infer<typeof OfferInput>;
