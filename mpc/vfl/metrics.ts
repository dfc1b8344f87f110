// Evaluation metrics (pure) over (score, label) pairs: AUC, KS and log-loss for a 0/1 label, RMSE and MAE for a
// number; and the bootstrap confidence interval of the error reduction of one model over another.
import { createHash } from 'node:crypto';
import { sigmoid, type Task } from './linear-model.ts';

export type Scored = { score: number; label: number };

/** Area under the ROC curve, ties counted half (the Mann–Whitney U statistic). */
export function auc(pairs: readonly Scored[]): number {
  const sorted = [...pairs].sort((a, b) => a.score - b.score);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j < sorted.length && (sorted[j] as Scored).score === (sorted[i] as Scored).score) j++;
    const rank = (i + j + 1) / 2;
    for (let t = i; t < j; t++) {
      if ((sorted[t] as Scored).label === 1) {
        positives++;
        rankSum += rank;
      }
    }
    i = j;
  }
  const negatives = sorted.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Kolmogorov–Smirnov statistic: the largest gap between the score distributions of the two classes. */
export function ks(pairs: readonly Scored[]): number {
  const sorted = [...pairs].sort((a, b) => a.score - b.score);
  const positives = sorted.filter((p) => p.label === 1).length;
  const negatives = sorted.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  let tp = 0;
  let fp = 0;
  let best = 0;
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j < sorted.length && (sorted[j] as Scored).score === (sorted[i] as Scored).score) {
      if ((sorted[j] as Scored).label === 1) tp++;
      else fp++;
      j++;
    }
    best = Math.max(best, Math.abs(tp / positives - fp / negatives));
    i = j;
  }
  return best;
}

export function logLoss(pairs: readonly Scored[]): number {
  let sum = 0;
  for (const { score, label } of pairs) {
    const p = Math.min(1 - 1e-15, Math.max(1e-15, sigmoid(score)));
    sum -= label === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / pairs.length;
}

export const rmse = (pairs: readonly Scored[]): number =>
  Math.sqrt(pairs.reduce((a, p) => a + (p.score - p.label) ** 2, 0) / pairs.length);
export const mae = (pairs: readonly Scored[]): number =>
  pairs.reduce((a, p) => a + Math.abs(p.score - p.label), 0) / pairs.length;

export type Metrics = Record<string, number>;

export function metricsOf(task: Task, pairs: readonly Scored[]): Metrics {
  return task === 'logistic'
    ? { auc: auc(pairs), ks: ks(pairs), logLoss: logLoss(pairs), rows: pairs.length }
    : { rmse: rmse(pairs), mae: mae(pairs), rows: pairs.length };
}

/** An error with its 95% percentile bootstrap interval (null bounds with no bootstrap). */
export type Interval = { value: number; low: number | null; high: number | null };

export type Lift = {
  /** (baseline − model) / baseline, with its interval. */
  reduction: number;
  low: number | null;
  high: number | null;
  /** The model's error (e1) and the baseline's (e0), each with its own interval from the same resamples. */
  model: Interval;
  baseline: Interval;
};

/**
 * Error reduction of `model` over `baseline` ((baseline − model) / baseline) and 95% percentile bootstrap intervals
 * of it and of both errors. The two are resampled independently: the federated scores reach the guest shuffled,
 * unlinked from its rows (docs/joint-modeling.md), so a paired bootstrap is not possible. That makes the interval
 * wider, not narrower.
 */
export function liftWithInterval(
  error: (pairs: readonly Scored[]) => number,
  model: readonly Scored[],
  baseline: readonly Scored[],
  options: { rounds: number; seed: string },
): Lift {
  const e1 = error(model);
  const e0 = error(baseline);
  const reduction = (e0 - e1) / e0;
  if (options.rounds === 0)
    return {
      reduction,
      low: null,
      high: null,
      model: { value: e1, low: null, high: null },
      baseline: { value: e0, low: null, high: null },
    };
  let counter = 0;
  let block = Buffer.alloc(0);
  let at = 0;
  const draw = (bound: number) => {
    if (at + 4 > block.length) {
      block = createHash('sha256').update(`${options.seed}/${counter++}`).digest();
      at = 0;
    }
    const v = block.readUInt32BE(at);
    at += 4;
    return v % bound;
  };
  const resample = (pairs: readonly Scored[]) => pairs.map(() => pairs[draw(pairs.length)] as Scored);
  const reductions: number[] = [];
  const models: number[] = [];
  const baselines: number[] = [];
  for (let r = 0; r < options.rounds; r++) {
    const m = error(resample(model));
    const b = error(resample(baseline));
    models.push(m);
    baselines.push(b);
    reductions.push((b - m) / b);
  }
  const interval = (samples: number[]) => {
    samples.sort((a, b) => a - b);
    const at95 = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] as number;
    return { low: at95(0.025), high: at95(0.975) };
  };
  return {
    reduction,
    ...interval(reductions),
    model: { value: e1, ...interval(models) },
    baseline: { value: e0, ...interval(baselines) },
  };
}
