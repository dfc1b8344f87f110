// Summary statistics of Monte Carlo draws (one value per trial, e.g. a package's net present value). Pure: the draws
// are read, never changed; order statistics come from a sorted copy.
//
// Quantiles follow Hyndman and Fan's (1996) type 7, linear interpolation between order statistics, the default of R's
// quantile() and numpy's percentile(): for sorted x[0..n-1], h = (n - 1)p and
// Q(p) = x[⌊h⌋] + (h - ⌊h⌋)(x[⌊h⌋+1] - x[⌊h⌋]).
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';

const finite = z.number().finite();

/** What a valuation report says about a set of draws. */
export const DrawSummary = z.strictObject({
  /** Number of draws. */
  n: z.number().int().min(2),
  mean: finite,
  /** Sample standard deviation (denominator n - 1). */
  sd: finite.nonnegative(),
  /** Monte Carlo standard error of the mean: sd / √n. */
  standardError: finite.nonnegative(),
  /** Type 7 quantiles. */
  p5: finite,
  p10: finite,
  p50: finite,
  p90: finite,
  p95: finite,
  /** Share of draws strictly below zero (a draw of exactly 0 is no loss). */
  probabilityBelowZero: z.number().min(0).max(1),
  /**
   * Expected shortfall at 5 % (CVaR): the mean of the lowest 5 % of the draws. When n/20 is not a whole number, the
   * draw at the boundary counts with the fraction of it that lies inside the 5 % (Acerbi and Tasche 2002), so the
   * tail always weighs exactly n/20 draws; below 20 draws it is the minimum.
   */
  cvar5: finite,
  min: finite,
  max: finite,
});
export type DrawSummary = z.infer<typeof DrawSummary>;

/** Type 7 quantile of ascending `sorted` (length ≥ 1). */
const quantile7 = (sorted: Float64Array, p: number): number => {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const below = sorted[lo] as number;
  const above = sorted[Math.min(lo + 1, sorted.length - 1)] as number;
  // The value lies in [below, above]; the clamp keeps rounding from stepping past `above` (and so past a higher p).
  return Math.min(below + (h - lo) * (above - below), above);
};

/** Mean of the lowest n/20 draws of ascending `sorted`, the boundary draw counted fractionally. */
const expectedShortfall5 = (sorted: Float64Array): number => {
  const tail = sorted.length / 20; // 5 % of the draws; n / 20 is exact where 0.05 * n may round.
  const whole = Math.floor(tail);
  let sum = 0;
  for (let i = 0; i < whole; i++) sum += sorted[i] as number;
  if (tail > whole) sum += (tail - whole) * (sorted[whole] as number);
  // The mean of values in [x[0], x[whole]] lies in that range; clamp away the last bit of rounding.
  const bound = sorted[Math.min(whole, sorted.length - 1)] as number;
  return Math.min(Math.max(sum / tail, sorted[0] as number), bound);
};

/**
 * Summarizes Monte Carlo draws; `draws` is not modified.
 *
 * @throws GatewayError BAD_INPUT when there are fewer than 2 draws or a draw is not finite.
 */
export const summarizeDraws = (draws: Float64Array): DrawSummary => {
  const n = draws.length;
  if (n < 2) throw new GatewayError('BAD_INPUT', 'a summary needs at least 2 draws', { n });
  let sum = 0;
  let negatives = 0;
  for (const x of draws) {
    if (!Number.isFinite(x)) throw new GatewayError('BAD_INPUT', 'every draw must be a finite number', { n });
    sum += x;
    if (x < 0) negatives++;
  }
  const mean = sum / n;
  // Two passes (mean, then squared deviations) rather than the sum of squares, which cancels badly.
  let squares = 0;
  for (const x of draws) squares += (x - mean) ** 2;
  const sd = Math.sqrt(squares / (n - 1));
  const sorted = Float64Array.from(draws).sort();
  return {
    n,
    mean,
    sd,
    standardError: sd / Math.sqrt(n),
    p5: quantile7(sorted, 0.05),
    p10: quantile7(sorted, 0.1),
    p50: quantile7(sorted, 0.5),
    p90: quantile7(sorted, 0.9),
    p95: quantile7(sorted, 0.95),
    probabilityBelowZero: negatives / n,
    cvar5: expectedShortfall5(sorted),
    min: sorted[0] as number,
    max: sorted[n - 1] as number,
  };
};
