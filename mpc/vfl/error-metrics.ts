// The error a model's lift is measured in (docs/joint-modeling.md, "Evaluation"). The default is the training loss's
// own measure: log-loss for a 0/1 label, RMSE for a number. A job may name another, so that the lift is stated in the
// unit a buyer's decision costs money in (docs/valuation.md, "Lift certificates"): a weighted error rate at a
// threshold for yes/no decisions, the mean absolute error for a number. Pure.
import { z } from 'zod';
import { sigmoid, type Task } from './linear-model.ts';
import { logLoss, mae, rmse, type Scored } from './metrics.ts';

export const ErrorMetric = z.discriminatedUnion('name', [
  z.strictObject({ name: z.literal('logLoss') }),
  /**
   * w·FNR + (1 − w)·FPR, calling a row positive when its predicted probability is at least `threshold`. With the
   * threshold c_fp / (c_fp + c_fn) and w the probability cost, this is the normalized expected cost of a cost-loss
   * decision (Drummond & Holte 2006).
   */
  z.strictObject({
    name: z.literal('weighted-error-rate'),
    threshold: z.number().gt(0).lt(1),
    falseNegativeWeight: z.number().min(0).max(1),
  }),
  z.strictObject({ name: z.literal('rmse') }),
  z.strictObject({ name: z.literal('mae') }),
]);
export type ErrorMetric = z.infer<typeof ErrorMetric>;

/** The task each metric needs its pairs from. */
export const METRIC_TASK: Record<ErrorMetric['name'], Task> = {
  'logLoss': 'logistic',
  'weighted-error-rate': 'logistic',
  'rmse': 'linear',
  'mae': 'linear',
};

export const defaultErrorMetric = (task: Task): ErrorMetric =>
  task === 'logistic' ? { name: 'logLoss' } : { name: 'rmse' };

/**
 * The weighted error rate of (logit, 0/1 label) pairs. A class absent from the pairs contributes a rate of 0 (a
 * bootstrap resample of a small set may draw no positive), so the value stays a number.
 */
export function weightedErrorRate(pairs: readonly Scored[], threshold: number, falseNegativeWeight: number): number {
  let positives = 0;
  let falseNegatives = 0;
  let falsePositives = 0;
  for (const { score, label } of pairs) {
    const isPredictedPositive = sigmoid(score) >= threshold;
    if (label === 1) {
      positives++;
      if (!isPredictedPositive) falseNegatives++;
    } else if (isPredictedPositive) falsePositives++;
  }
  const negatives = pairs.length - positives;
  const fnr = positives === 0 ? 0 : falseNegatives / positives;
  const fpr = negatives === 0 ? 0 : falsePositives / negatives;
  return falseNegativeWeight * fnr + (1 - falseNegativeWeight) * fpr;
}

/** The metric as a function of (score, label) pairs: logits for logistic, residual pairs for linear regression. */
export function errorFunction(metric: ErrorMetric): (pairs: readonly Scored[]) => number {
  switch (metric.name) {
    case 'logLoss':
      return logLoss;
    case 'weighted-error-rate':
      return (pairs) => weightedErrorRate(pairs, metric.threshold, metric.falseNegativeWeight);
    case 'rmse':
      return rmse;
    case 'mae':
      return mae;
  }
}
