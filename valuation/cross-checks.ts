// Cross-checks of the income (DCF) value by the cost and market approaches (DESIGN.md §7, step 5), the three approaches
// the China Appraisal Society's 2023 guidance on data-asset appraisal names. A wide spread between them says the DCF
// inputs deserve a second look before anyone prices or lends on them. Pure arithmetic on validated inputs.
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';
import { parseInput } from './parse-input.ts';

const amount = z.number().finite().min(0);

/**
 * The cost approach: what it would cost to build the data asset again (collection, storage, processing, compliance),
 * less obsolescence, the share of that cost the asset no longer earns (stale records, lapsed consents, newer sources).
 */
export const CostApproach = z.strictObject({
  collection: amount,
  storage: amount,
  processing: amount,
  compliance: amount,
  obsolescence: z.number().min(0).lt(1),
});
export type CostApproach = z.infer<typeof CostApproach>;

/**
 * The market approach: prices of comparable data assets, each adjusted for how it differs from this one by named
 * multipliers (e.g. coverage 1.2, freshness 0.9).
 */
export const MarketApproach = z.strictObject({
  comparables: z
    .array(
      z.strictObject({
        label: z.string().min(1).max(200),
        price: z.number().finite().positive(),
        adjustments: z
          .array(z.strictObject({ factor: z.string().min(1).max(200), multiplier: z.number().finite().positive() }))
          .max(20),
      }),
    )
    .min(1)
    .max(50),
});
export type MarketApproach = z.infer<typeof MarketApproach>;

export type CostValue = { value: number; replacementCost: number; obsolescence: number };

export type MarketValue = { value: number; adjusted: { label: string; price: number; adjustedPrice: number }[] };

export type CrossChecks = {
  income: number;
  cost: number | null;
  market: number | null;
  /** max/min over the approaches present; null with one approach, or when a value present is not positive. */
  spread: number | null;
  /** Why the spread is null; null when it is a number. */
  note: string | null;
};

/**
 * The cost approach of the CAS 2023 guidance: replacement cost less obsolescence,
 * value = (collection + storage + processing + compliance) × (1 − obsolescence).
 */
export function costApproach(input: CostApproach): CostValue {
  const c = parseInput(CostApproach, input, 'cost approach');
  const replacementCost = c.collection + c.storage + c.processing + c.compliance;
  if (!Number.isFinite(replacementCost)) throw new GatewayError('BAD_INPUT', 'the replacement cost is not finite');
  return { value: replacementCost * (1 - c.obsolescence), replacementCost, obsolescence: c.obsolescence };
}

/**
 * The market approach: each comparable's price times the product of its multipliers, and the value is the median of
 * the adjusted prices (the mean of the middle two for an even count), which one odd comparable cannot drag.
 */
export function marketApproach(input: MarketApproach): MarketValue {
  const { comparables } = parseInput(MarketApproach, input, 'market approach');
  const adjusted = comparables.map(({ label, price, adjustments }) => ({
    label,
    price,
    adjustedPrice: adjustments.reduce((p, a) => p * a.multiplier, price),
  }));
  if (!adjusted.every((a) => Number.isFinite(a.adjustedPrice)))
    throw new GatewayError('BAD_INPUT', 'an adjusted comparable price is not finite');
  const sorted = adjusted.map((a) => a.adjustedPrice).sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const value = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { value, adjusted };
}

/**
 * The income value (the DCF's P50) beside the cost and market values, when given, and their spread: the largest over
 * the smallest. A ratio compares positive values only, so a value at or below 0 leaves the spread null with a note.
 */
export function crossChecks(input: { incomeP50: number; cost?: CostApproach; market?: MarketApproach }): CrossChecks {
  const { incomeP50 } = input;
  if (!Number.isFinite(incomeP50)) throw new GatewayError('BAD_INPUT', 'the income P50 must be a finite number');
  const cost = input.cost === undefined ? null : costApproach(input.cost).value;
  const market = input.market === undefined ? null : marketApproach(input.market).value;
  const present = [incomeP50, cost, market].filter((v): v is number => v !== null);
  if (present.length < 2)
    return { income: incomeP50, cost, market, spread: null, note: 'only the income approach: nothing to compare' };
  const min = Math.min(...present);
  if (min <= 0)
    return {
      income: incomeP50,
      cost,
      market,
      spread: null,
      note: `a value is ${min}, not positive: a ratio of values does not compare it`,
    };
  return { income: incomeP50, cost, market, spread: Math.max(...present) / min, note: null };
}
