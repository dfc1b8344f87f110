// Horizontal federated averaging simulated in one process with plain sums (no secure aggregation, no network) on
// the FATE breast data dealt to 3 and 5 parties, against a model trained on the pooled training rows in the same run
// with the same standardization and the exact sigmoid; and the pure parts it is made of: the weighted average, the
// global scaler from summed statistics, the metrics from summed counts, the local update and the stopping rule.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { averageFromSum, contributionBound, updateVector, WEIGHT_BOUND } from '../../../mpc/hfl/fedavg.ts';
import { scalerFromSum, scalerStats } from '../../../mpc/hfl/global-scaler.ts';
import { learningRateAt, LOCAL_TRAINING_DEFAULTS, trainLocal } from '../../../mpc/hfl/local-training.ts';
import { localMetricCounts, METRIC_BINS, metricsFromCounts } from '../../../mpc/hfl/metric-counts.ts';
import { bestRound, STOPPING_DEFAULTS, stopReason, type StopReason } from '../../../mpc/hfl/stopping-rule.ts';
import { partialScores, trainPlain, type Task } from '../../../mpc/vfl/linear-model.ts';
import { auc, logLoss, mae, metricsOf, rmse, type Scored } from '../../../mpc/vfl/metrics.ts';
import { applyScaler, fitScaler, type Scaler } from '../../../mpc/vfl/standardize.ts';
import { epochBatches } from '../../../mpc/vfl/training-plan.ts';
import { FEATURES, loadBreast, poolParties, splitHorizontal, writePartyCsvs } from './breast-horizontal.ts';

const BREAST = loadBreast();
const sumOf = (vectors: readonly Float64Array[]) =>
  vectors.reduce((sum, v) => sum.map((x, i) => x + (v[i] as number)), new Float64Array(vectors[0]?.length ?? 0));
const intercepted = (columns: readonly Float64Array[]) => [...columns, new Float64Array(columns[0]!.length).fill(1)];

/** One party's training input: features, label, training and held-out rows. */
type Rows = { columns: Float64Array[]; label: Float64Array; train: number[]; test: number[] };

/** Logistic regression on y from x0..x29; linear regression on x4 (mean smoothness) from the other 29 features. */
const LINEAR_TARGET = 4;
function rowsFor(task: Task, party: ReturnType<typeof splitHorizontal>[number]): Rows {
  if (task === 'logistic') return { columns: party.columns, label: party.y, train: party.train, test: party.test };
  const columns = party.columns.filter((_, c) => c !== LINEAR_TARGET);
  return { columns, label: party.columns[LINEAR_TARGET]!, train: party.train, test: party.test };
}

/**
 * Features standardized with the global scaler; for linear regression the label too (its mean and scale are the
 * scaler's last entry), so that predictions go back to label units for the metrics.
 */
function standardize(task: Task, rows: Rows, scaler: Scaler) {
  const features = {
    means: scaler.means.slice(0, rows.columns.length),
    scales: scaler.scales.slice(0, rows.columns.length),
  };
  const mean = task === 'linear' ? scaler.means.at(-1)! : 0;
  const scale = task === 'linear' ? scaler.scales.at(-1)! : 1;
  return {
    columns: applyScaler(features, rows.columns).columns,
    label: rows.label.map((y) => (y - mean) / scale),
    toLabelUnits: (score: number) => score * scale + mean,
  };
}
const statsColumns = (task: Task, rows: Rows) => (task === 'linear' ? [...rows.columns, rows.label] : rows.columns);

/** Held-out (score, label) pairs: logits for logistic, label units for linear. */
function scored(task: Task, rows: Rows, scaler: Scaler, weights: readonly number[]): Scored[] {
  const std = standardize(task, rows, scaler);
  const scores = partialScores(intercepted(std.columns), weights, rows.test);
  return rows.test.map((r, i) => ({ score: std.toLabelUnits(scores[i]!), label: rows.label[r]! }));
}

function simulateFedAvg(task: Task, parties: readonly Rows[], seed: number) {
  const scaler = scalerFromSum(sumOf(parties.map((p) => scalerStats(statsColumns(task, p), p.train))));
  const standardized = parties.map((p) => standardize(task, p, scaler));
  let weights = new Array<number>(parties[0]!.columns.length + 1).fill(0);
  let reason: StopReason | null = null;
  let round = 0;
  while (reason === null) {
    const updates = parties.map((party, p) => {
      const local = trainLocal({
        task,
        ...LOCAL_TRAINING_DEFAULTS,
        columns: standardized[p]!.columns,
        label: standardized[p]!.label,
        rows: party.train,
        weights,
        seed,
        round,
      });
      return updateVector(local, party.train.length);
    });
    const previous = weights;
    weights = averageFromSum(sumOf(updates)).weights;
    round++;
    reason = stopReason(STOPPING_DEFAULTS, { round, previous, current: weights, metrics: [], isHigherBetter: true });
  }
  const pairs = parties.map((p) => scored(task, p, scaler, weights));
  const counts = pairs.map((own) =>
    localMetricCounts(
      task,
      own.map((s) => s.score),
      own.map((s) => s.label),
    ),
  );
  return { scaler, weights, reason, round, metrics: metricsFromCounts(task, sumOf(counts)), pairs: pairs.flat() };
}

/**
 * The reference: the model on the pooled training rows, fitted as datasets/README.md's baselines are (full-batch
 * gradient descent, 500 epochs, step 0.1, exact sigmoid) with FedAvg's L2: deterministic, so the gap measured is
 * FedAvg's alone, not the mini-batch noise of a second stochastic run.
 */
const POOLED = { epochs: 500, learningRate: 0.1 };
function pooledModel(task: Task, pooled: Rows, scaler: Scaler) {
  const std = standardize(task, pooled, scaler);
  const { weights } = trainPlain({
    task,
    columns: std.columns,
    label: std.label,
    batches: () => [pooled.train],
    ...POOLED,
    l2: LOCAL_TRAINING_DEFAULTS.l2,
    tolerance: 0,
    link: 'exact',
  });
  const pairs = scored(task, pooled, scaler, weights);
  return { weights, pairs, metrics: metricsOf(task, pairs) };
}

function compare(task: Task, parties: number, seed: number) {
  const split = splitHorizontal({ parties, seed, table: BREAST });
  const fed = simulateFedAvg(
    task,
    split.map((p) => rowsFor(task, p)),
    seed,
  );
  const pooledRows = rowsFor(task, poolParties(split));
  const pooled = pooledModel(task, pooledRows, fed.scaler);
  return { split, fed, pooled, pooledRows };
}

describe('FedAvg on breast, simulated with plain sums, against the pooled model', () => {
  it.each([
    [3, 1],
    [3, 2],
    [3, 3],
    [5, 1],
    [5, 2],
    [5, 3],
  ])('logistic, %i parties, seed %i: the global AUC from summed counts is within 0.01 of the pooled AUC', (p, seed) => {
    const { fed, pooled, pooledRows } = compare('logistic', p, seed);
    const fedAuc = fed.metrics.auc!;
    const pooledAuc = pooled.metrics.auc!;
    const largest = Math.max(...fed.weights.map(Math.abs), ...pooled.weights.map(Math.abs));
    console.log(
      `hfl breast logistic P=${p} seed=${seed}: fedavg AUC ${fedAuc.toFixed(4)} (bin bound ` +
        `${fed.metrics.aucBinError!.toExponential(1)}), pooled ${pooledAuc.toFixed(4)}, largest |w| ${largest.toFixed(2)}`,
    );
    expect(fed.reason).toBe('rounds');
    expect(fed.round).toBe(STOPPING_DEFAULTS.rounds);
    expect(fed.metrics.rows).toBe(pooledRows.test.length);
    expect(Math.abs(fedAuc - pooledAuc)).toBeLessThanOrEqual(0.01);
    expect(fedAuc).toBeGreaterThan(0.97);
    // The counts' AUC is the exact AUC of the union's scores up to its own stated binning bound.
    expect(Math.abs(fedAuc - auc(fed.pairs))).toBeLessThanOrEqual(fed.metrics.aucBinError! + 1e-12);
    expect(fed.metrics.logLoss).toBeCloseTo(logLoss(fed.pairs), 10);
    // Clipping never touched these models: the bound is far outside them.
    expect(largest).toBeLessThan(WEIGHT_BOUND / 32);
  });

  it.each([
    [3, 1],
    [3, 2],
    [3, 3],
    [5, 1],
    [5, 2],
    [5, 3],
  ])('linear (x4 from the other 29), %i parties, seed %i: RMSE within 5% of the pooled RMSE', (p, seed) => {
    const { fed, pooled } = compare('linear', p, seed);
    console.log(
      `hfl breast linear P=${p} seed=${seed}: fedavg RMSE ${fed.metrics.rmse!.toFixed(4)} R² ${fed.metrics.r2!.toFixed(4)}, ` +
        `pooled RMSE ${pooled.metrics.rmse!.toFixed(4)}`,
    );
    expect(fed.reason).toBe('rounds');
    expect(Math.abs(fed.metrics.rmse! - pooled.metrics.rmse!)).toBeLessThanOrEqual(0.05 * pooled.metrics.rmse!);
    expect(fed.metrics.rmse).toBeCloseTo(rmse(fed.pairs), 10);
    expect(fed.metrics.mae).toBeCloseTo(mae(fed.pairs), 10);
    expect(fed.metrics.r2).toBeGreaterThan(0.8);
  });
});

describe('the horizontal breast fixture', () => {
  it('deals all 569 joined rows to disjoint parties in unequal shares, the same for the same seed', () => {
    const parties = splitHorizontal({ parties: 3, seed: 1, table: BREAST });
    expect(parties.map((p) => p.ids.length)).toEqual([285, 189, 95]);
    const ids = parties.flatMap((p) => p.ids);
    expect(new Set(ids).size).toBe(569);
    expect(splitHorizontal({ parties: 3, seed: 1, table: BREAST }).map((p) => p.ids)).toEqual(
      parties.map((p) => p.ids),
    );
    expect(splitHorizontal({ parties: 3, seed: 2, table: BREAST })[0]!.ids).not.toEqual(parties[0]!.ids);
    // Row 133 is the first of both files: x0 from the guest, x10 from the host's x0.
    const party = parties.find((p) => p.ids.includes('133'))!;
    const r = party.ids.indexOf('133');
    expect([party.y[r], party.columns[0]![r], party.columns[10]![r]]).toEqual([1, 0.254879, 0.449512]);
  });

  it('holds out about a fifth of each party, and the pooled held-out rows are exactly the union of the parties', () => {
    const parties = splitHorizontal({ parties: 5, seed: 3, table: BREAST });
    for (const p of parties) {
      expect(p.train.length + p.test.length).toBe(p.ids.length);
      expect(Math.abs(p.test.length / p.ids.length - 0.2)).toBeLessThan(0.06);
    }
    const pooled = poolParties(parties);
    expect(pooled.test.map((r) => pooled.ids[r]).sort()).toEqual(
      parties.flatMap((p) => p.test.map((r) => p.ids[r])).sort(),
    );
  });

  it('writes each party as id,y,x0..x29 in its own order, values read back unchanged', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hfl-breast-'));
    try {
      const parties = splitHorizontal({ parties: 3, seed: 2, table: BREAST });
      const paths = writePartyCsvs(parties, dir);
      expect(paths).toHaveLength(3);
      const [head, ...lines] = readFileSync(paths[2]!, 'utf8').trim().split('\n');
      expect(head).toBe(['id', 'y', ...FEATURES].join(','));
      expect(lines).toHaveLength(parties[2]!.ids.length);
      const cells = lines[5]!.split(',');
      expect(cells[0]).toBe(parties[2]!.ids[5]);
      expect(cells.slice(1).map(Number)).toEqual([parties[2]!.y[5], ...parties[2]!.columns.map((c) => c[5])]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('fedavg: contributions and their average', () => {
  const weight = fc.double({ min: -WEIGHT_BOUND, max: WEIGHT_BOUND, noNaN: true });
  const party = (d: number) =>
    fc.record({ weights: fc.array(weight, { minLength: d, maxLength: d }), rows: fc.nat(5000) });

  it('the average from the summed contributions is Σ n_p·w_p / Σ n_p, with the total row count', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }).chain((d) => fc.array(party(d), { minLength: 1, maxLength: 6 })),
        (parties) => {
          const rows = parties.reduce((a, p) => a + p.rows, 0);
          fc.pre(rows > 0);
          const { weights, rows: total } = averageFromSum(sumOf(parties.map((p) => updateVector(p.weights, p.rows))));
          expect(total).toBe(rows);
          weights.forEach((w, i) => {
            const expected = parties.reduce((a, p) => a + p.rows * p.weights[i]!, 0) / rows;
            expect(Math.abs(w - expected)).toBeLessThanOrEqual(1e-9 * WEIGHT_BOUND);
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('one party alone gets its own weights back', () => {
    expect(averageFromSum(updateVector([0.5, -1.25, 3], 10))).toEqual({ weights: [0.5, -1.25, 3], rows: 10 });
  });

  it('weights beyond ±64 are clipped, so every entry stays within contributionBound(rows)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1 }),
        fc.nat(1e6),
        (w, rows) => {
          const bound = contributionBound(rows);
          expect(updateVector(w, rows).every((v) => Math.abs(v) <= bound)).toBe(true);
        },
      ),
    );
    expect(Array.from(updateVector([100, -100, 1], 2))).toEqual([128, -128, 2, 2]);
    expect(contributionBound(1000)).toBe(64_000);
  });

  it('RangeError: a non-finite weight, a fractional or negative row count, a sum with no rows', () => {
    expect(() => updateVector([Number.NaN], 3)).toThrow(RangeError);
    expect(() => updateVector([Infinity], 3)).toThrow(RangeError);
    expect(() => updateVector([1], 2.5)).toThrow(RangeError);
    expect(() => updateVector([1], -1)).toThrow(RangeError);
    expect(() => averageFromSum(updateVector([1, 2], 0))).toThrow(RangeError);
    expect(() => averageFromSum([3])).toThrow(RangeError);
    expect(() => contributionBound(-1)).toThrow(RangeError);
  });
});

describe('global scaler: standardization from summed statistics', () => {
  const value = fc.oneof(
    { weight: 9, arbitrary: fc.double({ min: -1e3, max: 1e3, noNaN: true }) },
    { weight: 1, arbitrary: fc.constant(Number.NaN) },
  );

  it('the scaler from the sum of per-party stats equals fitScaler on the pooled rows, missing values included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((d) =>
          fc.array(fc.array(fc.array(value, { minLength: d, maxLength: d }), { maxLength: 30 }), {
            minLength: 1,
            maxLength: 5,
          }),
        ),
        (parties) => {
          const d = parties.flat()[0]?.length ?? 1;
          const columnsOf = (rows: number[][]) =>
            Array.from({ length: d }, (_, c) => Float64Array.from(rows, (r) => r[c]!));
          const pooledRows = parties.flat();
          const expected = fitScaler(columnsOf(pooledRows), Array.from(pooledRows.keys()));
          const got = scalerFromSum(sumOf(parties.map((rows) => scalerStats(columnsOf(rows)))));
          got.means.forEach((m, c) => expect(Math.abs(m - expected.means[c]!)).toBeLessThanOrEqual(1e-9 * 1e3));
          got.scales.forEach((s, c) => {
            const e = expected.scales[c]!;
            // fitScaler's two-pass σ is exact; the one-pass σ is close unless σ ≪ |μ| (the next test, with a shift).
            if (e === 1) expect(Math.abs(s - 1)).toBeLessThan(1e-6);
            else if (e > 1e-4 * Math.abs(expected.means[c]!)) expect(Math.abs(s - e) / e).toBeLessThanOrEqual(1e-6);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('on breast, the global scaler over the parties equals fitScaler over the pooled training rows', () => {
    const parties = splitHorizontal({ parties: 3, seed: 1, table: BREAST });
    const pooled = poolParties(parties);
    const global = scalerFromSum(sumOf(parties.map((p) => scalerStats(p.columns, p.train))));
    const expected = fitScaler(pooled.columns, pooled.train);
    global.means.forEach((m, c) => expect(m).toBeCloseTo(expected.means[c]!, 12));
    global.scales.forEach((s, c) => expect(s).toBeCloseTo(expected.scales[c]!, 10));
  });

  it('a large level with a small spread (timestamps): only sums around a public shift recover σ', () => {
    const at = (i: number) => 1.7e12 + 60 * Math.sin(i);
    const parties = [0, 1, 2].map((p) => [Float64Array.from({ length: 40 }, (_, i) => at(40 * p + i))]);
    const pooled = [Float64Array.from({ length: 120 }, (_, i) => at(i))];
    const expected = fitScaler(
      pooled,
      Array.from({ length: 120 }, (_, i) => i),
    );
    const shift = [1.7e12];
    const shifted = scalerFromSum(sumOf(parties.map((columns) => scalerStats(columns, undefined, shift))), shift);
    expect(Math.abs(shifted.scales[0]! - expected.scales[0]!) / expected.scales[0]!).toBeLessThan(1e-9);
    expect(shifted.means[0]).toBeCloseTo(expected.means[0]!, 2);
    // Without the shift, σ² ≈ 1800 drowns in rounding of order 1e-16·μ² ≈ 3e8: the column reads as constant.
    expect(scalerFromSum(sumOf(parties.map((columns) => scalerStats(columns)))).scales).toEqual([1]);
    expect(() => scalerStats(parties[0]!, undefined, [1, 2])).toThrow(RangeError);
    expect(() => scalerFromSum([1, 2, 3], [1, 2])).toThrow(RangeError);
  });

  it('a constant column gets scale 1 even when the one-pass variance rounds above zero, as fitScaler gives it', () => {
    const constant = [Float64Array.from({ length: 7 }, () => 1000.1)];
    const stats = sumOf([scalerStats(constant), scalerStats(constant), scalerStats(constant)]);
    expect(stats[2]! / stats[0]! - (stats[1]! / stats[0]!) ** 2).not.toBe(0);
    expect(scalerFromSum(stats).scales).toEqual([1]);
    expect(fitScaler(constant, [0, 1, 2]).scales).toEqual([1]);
  });

  it('a feature with one value gets scale 1, one with none mean 0 and scale 1; RangeError on a ragged sum', () => {
    expect(scalerFromSum([1, 5, 25, 0, 0, 0])).toEqual({ means: [5, 0], scales: [1, 1] });
    expect(() => scalerFromSum([1, 2])).toThrow(RangeError);
    expect(() => scalerStats([Float64Array.of(Infinity)])).toThrow(RangeError);
  });
});

/** A seeded uniform [0, 1) stream (mulberry32), so the measured numbers below repeat at every run. */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
const normal = (next: () => number) => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());

describe('metric counts: the global evaluation from summed per-party counts', () => {
  it('AUC from summed 1,024-bin histograms vs auc() on 20 random sets of 2,000 logits: within aucBinError and 1/1024', () => {
    let worstGap = 0;
    let worstBound = 0;
    for (let set = 0; set < 20; set++) {
      const next = uniform(set + 1);
      const pairs: Scored[] = Array.from({ length: 2000 }, () => {
        const label = next() < 0.4 ? 1 : 0;
        return { score: (label === 1 ? 1 : -1) + 2 * normal(next), label };
      });
      // Three parties of unequal size; a party's counts are built from its own rows only.
      const cuts = [0, 900, 1500, 2000];
      const counts = [0, 1, 2].map((p) => {
        const own = pairs.slice(cuts[p], cuts[p + 1]);
        return localMetricCounts(
          'logistic',
          own.map((s) => s.score),
          own.map((s) => s.label),
        );
      });
      const metrics = metricsFromCounts('logistic', sumOf(counts));
      const gap = Math.abs(metrics.auc! - auc(pairs));
      expect(gap).toBeLessThanOrEqual(metrics.aucBinError! + 1e-12);
      worstGap = Math.max(worstGap, gap);
      worstBound = Math.max(worstBound, metrics.aucBinError!);
      expect(metrics.logLoss).toBeCloseTo(logLoss(pairs), 10);
      expect(metrics.accuracy).toBe(pairs.filter((s) => (s.score >= 0 ? 1 : 0) === s.label).length / pairs.length);
      expect([metrics.rows, metrics.positives]).toEqual([2000, pairs.filter((s) => s.label === 1).length]);
    }
    console.log(
      `hfl metric counts: worst |AUC_bins − AUC| ${worstGap.toExponential(2)}, worst bound ${worstBound.toExponential(2)}`,
    );
    expect(worstBound).toBeLessThanOrEqual(1 / METRIC_BINS);
  });

  it('the AUC bound holds for any scores and any bin count, ties and piled-up scores included', () => {
    const logit = fc.oneof(fc.double({ min: -40, max: 40, noNaN: true }), fc.constantFrom(0, 3, -3));
    fc.assert(
      fc.property(
        fc.array(fc.record({ score: logit, label: fc.constantFrom(0, 1) }), { minLength: 2, maxLength: 200 }),
        fc.constantFrom(2, 8, 64, 1024),
        (pairs, bins) => {
          const metrics = metricsFromCounts(
            'logistic',
            localMetricCounts(
              'logistic',
              pairs.map((s) => s.score),
              pairs.map((s) => s.label),
              bins,
            ),
          );
          const exact = auc(pairs);
          if (Number.isNaN(exact)) expect(metrics.auc).toBeNaN();
          else expect(Math.abs(metrics.auc! - exact)).toBeLessThanOrEqual(metrics.aucBinError! + 1e-12);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a logit of exactly 0 (σ = 0.5, a bin edge) counts as predicted positive', () => {
    const metrics = metricsFromCounts('logistic', localMetricCounts('logistic', [0, -1e-9], [1, 0]));
    expect(metrics.accuracy).toBe(1);
    expect(metrics.auc).toBe(1);
  });

  it('linear: RMSE, MAE and R² from summed counts equal those of the union', () => {
    const next = uniform(7);
    const pairs: Scored[] = Array.from({ length: 500 }, () => {
      const label = 3 + 2 * normal(next);
      return { score: label + 0.5 * normal(next), label };
    });
    const counts = [pairs.slice(0, 100), pairs.slice(100)].map((own) =>
      localMetricCounts(
        'linear',
        own.map((s) => s.score),
        own.map((s) => s.label),
      ),
    );
    const metrics = metricsFromCounts('linear', sumOf(counts));
    const mean = pairs.reduce((a, s) => a + s.label, 0) / pairs.length;
    const total = pairs.reduce((a, s) => a + (s.label - mean) ** 2, 0);
    const residual = pairs.reduce((a, s) => a + (s.score - s.label) ** 2, 0);
    expect(metrics.rmse).toBeCloseTo(rmse(pairs), 12);
    expect(metrics.mae).toBeCloseTo(mae(pairs), 12);
    expect(metrics.r2).toBeCloseTo(1 - residual / total, 10);
    expect(metrics.rows).toBe(500);
  });

  it('what the rows lack is NaN: one class has no AUC, a constant label no R², no rows no RMSE', () => {
    expect(metricsFromCounts('logistic', localMetricCounts('logistic', [1, 2], [1, 1])).auc).toBeNaN();
    expect(metricsFromCounts('linear', localMetricCounts('linear', [1, 2], [3, 3])).r2).toBeNaN();
    expect(metricsFromCounts('linear', localMetricCounts('linear', [], [])).rmse).toBeNaN();
  });

  it('RangeError: a label other than 0 or 1, lengths that differ, a non-finite score, odd bins, a wrong-length sum', () => {
    expect(() => localMetricCounts('logistic', [0.3], [2])).toThrow(RangeError);
    expect(() => localMetricCounts('logistic', [0.3, 1], [1])).toThrow(RangeError);
    expect(() => localMetricCounts('linear', [Number.NaN], [1])).toThrow(RangeError);
    expect(() => localMetricCounts('logistic', [0.3], [1], 3)).toThrow(RangeError);
    expect(() => metricsFromCounts('logistic', new Float64Array(2 * METRIC_BINS))).toThrow(RangeError);
    expect(() => metricsFromCounts('linear', new Float64Array(4))).toThrow(RangeError);
  });
});

describe('local training', () => {
  const party = splitHorizontal({ parties: 3, seed: 1, table: BREAST })[1]!;
  const scaler = scalerFromSum(scalerStats(party.columns, party.train));
  const columns = applyScaler(scaler, party.columns).columns;
  const base = {
    task: 'logistic' as const,
    ...LOCAL_TRAINING_DEFAULTS,
    columns,
    label: party.y,
    rows: party.train,
    weights: new Array<number>(31).fill(0),
    seed: 9,
    round: 0,
  };

  it('from zero weights it is trainPlain with the exact sigmoid on the same batches', () => {
    const { weights } = trainPlain({
      task: 'logistic',
      columns,
      label: party.y,
      batches: (epoch) => epochBatches(party.train, base.batchSize, { seed: base.seed, epoch }),
      epochs: base.epochs,
      learningRate: base.learningRate,
      l2: base.l2,
      tolerance: 0,
      link: 'exact',
    });
    expect(trainLocal(base)).toEqual(weights);
  });

  it('is deterministic given the seed and round; another seed or round draws other batches', () => {
    const once = trainLocal(base);
    expect(trainLocal(base)).toEqual(once);
    expect(trainLocal({ ...base, seed: 10 })).not.toEqual(once);
    expect(trainLocal({ ...base, round: 1, decayRounds: 0 })).not.toEqual(once);
  });

  it('starts from the global weights it is given and decays the step as 1/(1 + round/decayRounds)', () => {
    const start = trainLocal(base);
    const next = trainLocal({ ...base, weights: start, round: 1, epochs: 1 });
    expect(next).not.toEqual(trainLocal({ ...base, round: 1, epochs: 1 }));
    expect(learningRateAt(0.1, 4, 4)).toBe(0.05);
    expect(learningRateAt(0.1, 4, 0)).toBe(0.1);
  });

  it('RangeError: weights of the wrong length, ragged columns, a zero batch size or epoch count', () => {
    expect(() => trainLocal({ ...base, weights: [0] })).toThrow(RangeError);
    expect(() => trainLocal({ ...base, columns: [...columns.slice(1), new Float64Array(3)] })).toThrow(RangeError);
    expect(() => trainLocal({ ...base, batchSize: 0 })).toThrow(RangeError);
    expect(() => trainLocal({ ...base, epochs: 0 })).toThrow(RangeError);
  });
});

describe('stopping rule', () => {
  const rule = { rounds: 5, tolerance: 1e-3, patience: 2 };
  const state = { previous: [1, 1], current: [2, 2], metrics: [], isHigherBetter: true };

  it("runs until `rounds`, then stops with 'rounds'", () => {
    expect([1, 2, 3, 4, 5].map((round) => stopReason(rule, { ...state, round }))).toEqual([
      null,
      null,
      null,
      null,
      'rounds',
    ]);
  });

  it("stops with 'converged' when ‖Δw‖ < tolerance·‖w‖, never with tolerance 0", () => {
    const settled = { ...state, round: 2, previous: [1, 1], current: [1.0005, 1] };
    expect(stopReason(rule, settled)).toBe('converged');
    expect(stopReason({ ...rule, tolerance: 0 }, { ...settled, current: [1, 1] })).toBeNull();
    expect(stopReason(rule, { ...settled, current: [1.002, 1] })).toBeNull();
  });

  it("stops with 'no-improvement' when the best metric is `patience` rounds old, for AUC and for RMSE", () => {
    expect(stopReason(rule, { ...state, round: 3, metrics: [0.9, 0.95, 0.94] })).toBeNull();
    expect(stopReason(rule, { ...state, round: 4, metrics: [0.9, 0.95, 0.94, 0.95] })).toBe('no-improvement');
    const rmseRule = { ...state, isHigherBetter: false };
    expect(stopReason(rule, { ...rmseRule, round: 3, metrics: [0.5, 0.4, 0.3] })).toBeNull();
    expect(stopReason(rule, { ...rmseRule, round: 3, metrics: [0.3, 0.4, 0.5] })).toBe('no-improvement');
    expect(stopReason({ ...rule, patience: 0 }, { ...rmseRule, round: 3, metrics: [0.3, 0.4, 0.5] })).toBeNull();
  });

  it('a NaN metric is never the best; converged takes precedence over no-improvement over rounds', () => {
    expect(bestRound([Number.NaN, 0.8, Number.NaN], true)).toBe(2);
    expect(bestRound([Number.NaN], true)).toBe(1);
    expect(stopReason(rule, { ...state, round: 3, metrics: [Number.NaN, Number.NaN, Number.NaN] })).toBeNull();
    const all = { ...state, round: 5, previous: [1, 1], current: [1, 1], metrics: [0.9, 0.8, 0.8, 0.8, 0.8] };
    expect(stopReason(rule, all)).toBe('converged');
    expect(stopReason(rule, { ...all, current: [2, 2] })).toBe('no-improvement');
  });

  it('RangeError: rounds below 1, a negative tolerance or patience, round 0, weights of different lengths', () => {
    expect(() => stopReason({ ...rule, rounds: 0 }, { ...state, round: 1 })).toThrow(RangeError);
    expect(() => stopReason({ ...rule, tolerance: -1 }, { ...state, round: 1 })).toThrow(RangeError);
    expect(() => stopReason({ ...rule, patience: 1.5 }, { ...state, round: 1 })).toThrow(RangeError);
    expect(() => stopReason(rule, { ...state, round: 0 })).toThrow(RangeError);
    expect(() => stopReason(rule, { ...state, round: 1, current: [1] })).toThrow(RangeError);
  });
});
