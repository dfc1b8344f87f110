// Cost and market cross-checks of the income value (valuation/cross-checks.ts), worked by hand.
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../core/errors.ts';
import {
  costApproach,
  crossChecks,
  marketApproach,
  type CostApproach,
  type MarketApproach,
} from '../../valuation/cross-checks.ts';

const badInput = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(GatewayError);
    expect((e as GatewayError).code).toBe('BAD_INPUT');
    return;
  }
  expect.fail('expected BAD_INPUT');
};

/** Replacement cost 400,000 + 50,000 + 150,000 + 100,000 = 700,000; less 25 % obsolescence: 525,000. */
const cost: CostApproach = {
  collection: 400_000,
  storage: 50_000,
  processing: 150_000,
  compliance: 100_000,
  obsolescence: 0.25,
};

/** Adjusted: A 600,000 · 1.2 · 0.9 = 648,000; B 500,000; C 900,000 · 0.5 = 450,000. Median 500,000. */
const market: MarketApproach = {
  comparables: [
    {
      label: 'A: dealer survey panel',
      price: 600_000,
      adjustments: [
        { factor: 'coverage', multiplier: 1.2 },
        { factor: 'freshness', multiplier: 0.9 },
      ],
    },
    { label: 'B: auto finance intent set', price: 500_000, adjustments: [] },
    { label: 'C: national NEV panel', price: 900_000, adjustments: [{ factor: 'one segment', multiplier: 0.5 }] },
  ],
};

describe('costApproach', () => {
  it('is replacement cost less obsolescence', () => {
    const c = costApproach(cost);
    expect(c.replacementCost).toBe(700_000);
    expect(c.value).toBe(525_000);
    expect(costApproach({ ...cost, obsolescence: 0 }).value).toBe(700_000);
  });

  it('refuses negative costs and obsolescence outside [0, 1)', () => {
    badInput(() => costApproach({ ...cost, storage: -1 }));
    badInput(() => costApproach({ ...cost, obsolescence: 1 }));
    badInput(() => costApproach({ ...cost, obsolescence: -0.1 }));
    badInput(() => costApproach({ ...cost, extra: 1 } as CostApproach));
  });
});

describe('marketApproach', () => {
  it('is the median of the adjusted prices, with the adjusted list', () => {
    const m = marketApproach(market);
    expect(m.value).toBe(500_000);
    expect(m.adjusted.map((a) => a.label)).toEqual(market.comparables.map((c) => c.label));
    expect(m.adjusted[0]!.adjustedPrice).toBeCloseTo(648_000, 6);
    expect(m.adjusted[0]!.price).toBe(600_000);
    expect(m.adjusted[2]!.adjustedPrice).toBe(450_000);
  });

  it('takes the mean of the middle two for an even count', () => {
    // Adding D at 800,000: sorted 450,000, 500,000, 648,000, 800,000 → (500,000 + 648,000) / 2 = 574,000.
    const four = { comparables: [...market.comparables, { label: 'D', price: 800_000, adjustments: [] }] };
    expect(marketApproach(four).value).toBeCloseTo(574_000, 6);
  });

  it('refuses no comparables, more than 50, and prices or multipliers that are not positive', () => {
    badInput(() => marketApproach({ comparables: [] }));
    const one = { label: 'x', price: 1, adjustments: [] };
    badInput(() => marketApproach({ comparables: Array.from({ length: 51 }, () => one) }));
    badInput(() => marketApproach({ comparables: [{ ...one, price: 0 }] }));
    badInput(() => marketApproach({ comparables: [{ ...one, adjustments: [{ factor: 'f', multiplier: 0 }] }] }));
  });
});

describe('crossChecks', () => {
  it('puts the approaches side by side with their spread, max over min', () => {
    // 600,000, 525,000 and 500,000: spread 600,000 / 500,000 = 1.2.
    expect(crossChecks({ incomeP50: 600_000, cost, market })).toEqual({
      income: 600_000,
      cost: 525_000,
      market: 500_000,
      spread: 1.2,
      note: null,
    });
    // Income and cost only: 600,000 / 525,000 = 8/7.
    const two = crossChecks({ incomeP50: 600_000, cost });
    expect(two.market).toBeNull();
    expect(two.spread).toBeCloseTo(8 / 7, 12);
  });

  it('has no spread with the income approach alone, or with a value not positive', () => {
    expect(crossChecks({ incomeP50: 600_000 })).toMatchObject({ cost: null, market: null, spread: null });
    const negative = crossChecks({ incomeP50: -10_000, market });
    expect(negative.spread).toBeNull();
    expect(negative.note).toMatch(/not positive/);
    badInput(() => crossChecks({ incomeP50: Number.NaN }));
  });
});
