// Federated averaging (McMahan et al. 2017, algorithm 1): the global model is Σ_p n_p·w_p / Σ_p n_p. Each party
// contributes [n·w_0 … n·w_d, n]; secure aggregation (mpc/secagg) reveals only the sum of the contributions, from
// which the weighted average follows without any party's weights or row count being seen. Pure.
//
// Secure aggregation sums fixed-point integers in a finite ring, so every entry of a contribution must lie in a
// bound the coordinator knows before the round. Weights are clipped to ±WEIGHT_BOUND here, which makes an entry at
// most n·WEIGHT_BOUND (contributionBound); choosing the ring and the scale from that is the job glue's business.

/**
 * The bound weights are clipped to, in standardized units. Features are standardized and clipped to ±4
 * (mpc/vfl/standardize.ts), so one weight of 64 moves the logit by up to 256: σ(±64) already differs from 0 or 1
 * by less than 1e-27, and a linear model on a standardized label with such a weight predicts 64 standard deviations
 * per standard deviation of one feature. L2-regularized models stay far inside it (the breast logistic models'
 * largest weight is about 0.67 in absolute value, test/mpc/hfl), so clipping only ever touches a diverging party;
 * and a power of two keeps fixed-point scales exact.
 */
export const WEIGHT_BOUND = 64;

const isCount = (rows: number) => Number.isSafeInteger(rows) && rows >= 0;

/** Clips each weight to ±bound. A non-finite weight throws RangeError: it would poison the sum unseen. */
export function clipWeights(weights: readonly number[], bound: number = WEIGHT_BOUND): number[] {
  if (!(bound > 0)) throw new RangeError(`bound must be positive, got ${bound}`);
  return weights.map((w, i) => {
    if (!Number.isFinite(w)) throw new RangeError(`weight ${i} is ${w}`);
    return Math.min(bound, Math.max(-bound, w));
  });
}

/**
 * One party's contribution to an aggregation round: [n·w_0 … n·w_d, n] with the weights clipped to ±WEIGHT_BOUND.
 * `rows` is the number of training rows the local update used. Throws RangeError on a non-finite weight or a row
 * count that is not a non-negative safe integer.
 */
export function updateVector(weights: readonly number[], rows: number): Float64Array {
  if (!isCount(rows)) throw new RangeError(`rows must be a non-negative integer, got ${rows}`);
  const clipped = clipWeights(weights);
  const out = new Float64Array(clipped.length + 1);
  clipped.forEach((w, i) => (out[i] = rows * w));
  out[clipped.length] = rows;
  return out;
}

/**
 * The global model from the sum of every party's updateVector: weights = Σ n_p·w_p / Σ n_p, rows = Σ n_p. Throws
 * RangeError when the sum holds no weights or no rows (no party trained on anything).
 */
export function averageFromSum(sum: ArrayLike<number>): { weights: number[]; rows: number } {
  if (sum.length < 2) throw new RangeError('the sum must hold at least one weight and the row count');
  const rows = sum[sum.length - 1] as number;
  if (!(rows > 0) || !Number.isFinite(rows)) throw new RangeError(`the summed row count is ${rows}`);
  // A fixed-point sum decodes to a near-integer count; rounding keeps the division exact to the parties' counts.
  const n = Math.round(rows);
  const weights = Array.from({ length: sum.length - 1 }, (_, i) => (sum[i] as number) / n);
  return { weights, rows: n };
}

/**
 * The largest absolute value any entry of one contribution can hold: n·bound (the row count entry is n itself, and a
 * bound below 1 is raised to 1 to cover it). The sum over parties is bounded by the same expression on Σ n_p.
 */
export function contributionBound(rows: number, bound: number = WEIGHT_BOUND): number {
  if (!isCount(rows)) throw new RangeError(`rows must be a non-negative integer, got ${rows}`);
  if (!(bound > 0)) throw new RangeError(`bound must be positive, got ${bound}`);
  return rows * Math.max(bound, 1);
}
