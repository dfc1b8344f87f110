// The error-to-money mappings (valuation/money-mappings.ts, docs/valuation.md "Money mappings"): each against a case
// worked by hand, the docs' worked example, the AS 241 quantile against reference values, the newsvendor formula
// against numerical integration, and BAD_INPUT for every parameter out of range.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isGatewayError } from '../../core/errors.ts';
import {
  costPerUnitError,
  MoneyMapping,
  moneyPerDecision,
  normalDensity,
  normalizedExpectedCost,
  normalQuantile,
  ResolvedMapping,
  valueOfReduction,
} from '../../valuation/money-mappings.ts';

const expectBadInput = (run: () => unknown, field: string): void => {
  try {
    run();
  } catch (e) {
    expect(isGatewayError(e) && e.code).toBe('BAD_INPUT');
    expect(isGatewayError(e) && e.detail.field).toBe(field);
    return;
  }
  throw new Error(`expected BAD_INPUT for ${field}`);
};

/** ∫ f over [a, b] by composite Simpson's rule with n (even) intervals. */
const simpson = (f: (x: number) => number, a: number, b: number, n = 4000): number => {
  const h = (b - a) / n;
  let sum = f(a) + f(b);
  for (let i = 1; i < n; i++) sum += (i % 2 === 1 ? 4 : 2) * f(a + i * h);
  return (sum * h) / 3;
};

describe('normalQuantile (Wichura AS 241)', () => {
  it('matches the standard normal quantile to about 15 digits (reference values: mpmath, 30 digits)', () => {
    const reference: [number, number][] = [
      [0.5, 0],
      [0.75, 0.6744897501960817],
      [0.95, 1.6448536269514726],
      [0.975, 1.9599639845400543],
      [0.99, 2.326347874040841],
      [0.1, -1.2815515655446004],
      [0.3, -0.5244005127080408],
      [0.02425, -1.972961051311885],
      [1e-10, -6.361340902404057],
    ];
    for (const [p, z] of reference) expect(Math.abs(normalQuantile(p) - z)).toBeLessThanOrEqual(2e-15 * Math.max(1, z));
  });

  it('inverts the cdf: the density integrated up to Φ⁻¹(p) gives back p, and Φ⁻¹ is odd about 1/2', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-6, max: 1 - 1e-6, noNaN: true }), (p) => {
        const z = normalQuantile(p);
        expect(simpson(normalDensity, -12, z)).toBeCloseTo(p, 9);
        expect(normalQuantile(1 - p)).toBeCloseTo(-z, 9);
      }),
      { numRuns: 50 },
    );
  });

  it('refuses p outside (0, 1) with BAD_INPUT', () => {
    for (const p of [0, 1, -0.1, 1.1, Number.NaN]) expectBadInput(() => normalQuantile(p), 'p');
  });
});

describe('newsvendor', () => {
  it("the docs' battery maker: cu = 120, co = 40, σ0 = 500, σ1 = 380 saves about 6,101.31 per decision", () => {
    const mapping: ResolvedMapping = { name: 'newsvendor', underageCost: 120, overageCost: 40 };
    // critical ratio cu / (cu + co) = 120 / 160 = 0.75; z* = Φ⁻¹(0.75) = 0.6744897502
    // φ(z*) = exp(−0.6744897502² / 2) / √(2π) = exp(−0.2274682116) / 2.5066282746 = 0.7965477421 / 2.5066282746
    //       = 0.3177765727
    // slope (cu + co)·φ(z*) = 160 × 0.3177765727 = 50.8442516295 per unit of RMSE
    expect(costPerUnitError(mapping)).toBeCloseTo(50.8442516295, 9);
    // cost(500) = 50.8442516295 × 500 = 25,422.1258147; cost(380) = 50.8442516295 × 380 = 19,320.8156192
    expect(moneyPerDecision(mapping, 500)).toBeCloseTo(25_422.1258147, 6);
    expect(moneyPerDecision(mapping, 380)).toBeCloseTo(19_320.8156192, 6);
    // value = 25,422.1258147 − 19,320.8156192 = 50.8442516295 × 120 = 6,101.3101955
    expect(valueOfReduction(mapping, 500, 380)).toBeCloseTo(6_101.3101955, 6);
  });

  it('is the expected mismatch cost of the optimal order under normal errors, and no other order costs less', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 500, noNaN: true }),
        fc.double({ min: 1, max: 500, noNaN: true }),
        fc.double({ min: 1, max: 1000, noNaN: true }),
        (cu, co, sigma) => {
          // E[cu·(D − Q)⁺ + co·(Q − D)⁺] with D − mean ~ Normal(0, σ), ordering Q = mean + z·σ
          // integrated on each side of the kink at z, where each integrand is smooth
          const expectedCost = (z: number): number =>
            (simpson((x) => co * (z - x) * normalDensity(x), -12, z) +
              simpson((x) => cu * (x - z) * normalDensity(x), z, 12)) *
            sigma;
          const zStar = normalQuantile(cu / (cu + co));
          const cost = moneyPerDecision({ name: 'newsvendor', underageCost: cu, overageCost: co }, sigma);
          expect(Math.abs(expectedCost(zStar) - cost)).toBeLessThan(1e-9 * cost);
          expect(expectedCost(zStar + 0.05)).toBeGreaterThan(cost);
          expect(expectedCost(zStar - 0.05)).toBeGreaterThan(cost);
        },
      ),
      { numRuns: 20 },
    );
  });
});

describe('safety-stock', () => {
  it('h = 2, α = 0.95, L = 4: σ from 100 to 80 saves 131.588 per period', () => {
    const mapping: ResolvedMapping = { name: 'safety-stock', holdingCost: 2, serviceLevel: 0.95, leadTime: 4 };
    // z_0.95 = 1.6448536270; slope h·z·√L = 2 × 1.6448536270 × 2 = 6.5794145078 per unit of sd
    expect(costPerUnitError(mapping)).toBeCloseTo(6.5794145078, 9);
    // cost(100) = 657.94145078; value = 6.5794145078 × (100 − 80) = 131.588290156
    expect(moneyPerDecision(mapping, 100)).toBeCloseTo(657.94145078, 7);
    expect(valueOfReduction(mapping, 100, 80)).toBeCloseTo(131.588290156, 8);
  });

  it('costs nothing at a service level of one half (no safety stock)', () => {
    expect(moneyPerDecision({ name: 'safety-stock', holdingCost: 2, serviceLevel: 0.5, leadTime: 4 }, 100)).toBe(0);
  });
});

describe('cost-loss', () => {
  const mapping = { name: 'cost-loss', baseRate: 0.1, falsePositiveCost: 50, falseNegativeCost: 1000 } as const;

  it('π = 0.1, c_fp = 50, c_fn = 1000: (fpr, fnr) from (0.2, 0.3) to (0.15, 0.2) saves 12.25 per decision', () => {
    // scale π·c_fn + (1 − π)·c_fp = 0.1 × 1000 + 0.9 × 50 = 100 + 45 = 145; PC = 100 / 145
    expect(costPerUnitError(mapping)).toBeCloseTo(145, 12);
    // without: (1 − π)·fpr·c_fp + π·fnr·c_fn = 0.9 × 0.2 × 50 + 0.1 × 0.3 × 1000 = 9 + 30 = 39; NE0 = 39 / 145
    const ne0 = normalizedExpectedCost(mapping, { fpr: 0.2, fnr: 0.3 });
    expect(ne0).toBeCloseTo(39 / 145, 14);
    expect(moneyPerDecision(mapping, ne0)).toBeCloseTo(39, 12);
    // with: 0.9 × 0.15 × 50 + 0.1 × 0.2 × 1000 = 6.75 + 20 = 26.75; NE1 = 26.75 / 145
    const ne1 = normalizedExpectedCost(mapping, { fpr: 0.15, fnr: 0.2 });
    expect(moneyPerDecision(mapping, ne1)).toBeCloseTo(26.75, 12);
    // value = 39 − 26.75 = 12.25
    expect(valueOfReduction(mapping, ne0, ne1)).toBeCloseTo(12.25, 12);
  });

  it('NE × scale is the expected cost (1 − π)·fpr·c_fp + π·fnr·c_fn for any rates and costs', () => {
    const unit = fc.double({ min: 0, max: 1, noNaN: true });
    const money = fc.double({ min: 0, max: 1e6, noNaN: true });
    const costs = fc.record({ baseRate: unit, falsePositiveCost: money, falseNegativeCost: money });
    fc.assert(
      fc.property(costs, unit, unit, (c, fpr, fnr) => {
        const m = { name: 'cost-loss', ...c } as const;
        const direct = (1 - c.baseRate) * fpr * c.falsePositiveCost + c.baseRate * fnr * c.falseNegativeCost;
        const ne = normalizedExpectedCost(m, { fpr, fnr });
        expect(ne).toBeGreaterThanOrEqual(0);
        expect(ne).toBeLessThanOrEqual(1);
        expect(Math.abs(moneyPerDecision(m, ne) - direct)).toBeLessThanOrEqual(1e-9 * (1 + direct));
      }),
    );
  });
});

describe('linear-misallocation', () => {
  it('B = 1,000,000, λ = 0.3: WAPE from 0.2 to 0.15 saves 7,500 per decision', () => {
    const mapping: ResolvedMapping = { name: 'linear-misallocation', budget: 1_000_000, lossRate: 0.3 };
    // cost(0.2) = 0.3 × 1,000,000 × 0.2 / 2 = 30,000; cost(0.15) = 0.3 × 1,000,000 × 0.15 / 2 = 22,500
    expect(moneyPerDecision(mapping, 0.2)).toBeCloseTo(30_000, 8);
    expect(moneyPerDecision(mapping, 0.15)).toBeCloseTo(22_500, 8);
    expect(valueOfReduction(mapping, 0.2, 0.15)).toBeCloseTo(7_500, 8);
  });

  it('B·WAPE / 2 is the money that must move when the allocation and the need both sum to B', () => {
    // need 500k, 300k, 200k; allocated 600k, 250k, 150k: Σ|alloc − need| = 100k + 50k + 50k = 200k, WAPE = 0.2;
    // 100k too much on the first line equals 50k + 50k too little on the others: 100k = 1,000,000 × 0.2 / 2 moves
    const need = [500_000, 300_000, 200_000];
    const allocated = [600_000, 250_000, 150_000];
    const wape = need.reduce((s, n, i) => s + Math.abs(allocated[i]! - n), 0) / 1_000_000;
    const over = need.reduce((s, n, i) => s + Math.max(allocated[i]! - n, 0), 0);
    expect(wape).toBeCloseTo(0.2, 15);
    expect(moneyPerDecision({ name: 'linear-misallocation', budget: 1_000_000, lossRate: 1 }, wape)).toBeCloseTo(
      over,
      8,
    );
  });
});

describe('valueOfReduction', () => {
  const mappings: ResolvedMapping[] = [
    { name: 'newsvendor', underageCost: 120, overageCost: 40 },
    { name: 'safety-stock', holdingCost: 2, serviceLevel: 0.95, leadTime: 4 },
    { name: 'cost-loss', baseRate: 0.1, falsePositiveCost: 50, falseNegativeCost: 1000 },
    { name: 'linear-misallocation', budget: 1_000_000, lossRate: 0.3 },
  ];

  it('is cost(e0) − cost(e1) for every mapping, rises as e1 falls, and keeps its sign when e1 > e0', () => {
    const error = fc.double({ min: 0, max: 1, noNaN: true });
    fc.assert(
      fc.property(fc.constantFrom(...mappings), error, error, error, (mapping, e0, a, b) => {
        const [low, high] = a < b ? [a, b] : [b, a];
        const value = valueOfReduction(mapping, e0, low);
        expect(value).toBeCloseTo(moneyPerDecision(mapping, e0) - moneyPerDecision(mapping, low), 6);
        expect(value).toBeGreaterThanOrEqual(valueOfReduction(mapping, e0, high));
        expect(Math.sign(valueOfReduction(mapping, e0, high))).toBe(Math.sign(e0 - high));
      }),
    );
  });

  it('reports a package that makes forecasts worse as a negative value, not zero', () => {
    expect(valueOfReduction(mappings[0]!, 380, 500)).toBeCloseTo(-6_101.3101955, 6);
  });
});

describe('schemas and BAD_INPUT', () => {
  it('MoneyMapping takes numbers or distributions; ResolvedMapping only numbers; both refuse unknown fields', () => {
    const uncertain = { name: 'newsvendor', underageCost: { kind: 'triangular', min: 90, mode: 120, max: 150 } };
    expect(MoneyMapping.safeParse({ ...uncertain, overageCost: 40 }).success).toBe(true);
    expect(ResolvedMapping.safeParse({ ...uncertain, overageCost: 40 }).success).toBe(false);
    expect(MoneyMapping.safeParse({ name: 'newsvendor', underageCost: 1, overageCost: 1, extra: 1 }).success).toBe(
      false,
    );
    expect(MoneyMapping.safeParse({ name: 'kelly', budget: 1 }).success).toBe(false);
  });

  it('every parameter out of range is BAD_INPUT naming the field', () => {
    const cases: [ResolvedMapping, string][] = [
      [{ name: 'newsvendor', underageCost: 0, overageCost: 40 }, 'underageCost'],
      [{ name: 'newsvendor', underageCost: 120, overageCost: Number.NaN }, 'overageCost'],
      [{ name: 'safety-stock', holdingCost: -1, serviceLevel: 0.95, leadTime: 4 }, 'holdingCost'],
      [{ name: 'safety-stock', holdingCost: 2, serviceLevel: 1, leadTime: 4 }, 'serviceLevel'],
      [{ name: 'safety-stock', holdingCost: 2, serviceLevel: 0.4, leadTime: 4 }, 'serviceLevel'],
      [{ name: 'safety-stock', holdingCost: 2, serviceLevel: 0.95, leadTime: 0 }, 'leadTime'],
      [{ name: 'cost-loss', baseRate: 1.1, falsePositiveCost: 50, falseNegativeCost: 1000 }, 'baseRate'],
      [{ name: 'cost-loss', baseRate: 0.1, falsePositiveCost: -5, falseNegativeCost: 1000 }, 'falsePositiveCost'],
      [{ name: 'cost-loss', baseRate: 0.1, falsePositiveCost: 5, falseNegativeCost: Infinity }, 'falseNegativeCost'],
      [{ name: 'linear-misallocation', budget: -1, lossRate: 0.3 }, 'budget'],
      [{ name: 'linear-misallocation', budget: 1, lossRate: -0.3 }, 'lossRate'],
    ];
    for (const [mapping, field] of cases) expectBadInput(() => valueOfReduction(mapping, 0.5, 0.4), field);
  });

  it('an error outside its metric (negative, NE above 1, WAPE above 2, NaN) is BAD_INPUT', () => {
    const newsvendor: ResolvedMapping = { name: 'newsvendor', underageCost: 120, overageCost: 40 };
    const costLoss: ResolvedMapping = { name: 'cost-loss', baseRate: 0.1, falsePositiveCost: 5, falseNegativeCost: 9 };
    const budget: ResolvedMapping = { name: 'linear-misallocation', budget: 1, lossRate: 0.3 };
    expectBadInput(() => moneyPerDecision(newsvendor, -1), 'error');
    expectBadInput(() => moneyPerDecision(newsvendor, Infinity), 'error');
    expectBadInput(() => valueOfReduction(newsvendor, Number.NaN, 1), 'e0');
    expectBadInput(() => valueOfReduction(costLoss, 0.5, 1.2), 'e1');
    expectBadInput(() => valueOfReduction(budget, 2.5, 1), 'e0');
    expect(valueOfReduction(budget, 2, 0)).toBeCloseTo(0.3, 15);
    expectBadInput(() => normalizedExpectedCost({ ...costLoss, name: 'cost-loss' }, { fpr: 1.5, fnr: 0 }), 'fpr');
  });
});
