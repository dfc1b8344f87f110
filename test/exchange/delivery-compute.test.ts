// What compute-to-data deliveries compute (exchange/delivery-compute.ts) and what an order's terms give it
// (exchange/order.ts): aggregates withhold groups and measures under k; a model needs enough rows and scores a row as
// its weights say; an order takes the price and quota its tier or job count fits, and nothing else.
import { describe, expect, it } from 'vitest';
import { scoreRow, segmentAggregates, trainModel } from '../../exchange/delivery-compute.ts';
import { orderTerms } from '../../exchange/order.ts';

const rows = Array.from({ length: 40 }, (_, i) => ({
  subject: `sp_${String(i).padStart(16, '0')}`,
  region: i < 25 ? 'A' : i < 37 ? 'B' : 'C',
  x: i,
  y: i % 2,
  partial: i < 28 ? i : null,
}));

describe('segment aggregates', () => {
  it('describes groups of at least k and withholds the rest whole', () => {
    const out = segmentAggregates(rows, { segment: 'region', measures: ['x', 'partial'] }, 10);
    expect(out.suppressedGroups).toBe(1);
    expect(out.groups.map((g) => [g.segment, g.subjects])).toEqual([
      ['A', 25],
      ['B', 12],
    ]);
    const a = out.groups[0]!.measures.x!;
    expect(a.mean).toBeCloseTo(12, 12);
    expect(a.sum).toBe(300);
    // In B only 3 rows have `partial`: under k, withheld like a small group.
    expect(out.groups[1]!.measures.partial).toBeNull();
  });

  it('refuses a measure that is not numeric', () => {
    expect(() => segmentAggregates(rows, { segment: 'region', measures: ['region'] }, 5)).toThrow(
      /not a numeric field/,
    );
  });
});

describe('a model trained where the data lives', () => {
  const request = {
    model: 'linear' as const,
    label: 'x',
    features: ['y'],
    epochs: 50,
    learningRate: 0.5,
    l2: 0,
    batchSize: 16,
    testPercent: 20,
    seed: 1,
  };

  it('needs at least k training rows', () => {
    expect(() => trainModel(rows, request, 100)).toThrow(/too few rows/);
  });

  it('scores a row as its weights, scales and intercept say, in label units', () => {
    const model = trainModel(rows, request, 10);
    expect(model.rows.train + model.rows.test).toBe(40);
    const [w] = model.weights;
    const z = model.intercept + w!.weight * ((1 - w!.mean) / w!.scale);
    const s = model.labelScaler!;
    expect(scoreRow(model, () => 1)).toBeCloseTo(s.mean + s.scale * z, 12);
  });
});

describe('order terms', () => {
  const quota = { jobs: 5, subjectsTouched: 1_000 };
  const money = (amount: number) => ({ amount, currency: 'CNY' });

  it('a fixed offer sells its quota whole', () => {
    expect(orderTerms({ kind: 'fixed', price: money(9), quota }, {})).toEqual({ tier: null, price: money(9), quota });
    expect(() => orderTerms({ kind: 'fixed', price: money(9), quota }, { jobs: 2 })).toThrow(/whole/);
    expect(() => orderTerms({ kind: 'fixed', price: money(9), quota }, { tier: 'x' })).toThrow(/no tiers/);
  });

  it('a tiered offer sells the tier named', () => {
    const terms = {
      kind: 'tiers' as const,
      tiers: [
        { name: 'small', price: money(1), quota: { jobs: 1, subjectsTouched: 10 } },
        { name: 'large', price: money(5), quota },
      ],
    };
    expect(orderTerms(terms, { tier: 'large' })).toEqual({ tier: 'large', price: money(5), quota });
    expect(() => orderTerms(terms, {})).toThrow(/name one of the tiers: small, large/);
  });

  it('a per-job offer sells the jobs asked, up to its quota', () => {
    const terms = { kind: 'per-job' as const, pricePerJob: money(3), quota };
    expect(orderTerms(terms, { jobs: 4 })).toEqual({
      tier: null,
      price: money(12),
      quota: { jobs: 4, subjectsTouched: 1_000 },
    });
    expect(() => orderTerms(terms, { jobs: 6 })).toThrow(/at most 5 jobs/);
    expect(() => orderTerms(terms, {})).toThrow(/number of jobs/);
  });
});
