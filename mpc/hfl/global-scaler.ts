// Global standardization without pooling rows (pure). Each party contributes, per feature, the count of its present
// values, their sum and their sum of squares; secure aggregation reveals only the sum over parties, from which the
// global mean and population standard deviation follow: μ = Σx / n, σ² = Σx² / n − μ². The result is the Scaler of
// mpc/vfl/standardize.ts, with its conventions (missing values skipped; a column with no spread gets scale 1), so
// applyScaler standardizes each party's rows with it.
//
// The one-pass formula cancels: its error in σ² is about ε·μ² (ε = 2⁻⁵² here, far more once the sums are quantized
// for secure aggregation), which swamps σ² when |μ| ≫ σ (a timestamp in milliseconds, a price around a large
// level). Sums around a public shift c per feature, Σ(x − c) and Σ(x − c)², give the same μ and σ with the error
// ε·(μ − c)² instead (the shifted-data algorithm, Chan, Golub & LeVeque 1983, "Algorithms for computing the sample
// variance"). A job can take c from a first aggregation of [n, Σx] alone, or from any public guess of the level.
import type { Scaler } from '../vfl/standardize.ts';

/** Entries per feature in a contribution: [n_j, Σ(x_j − c_j), Σ(x_j − c_j)²]. */
export const STATS_PER_FEATURE = 3;

/**
 * Below this fraction of (μ − c)², σ² is rounding noise of the one-pass formula (its relative error at the floor is
 * about ε / 1e-10 ≈ 2e-6), so the column counts as constant, as fitScaler's exact two-pass σ would.
 */
const RELATIVE_VARIANCE_FLOOR = 1e-10;

const shiftOf = (shift: readonly number[] | undefined, c: number) => (shift === undefined ? 0 : (shift[c] as number));

/**
 * One party's contribution: [n_0, Σ(x_0 − c_0), Σ(x_0 − c_0)², n_1, …] over `rows` (default: all), with c the public
 * `shift` per feature (default 0). A NaN (missing) value is skipped, as fitScaler skips it, so each feature carries
 * its own count. Throws RangeError on an infinite value or a shift of the wrong length.
 */
export function scalerStats(
  columns: readonly Float64Array[],
  rows?: readonly number[],
  shift?: readonly number[],
): Float64Array {
  if (shift !== undefined && shift.length !== columns.length)
    throw new RangeError(`shift holds ${shift.length} values for ${columns.length} features`);
  const out = new Float64Array(columns.length * STATS_PER_FEATURE);
  columns.forEach((column, c) => {
    const at = shiftOf(shift, c);
    let n = 0;
    let sum = 0;
    let squares = 0;
    const add = (v: number) => {
      if (Number.isNaN(v)) return;
      if (!Number.isFinite(v)) throw new RangeError(`column ${c} holds ${v}`);
      const x = v - at;
      n++;
      sum += x;
      squares += x * x;
    };
    if (rows === undefined) column.forEach(add);
    else for (const r of rows) add(column[r] as number);
    out.set([n, sum, squares], c * STATS_PER_FEATURE);
  });
  return out;
}

/**
 * The global Scaler from the sum of every party's scalerStats (with the same `shift`). Population standard
 * deviation; a feature with at most one value, or with σ ≤ 1e-12 (fitScaler's floor) or within rounding noise of
 * zero, gets scale 1; a feature with no value gets mean 0. Throws RangeError when the sum's length is not a multiple
 * of three or the shift's length differs from the features'.
 */
export function scalerFromSum(sum: ArrayLike<number>, shift?: readonly number[]): Scaler {
  if (sum.length % STATS_PER_FEATURE !== 0) throw new RangeError(`sum length ${sum.length} is not a multiple of 3`);
  const features = sum.length / STATS_PER_FEATURE;
  if (shift !== undefined && shift.length !== features)
    throw new RangeError(`shift holds ${shift.length} values for ${features} features`);
  const means: number[] = [];
  const scales: number[] = [];
  for (let c = 0; c < features; c++) {
    const n = sum[c * STATS_PER_FEATURE] as number;
    const total = sum[c * STATS_PER_FEATURE + 1] as number;
    const squares = sum[c * STATS_PER_FEATURE + 2] as number;
    const offset = n > 0 ? total / n : 0;
    const variance = n > 1 ? Math.max(0, squares / n - offset * offset) : 0;
    const isNoise = variance <= RELATIVE_VARIANCE_FLOOR * offset * offset;
    const sd = Math.sqrt(variance);
    means.push(n > 0 ? shiftOf(shift, c) + offset : 0);
    scales.push(sd > 1e-12 && !isNoise ? sd : 1);
  }
  return { means, scales };
}
