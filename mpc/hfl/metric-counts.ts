// A global evaluation from sums of per-party counts (pure), so that secure aggregation reveals only the union's
// metrics and no party's own. Logistic regression: a fixed-bin histogram of the predicted probability per class,
// from which the AUC follows as the Mann–Whitney statistic with ties within a bin counted half, the accuracy at 0.5
// (a bin edge), and the log-loss sum. Linear regression: n, Σe², Σ|e|, Σy and Σy², from which RMSE, MAE and R².
//
// Binning error of the AUC. Pairs (positive, negative) in different bins are ordered exactly as their scores are;
// a pair in one bin counts ½ where the exact statistic counts 0, ½ or 1. So |AUC_binned − AUC_exact| is at most
// ½·Σ_b pos_b·neg_b / (P·N), which metricsFromCounts returns as `aucBinError`: a bound computed from the same sums,
// not an estimate. It is small when few positives and negatives share a bin: for B bins and scores spread over
// [0, 1] it is of order 1/B; piled into one bin it reaches ½. The counts reveal the union's score histogram per
// class (its calibration curve), more than the AUC alone: whoever learns the sum learns that.
import { sigmoid, type Task } from '../vfl/linear-model.ts';

/** Bins over the predicted probability [0, 1]; even, so that 0.5 is a bin edge and the accuracy at 0.5 is exact. */
export const METRIC_BINS = 1024;

/** The clamp of metrics.ts logLoss, so that the summed log-loss equals it row for row. */
const PROBABILITY_FLOOR = 1e-15;

const LINEAR_ENTRIES = 5;

/** A contribution's length: 2·bins + 1 for logistic ([negative bins, positive bins, log-loss sum]), 5 for linear. */
export const metricCountsLength = (task: Task, bins: number = METRIC_BINS): number =>
  task === 'logistic' ? 2 * bins + 1 : LINEAR_ENTRIES;

const checkBins = (bins: number) => {
  if (!Number.isInteger(bins) || bins < 2 || bins % 2 !== 0)
    throw new RangeError(`bins must be an even integer ≥ 2, got ${bins}`);
};

/**
 * One party's counts over its held-out rows. `scores` are logits for logistic regression (as in metrics.ts Scored)
 * and predictions in label units for linear regression. Logistic: [neg_0 … neg_{B−1}, pos_0 … pos_{B−1}, Σ log-loss],
 * bin ⌊σ(z)·B⌋ (σ = 1 in the last bin). Linear: [n, Σe², Σ|e|, Σy, Σy²] with e = score − label. Throws RangeError on
 * lengths that differ, a non-finite score or label, or a logistic label other than 0 or 1.
 */
export function localMetricCounts(
  task: Task,
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  bins: number = METRIC_BINS,
): Float64Array {
  if (scores.length !== labels.length)
    throw new RangeError(`scores hold ${scores.length} values, labels ${labels.length}`);
  checkBins(bins);
  const out = new Float64Array(metricCountsLength(task, bins));
  for (let i = 0; i < scores.length; i++) {
    const z = scores[i] as number;
    const y = labels[i] as number;
    if (!Number.isFinite(z) || !Number.isFinite(y)) throw new RangeError(`row ${i} holds a non-finite value`);
    if (task === 'linear') {
      const e = z - y;
      out[0] = (out[0] as number) + 1;
      out[1] = (out[1] as number) + e * e;
      out[2] = (out[2] as number) + Math.abs(e);
      out[3] = (out[3] as number) + y;
      out[4] = (out[4] as number) + y * y;
      continue;
    }
    if (y !== 0 && y !== 1) throw new RangeError(`row ${i} has label ${y}, not 0 or 1`);
    const p = sigmoid(z);
    const bin = Math.min(bins - 1, Math.floor(p * bins)) + y * bins;
    out[bin] = (out[bin] as number) + 1;
    const clamped = Math.min(1 - PROBABILITY_FLOOR, Math.max(PROBABILITY_FLOOR, p));
    out[2 * bins] = (out[2 * bins] as number) - Math.log(y === 1 ? clamped : 1 - clamped);
  }
  return out;
}

function logisticMetrics(sum: ArrayLike<number>): Record<string, number> {
  const bins = (sum.length - 1) / 2;
  checkBins(bins);
  let negatives = 0;
  let positives = 0;
  let belowAndHalfTies = 0;
  let sameBinPairs = 0;
  let correct = 0;
  for (let b = 0; b < bins; b++) {
    const neg = sum[b] as number;
    const pos = sum[bins + b] as number;
    belowAndHalfTies += pos * (negatives + neg / 2);
    sameBinPairs += pos * neg;
    // Bin b ≥ bins/2 holds σ(z) ≥ 0.5: predicted positive.
    correct += b >= bins / 2 ? pos : neg;
    negatives += neg;
    positives += pos;
  }
  const rows = negatives + positives;
  const pairs = positives * negatives;
  return {
    auc: pairs > 0 ? belowAndHalfTies / pairs : Number.NaN,
    aucBinError: pairs > 0 ? sameBinPairs / 2 / pairs : Number.NaN,
    logLoss: rows > 0 ? (sum[2 * bins] as number) / rows : Number.NaN,
    accuracy: rows > 0 ? correct / rows : Number.NaN,
    positives,
    rows,
  };
}

function linearMetrics(sum: ArrayLike<number>): Record<string, number> {
  const [n, squares, absolutes, total, totalSquares] = Array.from(sum) as [number, number, number, number, number];
  const spread = totalSquares - (total * total) / n;
  return {
    rmse: n > 0 ? Math.sqrt(squares / n) : Number.NaN,
    mae: n > 0 ? absolutes / n : Number.NaN,
    r2: n > 0 && spread > 0 ? 1 - squares / spread : Number.NaN,
    rows: n,
  };
}

/**
 * The union's metrics from the sum of every party's localMetricCounts. Logistic: auc, aucBinError (the bound on
 * |auc − exact AUC| above), logLoss, accuracy (at probability 0.5), positives, rows. Linear: rmse, mae, r2, rows.
 * A metric that needs what the rows lack (both classes, two distinct labels) is NaN, as in metrics.ts. Throws
 * RangeError on a sum of the wrong length for the task.
 */
export function metricsFromCounts(task: Task, sum: ArrayLike<number>): Record<string, number> {
  if (task === 'linear') {
    if (sum.length !== LINEAR_ENTRIES) throw new RangeError(`a linear sum holds 5 values, got ${sum.length}`);
    return linearMetrics(sum);
  }
  if (sum.length % 2 !== 1) throw new RangeError(`a logistic sum holds 2·bins + 1 values, got ${sum.length}`);
  return logisticMetrics(sum);
}
