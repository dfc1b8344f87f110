// Federated averaging as every party runs it (docs/hfl.md): the same loop at the coordinator and at each host; the
// exchange (hfl-exchange.ts) is where they differ. Round 0 sums what global standardization needs; rounds 1…R each
// sum the parties' row-weighted local models with their metric counts for the model the round started from; a last
// round sums the metric counts of the final model. No party's rows, weights, row count or accuracy is ever seen alone.
import type { Task } from '../vfl/linear-model.ts';
import { partialScores } from '../vfl/linear-model.ts';
import { applyScaler, type Scaler } from '../vfl/standardize.ts';
import { averageFromSum, updateVector } from './fedavg.ts';
import { scalerFromSum, scalerStats } from './global-scaler.ts';
import type { GlobalMessage, HflExchange } from './hfl-exchange.ts';
import type { HflData } from './hfl-data.ts';
import type { HflParams } from './hfl-params.ts';
import { trainLocal } from './local-training.ts';
import { localMetricCounts, metricCountsLength, metricsFromCounts } from './metric-counts.ts';
import { stopReason, type StopReason } from './stopping-rule.ts';

export type HflProgress = { round: number; rounds: number; metrics: Record<string, number> };

export type Trained = {
  weights: number[];
  scaler: Scaler;
  label: { mean: number; scale: number } | null;
  /** The global metric of each round's starting model, then of the final model. */
  history: { round: number; metrics: Record<string, number> }[];
  final: Record<string, number>;
  rounds: number;
  stop: StopReason;
};

/** The metric the progress bar and the stopping rule follow. */
export const headlineMetric = (task: Task): { name: string; isHigherBetter: boolean } =>
  task === 'logistic' ? { name: 'auc', isHigherBetter: true } : { name: 'rmse', isHigherBetter: false };

/** Finite values only: a metric the rows cannot give (one class only) is left out rather than sent as NaN. */
const finite = (metrics: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v)));

const concat = (...parts: ArrayLike<number>[]): Float64Array => {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

export async function trainFederated(options: {
  exchange: HflExchange;
  data: HflData;
  params: HflParams;
  progress: HflProgress;
}): Promise<Trained> {
  const { exchange, data, params, progress } = options;
  const task = params.task;
  const headline = headlineMetric(task);
  const isLinear = task === 'linear';
  const features = data.columns.length;

  // Round 0: the global scaler (and, for linear regression, the label's) from summed counts, sums and squares.
  const statsColumns = isLinear ? [...data.columns, data.label] : data.columns;
  const opened = await exchange.round(0, scalerStats(statsColumns, data.train), (sum, contributors) => {
    const all = scalerFromSum(sum);
    const label = isLinear ? { mean: all.means[features] ?? 0, scale: all.scales[features] ?? 1 } : null;
    return {
      kind: 'scaler',
      round: 0,
      means: all.means.slice(0, features),
      scales: all.scales.slice(0, features),
      label,
      contributors,
    };
  });
  const scaler: Scaler = { means: opened.means ?? [], scales: opened.scales ?? [] };
  const label = opened.label ?? null;
  const columns = applyScaler(scaler, data.columns).columns;
  const target = label === null ? data.label : data.label.map((y) => (y - label.mean) / label.scale);

  const countsOf = (weights: readonly number[]) => {
    const z = partialScores([...columns, new Float64Array(data.label.length).fill(1)], weights, data.test);
    const scores = label === null ? z : z.map((s) => s * label.scale + label.mean);
    return localMetricCounts(
      task,
      scores,
      data.test.map((i) => data.label[i] as number),
    );
  };
  const countsLength = metricCountsLength(task);

  let weights: number[] = new Array<number>(features + 1).fill(0);
  const history: Trained['history'] = [];
  let round = 1;
  let stop: StopReason | null = null;
  for (; stop === null; round++) {
    const local = localUpdate(params, { columns, target, train: data.train, weights, round });
    const values = concat(updateVector(local, data.train.length), countsOf(weights));
    const previous = weights;
    const decision: GlobalMessage = await exchange.round(round, values, (sum, contributors) => {
      const averaged = averageFromSum(sum.subarray(0, features + 2));
      const metrics = finite(metricsFromCounts(task, sum.subarray(features + 2, features + 2 + countsLength)));
      const seen = [...history.map((h) => h.metrics[headline.name] ?? Number.NaN), metrics[headline.name] ?? NaN];
      const reason = stopReason(
        { rounds: params.rounds, tolerance: params.tolerance, patience: params.patience },
        { round, previous, current: averaged.weights, metrics: seen, isHigherBetter: headline.isHigherBetter },
      );
      return { kind: 'weights', round, weights: averaged.weights, metrics, stop: reason, contributors };
    });
    weights = decision.weights ?? weights;
    history.push({ round, metrics: decision.metrics ?? {} });
    stop = decision.stop ?? null;
    progress.round = round;
    progress.metrics = { round, ...(decision.metrics ?? {}) };
  }

  // The final model's metric: one more secure sum, of metric counts only.
  const final = await exchange.round(round, countsOf(weights), (sum, contributors) => ({
    kind: 'final',
    round,
    metrics: finite(metricsFromCounts(task, sum)),
    contributors,
  }));
  progress.metrics = { round: round - 1, ...(final.metrics ?? {}) };
  return {
    weights,
    scaler,
    label,
    history,
    final: final.metrics ?? {},
    rounds: round - 1,
    stop: stop ?? 'rounds',
  };
}

/** This party's local update of the round, from the global weights the round starts with. */
function localUpdate(
  params: HflParams,
  run: { columns: Float64Array[]; target: ArrayLike<number>; train: number[]; weights: number[]; round: number },
): number[] {
  return trainLocal({
    task: params.task,
    columns: run.columns,
    label: run.target,
    rows: run.train,
    weights: run.weights,
    epochs: params.localEpochs,
    learningRate: params.learningRate,
    decayRounds: params.decayRounds,
    l2: params.l2,
    batchSize: params.batchSize,
    seed: params.seed,
    round: run.round - 1,
  });
}
