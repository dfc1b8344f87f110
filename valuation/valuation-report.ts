// The valuation report (docs/valuation.md, "The report"): a published zod schema, so a buyer, a lender or an exchange
// can read a report with their own code. Amounts are in the inputs' currency; periods are the horizon's.
import { z } from 'zod';
import { DrawSummary } from './monte-carlo-stats.ts';

export const VALUATION_REPORT_VERSION = 1;

const num = z.number().finite();

const TornadoBar = z.strictObject({
  name: z.string(),
  low: num,
  high: num,
  npvAtLow: num,
  npvAtHigh: num,
  swing: num,
});

const Elasticity = z.union([
  z.strictObject({ name: z.string(), elasticity: num, npvAtDown: num, npvAtUp: num, reason: z.null() }),
  z.strictObject({
    name: z.string(),
    elasticity: z.null(),
    npvAtDown: z.null(),
    npvAtUp: z.null(),
    reason: z.string(),
  }),
]);

export const ValuationReport = z.strictObject({
  version: z.literal(VALUATION_REPORT_VERSION),
  packageId: z.string(),
  consentBasis: z.strictObject({ root: z.string(), records: z.number().int(), subjects: z.number().int() }),
  currencyNote: z.string(),
  /** Where each segment's errors come from: the lift certificate it cites, or the person who entered them. */
  errorSources: z.array(
    z.strictObject({
      segment: z.string(),
      kind: z.enum(['lift-certificate', 'manual']),
      /** The certificate's id and statement hash, or who entered the errors and their note. */
      reference: z.string(),
      detail: z.string(),
    }),
  ),
  /** Every input at its median. */
  deterministic: z.strictObject({
    npv: num,
    annualDiscountRate: num,
    /** F_1 … F_T. */
    cashFlows: z.array(num),
    /** ΔV_k at period 1: money per decision. */
    valuePerDecision: z.array(z.strictObject({ segment: z.string(), value: num })),
  }),
  monteCarlo: z.strictObject({
    draws: z.number().int(),
    seed: z.number().int(),
    npv: DrawSummary,
    cashFlowBands: z.array(z.strictObject({ period: z.number().int(), atMedians: num, p5: num, p50: num, p95: num })),
  }),
  sensitivity: z.strictObject({
    tornado: z.strictObject({ base: num, bars: z.array(TornadoBar) }),
    elasticities: z.array(Elasticity),
  }),
  /** Null when the inputs measure no subset of dimensions (a package of several dimensions valued by hand). */
  shapley: z
    .strictObject({
      method: z.enum(['exact', 'sampled']),
      permutations: z.number().int().nullable(),
      /** The present value of the package's revenue with every dimension: what the values add up to. */
      revenuePresentValue: num,
      dimensions: z.array(
        z.strictObject({
          id: z.string(),
          label: z.string(),
          value: num,
          share: num.nullable(),
          standardError: num.nullable(),
        }),
      ),
    })
    .nullable(),
  collateral: z
    .strictObject({
      value: num,
      total: num,
      reasons: z.array(z.strictObject({ reason: z.string(), share: num })),
      note: z.string().nullable(),
    })
    .nullable(),
  covenant: z
    .strictObject({
      meanAbsError: num,
      upper: num,
      holds: z.boolean(),
      bound: num,
      confidence: num,
      replicates: z.number().int(),
      periods: z.number().int(),
    })
    .nullable(),
  crossChecks: z
    .strictObject({
      income: num,
      cost: num.nullable(),
      market: num.nullable(),
      spread: num.nullable(),
      note: z.string().nullable(),
    })
    .nullable(),
});
export type ValuationReport = z.infer<typeof ValuationReport>;
