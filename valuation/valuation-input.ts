// What a valuation is asked (docs/valuation.md, "Inputs"): the data package, its buyer segments with their forecast
// errors and money mappings, the horizon, decay, cost and discount rate, and the Monte Carlo settings. Every number a
// buyer or an appraiser estimates may be a distribution (quantity.ts). Versioned, so a stored valuation can always be
// recomputed from its inputs and seed.
import { z } from 'zod';
import { CostApproach, MarketApproach } from './cross-checks.ts';
import { DiscountRate } from './dcf.ts';
import { Haircut } from './collateral.ts';
import { MoneyMapping } from './money-mappings.ts';
import { Quantity } from './quantity.ts';

export const VALUATION_INPUT_VERSION = 1;
/** Exact Shapley values need every subset of dimensions: 2^8 = 256 NPVs at most, well under a millisecond each. */
export const MAX_DIMENSIONS = 8;

const Slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'lower-case letters, digits and -, at most 48');
const Label = z.string().min(1).max(120);

export const PackageDimension = z.strictObject({
  id: Slug,
  label: Label,
  /** The columns of a connector view (`view.column`) or a joint model's features the dimension is made of. */
  columns: z.array(z.string().min(1).max(128)).min(1).max(64),
});
export type PackageDimension = z.infer<typeof PackageDimension>;

/** At most 31 characters: the package registry keys packages by the id's bytes as a bytes32, as gateways are keyed. */
export const PackageId = z.string().regex(/^[a-z0-9][a-z0-9-]{1,30}$/, '2-31 characters of a-z, 0-9 and -');

export const DataPackage = z
  .strictObject({
    packageId: PackageId,
    name: Label,
    dimensions: z.array(PackageDimension).min(1).max(MAX_DIMENSIONS),
    coverage: z.strictObject({ subjects: z.number().int().min(0), description: z.string().max(500).optional() }),
    refreshCadence: z.enum(['daily', 'weekly', 'monthly', 'quarterly', 'yearly']),
    /** The consent records behind the package: the Merkle root over their hashes (docs/merkle.md) and the counts. */
    consentBasis: z.strictObject({
      root: z.string().regex(/^0x[0-9a-f]{64}$/),
      records: z.number().int().min(0),
      subjects: z.number().int().min(0),
    }),
  })
  .refine((p) => new Set(p.dimensions.map((d) => d.id)).size === p.dimensions.length, {
    message: 'dimension ids must be distinct',
    path: ['dimensions'],
  });
export type DataPackage = z.infer<typeof DataPackage>;

/** Where a segment's errors come from: a lift certificate (measured) or a person (named, with the reason). */
export const ErrorSource = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('lift-certificate'),
    certificateId: z.string().min(1).max(128),
    certificateHash: z.string().regex(/^[0-9a-f]{64}$/),
    /**
     * A certificate another gateway issued is cited with its proof (the issuer's GET /v1/lift-certificates/{id}/proof):
     * the valuing gateway verifies it against the chain, as an outsider would. One it issued itself needs none.
     */
    proof: z.unknown().optional(),
  }),
  z.strictObject({ kind: z.literal('manual'), enteredBy: Label, note: z.string().min(1).max(1000) }),
]);

export const BuyerSegment = z.strictObject({
  id: Slug,
  label: Label,
  /** Decisions the buyer makes per period with the forecast (orders, loans, sites). */
  decisionsPerPeriod: Quantity,
  /** The most a buyer pays per decision: p_k. */
  priceCap: Quantity,
  /** The share of the value per decision the seller captures: capture_k. */
  captureShare: Quantity,
  mapping: MoneyMapping,
  /** Forecast error without the package (e0) and with all its dimensions (e1), in the mapping's error metric. */
  errors: z.strictObject({ e0: Quantity, e1: Quantity, source: ErrorSource }),
  /**
   * The error with only some dimensions, for the Shapley attribution: one entry per measured subset (by dimension ids).
   * The empty subset is e0 and the full one e1; missing subsets are an error when the package has at most 4
   * dimensions, and are estimated by sampling above that.
   */
  subsetErrors: z
    .array(z.strictObject({ dimensions: z.array(Slug).max(MAX_DIMENSIONS), e1: Quantity }))
    .max(2 ** MAX_DIMENSIONS)
    .default([]),
});
export type BuyerSegment = z.infer<typeof BuyerSegment>;

export const ValuationInput = z.strictObject({
  version: z.literal(VALUATION_INPUT_VERSION),
  package: DataPackage,
  segments: z.array(BuyerSegment).min(1).max(16),
  horizon: z.strictObject({
    periods: z.number().int().min(1).max(600),
    periodsPerYear: z.union([z.literal(1), z.literal(4), z.literal(12), z.literal(52)]),
  }),
  /** δ: the share of the value lost each period as the data ages. */
  decayPerPeriod: Quantity,
  /** C_t: the cost of producing and delivering the package per period. */
  costPerPeriod: Quantity,
  discountRate: DiscountRate,
  monteCarlo: z.strictObject({
    draws: z.number().int().min(100).max(100_000).default(10_000),
    /** 1 … 2^32 − 1 (MT19937 takes no zero seed). */
    seed: z.number().int().min(1).max(0xffff_ffff),
  }),
  collateral: z
    .strictObject({
      haircut: Haircut,
      covenant: z
        .strictObject({
          /** Backtested relative errors per period (0.021 = 2.1 %) of the forecast the loan relies on. */
          errors: z.array(z.number().finite()).min(2).max(600),
          bound: z.number().positive(),
        })
        .optional(),
    })
    .optional(),
  crossChecks: z.strictObject({ cost: CostApproach.optional(), market: MarketApproach.optional() }).optional(),
});
export type ValuationInput = z.infer<typeof ValuationInput>;
/** What a caller writes: defaults (beta's [0, 1], 10,000 draws, no subset errors) may be left out. */
export type ValuationRequest = z.input<typeof ValuationInput>;
