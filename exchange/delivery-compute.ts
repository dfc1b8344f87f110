// What the compute-to-data algorithms compute, over the package rows a delivery admitted (docs/exchange.md,
// "Deliveries"). Each result is shaped to pass the output check: aggregates over groups of at least k subjects,
// a model as weights with its held-out metrics and row counts, or scores of the buyer's own subjects. Pure: the
// service reads the rows and stores what comes back.
import { GatewayError } from '../core/errors.ts';
import type { ViewRow } from '../connectors/view-reader.ts';
import { sigmoid, trainPlain, type Task } from '../mpc/vfl/linear-model.ts';
import { metricsOf, type Metrics } from '../mpc/vfl/metrics.ts';
import { applyScaler, fitScaler, type Scaler } from '../mpc/vfl/standardize.ts';
import { epochBatches, isHeldOut } from '../mpc/vfl/training-plan.ts';

export type MeasureStatistics = { count: number; sum: number; mean: number; sd: number };
export type SegmentAggregates = {
  k: number;
  groups: { segment: string; subjects: number; measures: Record<string, MeasureStatistics | null> }[];
  /** Groups of fewer than k subjects, left out whole (their sizes are not reported either). */
  suppressedGroups: number;
};

const numberOf = (value: unknown, field: string): number | null => {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  throw new GatewayError('BAD_INPUT', `${field} is not a numeric field`, { field });
};

/** Count, sum, mean and population standard deviation of each measure per segment value; groups under k dropped. */
export function segmentAggregates(
  rows: readonly ViewRow[],
  request: { segment: string; measures: readonly string[] },
  k: number,
): SegmentAggregates {
  const groups = new Map<string, ViewRow[]>();
  for (const row of rows) {
    const value = row[request.segment];
    const key = value === null || value === undefined ? '(missing)' : String(value);
    const members = groups.get(key) ?? [];
    members.push(row);
    groups.set(key, members);
  }
  const kept = [...groups.entries()].filter(([, members]) => members.length >= k);
  return {
    k,
    suppressedGroups: groups.size - kept.length,
    groups: kept
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([segment, members]) => ({
        segment,
        subjects: members.length,
        measures: Object.fromEntries(
          request.measures.map((m) => {
            const values = members.flatMap((r) => {
              const v = numberOf(r[m], m);
              return v === null ? [] : [v];
            });
            // A measure present for fewer than k subjects of the group is withheld like a small group.
            if (values.length < k) return [m, null];
            const sum = values.reduce((a, v) => a + v, 0);
            const mean = sum / values.length;
            const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
            return [m, { count: values.length, sum, mean, sd }];
          }),
        ),
      })),
  };
}

export type TrainedModel = {
  model: Task;
  label: string;
  /** One weight per feature, on the standardized feature (value − mean) / scale, clipped to ±4. */
  weights: { feature: string; weight: number; mean: number; scale: number }[];
  intercept: number;
  /** A linear model learns the standardized label: a score is mean + scale · z. Null for logistic. */
  labelScaler: { mean: number; scale: number } | null;
  /** Held-out metrics: AUC, KS and log loss (logistic), RMSE and MAE (linear). */
  metrics: Metrics;
  rows: { train: number; test: number; dropped: number };
  epochs: number;
};

export type TrainingRequest = {
  model: Task;
  label: string;
  features: readonly string[];
  epochs: number;
  learningRate: number;
  l2: number;
  batchSize: number;
  testPercent: number;
  seed: number;
};

/**
 * A model trained on the package's rows where they live: rows missing the label are dropped, missing features count
 * as the mean. The split and batches follow the vertical models' rules (training-plan.ts) over the rows ordered by
 * subject, so the same request over the same rows gives the same weights. BAD_INPUT when fewer than `minRows` rows
 * train: a model of a handful of subjects would describe them.
 */
export function trainModel(rows: readonly ViewRow[], request: TrainingRequest, minRows: number): TrainedModel {
  const ordered = [...rows].sort((a, b) => (String(a.subject) < String(b.subject) ? -1 : 1));
  const usable = ordered.filter((r) => numberOf(r[request.label], request.label) !== null);
  const label = usable.map((r) => numberOf(r[request.label], request.label) as number);
  if (request.model === 'logistic' && label.some((y) => y !== 0 && y !== 1))
    throw new GatewayError('BAD_INPUT', `${request.label} is not a 0/1 label`, { field: request.label });
  const raw = request.features.map((f) => Float64Array.from(usable, (r) => numberOf(r[f], f) ?? Number.NaN));
  const train: number[] = [];
  const test: number[] = [];
  usable.forEach((_, i) => (isHeldOut(i, request.testPercent) ? test : train).push(i));
  const needed = Math.max(minRows, 2 * (request.features.length + 1));
  if (train.length < needed || test.length === 0)
    throw new GatewayError('BAD_INPUT', `too few rows to train on: ${train.length} (at least ${needed})`, {
      train: train.length,
      needed,
    });
  const scaler: Scaler = fitScaler(raw, train);
  const { columns } = applyScaler(scaler, raw);
  const labelScaler =
    request.model === 'linear'
      ? ((fitted) => ({ mean: fitted.means[0] as number, scale: fitted.scales[0] as number }))(
          fitScaler([Float64Array.from(label)], train),
        )
      : null;
  const { weights, epochs } = trainPlain({
    task: request.model,
    columns,
    label: labelScaler === null ? label : label.map((y) => (y - labelScaler.mean) / labelScaler.scale),
    batches: (epoch) => epochBatches(train, request.batchSize, { seed: request.seed, epoch }),
    epochs: request.epochs,
    learningRate: request.learningRate,
    l2: request.l2,
    tolerance: 1e-6,
    link: 'exact',
  });
  const model: TrainedModel = {
    model: request.model,
    label: request.label,
    weights: request.features.map((feature, c) => ({
      feature,
      weight: weights[c] as number,
      mean: scaler.means[c] as number,
      scale: scaler.scales[c] as number,
    })),
    intercept: weights[weights.length - 1] as number,
    labelScaler,
    metrics: {},
    rows: { train: train.length, test: test.length, dropped: ordered.length - usable.length },
    epochs,
  };
  const pairs = test.map((i) => ({
    score: scoreRow(model, (f) => columnValue(raw, request.features, f, i)),
    label: label[i] as number,
  }));
  return { ...model, metrics: metricsOf(request.model, pairs) };
}

const columnValue = (
  raw: readonly Float64Array[],
  features: readonly string[],
  f: string,
  i: number,
): number | null => {
  const v = (raw[features.indexOf(f)] as Float64Array)[i] as number;
  return Number.isNaN(v) ? null : v;
};

/** A row's score under `model`: a probability (logistic) or a value (linear). A missing feature counts as the mean. */
export function scoreRow(
  model: Pick<TrainedModel, 'model' | 'weights' | 'intercept' | 'labelScaler'>,
  value: (feature: string) => number | null,
): number {
  let z = model.intercept;
  for (const w of model.weights) {
    const v = value(w.feature);
    if (v === null) continue;
    z += w.weight * Math.max(-4, Math.min(4, (v - w.mean) / w.scale));
  }
  if (model.model === 'logistic') return sigmoid(z);
  return model.labelScaler === null ? z : model.labelScaler.mean + model.labelScaler.scale * z;
}
