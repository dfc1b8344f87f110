// Collateral value for pledge financing (DESIGN.md §7, step 5): the P10 NPV less a haircut with named reasons, and
// the covenant backtest a lender reads beside it (is the forecast the value rests on as accurate as promised?).
// Pure: the bootstrap draws only from the injected Prng.
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';
import { parseInput } from './parse-input.ts';
import type { Prng } from './quantity.ts';

/**
 * A haircut as named discounts, each a share of the value in [0, 1): e.g. "liquidity of a data asset" 0.2,
 * "concentration in one buyer segment" 0.1.
 */
export const Haircut = z.strictObject({
  reasons: z
    .array(
      z.strictObject({
        reason: z.string().min(1).max(200),
        share: z.number().min(0).lt(1),
      }),
    )
    .min(1)
    .max(20),
});
export type Haircut = z.infer<typeof Haircut>;

export type CollateralValue = {
  /** max(0, p10 · (1 − total)). */
  value: number;
  /** The combined haircut, 1 − Π(1 − share_i), in [0, 1). */
  total: number;
  reasons: Haircut['reasons'];
  /** Why the value is 0 when the P10 NPV is not positive; null otherwise. */
  note: string | null;
};

const combine = (reasons: Haircut['reasons']): number => 1 - reasons.reduce((kept, r) => kept * (1 - r.share), 1);

/**
 * The combined haircut 1 − Π(1 − share_i). Multiplicative, not additive: the discounts are independent, so each
 * applies to what the previous ones left (a 20 % and a 10 % haircut leave 0.8 × 0.9 = 72 %, a total of 28 %), the
 * result does not depend on their order, and with every share below 1 the total stays below 1, however many reasons
 * there are, where a sum could pass 100 %.
 */
export function totalHaircut(haircut: Haircut): number {
  return combine(parseInput(Haircut, haircut, 'haircut').reasons);
}

/**
 * The collateral value: the P10 NPV less the combined haircut, never below 0. A P10 at or below 0 gives 0 collateral
 * and a note that says so: a lender cannot lend against a value the package misses one time in ten.
 */
export function collateralValue(p10Npv: number, haircut: Haircut): CollateralValue {
  if (!Number.isFinite(p10Npv)) throw new GatewayError('BAD_INPUT', 'the P10 NPV must be a finite number');
  const parsed = parseInput(Haircut, haircut, 'haircut');
  const total = combine(parsed.reasons);
  const value = Math.max(0, p10Npv * (1 - total));
  const note =
    p10Npv <= 0 ? `the P10 NPV is ${p10Npv}, not positive: there is no value to pledge, so the collateral is 0` : null;
  return { value, total, reasons: parsed.reasons, note };
}

export type CovenantBacktestOptions = {
  /** Bootstrap replicates; 2,000 unless given. */
  replicates?: number;
  /** The quantile of the bootstrap distribution that must stay within the bound; 0.95 unless given. */
  confidence?: number;
};

export type CovenantBacktest = {
  /** The mean of |error| over the periods observed. */
  meanAbsError: number;
  /** The `confidence`-quantile of the bootstrap distribution of the mean |error|. */
  upper: number;
  /** upper ≤ bound. */
  holds: boolean;
  bound: number;
  confidence: number;
  replicates: number;
  periods: number;
};

export const MAX_REPLICATES = 1_000_000;
export const MAX_PERIODS = 100_000;

/**
 * The covenant backtest: does the forecast's accuracy stay within `bound` with `confidence`? E.g. a sales forecast
 * promised within ±3.7 % over three years: 36 monthly relative errors (0.021 = 2.1 %), bound 0.037.
 *
 * Method: percentile bootstrap of the mean absolute error. Each replicate resamples the periods with replacement
 * (nonparametric bootstrap, Efron & Tibshirani 1993) and takes the mean |error| of the resample; `upper` is the
 * ⌈confidence · B⌉-th smallest of the B replicate means (the inverse of their empirical distribution function), and
 * the covenant holds when upper ≤ bound. Resampling single periods treats them as exchangeable: errors that run in
 * streaks would call for a block bootstrap, which is a different method.
 */
export function covenantBacktest(
  errors: readonly number[],
  bound: number,
  prng: Prng,
  options: CovenantBacktestOptions = {},
): CovenantBacktest {
  const { replicates = 2000, confidence = 0.95 } = options;
  const n = errors.length;
  if (n === 0 || n > MAX_PERIODS)
    throw new GatewayError('BAD_INPUT', `a backtest needs from 1 to ${MAX_PERIODS} periods' errors`, { periods: n });
  if (!errors.every(Number.isFinite)) throw new GatewayError('BAD_INPUT', 'every period error must be a finite number');
  if (!Number.isFinite(bound) || bound <= 0)
    throw new GatewayError('BAD_INPUT', 'the bound must be a positive finite number', { bound });
  if (!Number.isFinite(confidence) || confidence <= 0 || confidence >= 1)
    throw new GatewayError('BAD_INPUT', 'confidence must lie strictly between 0 and 1', { confidence });
  if (!Number.isInteger(replicates) || replicates < 1 || replicates > MAX_REPLICATES)
    throw new GatewayError('BAD_INPUT', `replicates must be an integer from 1 to ${MAX_REPLICATES}`, { replicates });

  const abs = Float64Array.from(errors, Math.abs);
  const meanAbsError = abs.reduce((s, e) => s + e, 0) / n;
  const means = new Float64Array(replicates);
  for (let b = 0; b < replicates; b++) {
    let sum = 0;
    for (let k = 0; k < n; k++) {
      const u = prng();
      if (!(u >= 0 && u < 1)) throw new GatewayError('BAD_INPUT', 'the random generator must return numbers in [0, 1)');
      sum += abs[Math.floor(u * n)]!;
    }
    means[b] = sum / n;
  }
  means.sort();
  const upper = means[Math.max(0, Math.ceil(confidence * replicates) - 1)]!;
  return { meanAbsError, upper, holds: upper <= bound, bound, confidence, replicates, periods: n };
}
