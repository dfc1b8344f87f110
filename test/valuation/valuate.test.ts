// The whole valuation (docs/valuation.md): the report follows its schema; the Monte Carlo equals the deterministic NPV
// when nothing is uncertain, agrees with an analytic mean within 3 standard errors, and is byte-identical for a seed;
// the Shapley values add up to the revenue's present value and give nothing to a dimension that adds nothing.
import { describe, expect, it } from 'vitest';
import { npv } from '../../valuation/dcf.ts';
import { valueOfReduction } from '../../valuation/money-mappings.ts';
import { shapleySubsetsNeeded, valuate } from '../../valuation/valuate.ts';
import { ValuationInput, type ValuationRequest } from '../../valuation/valuation-input.ts';
import { ValuationReport } from '../../valuation/valuation-report.ts';
import { automotivePackage } from './automotive-package.ts';

/** One segment, one dimension, everything fixed: the smallest valuation, whose NPV the test computes by hand. */
function fixedPackage(overrides: Partial<ValuationRequest> = {}): ValuationRequest {
  return {
    version: 1,
    package: {
      packageId: 'fixed',
      name: 'Fixed',
      dimensions: [{ id: 'only', label: 'Only', columns: ['v.c'] }],
      coverage: { subjects: 10 },
      refreshCadence: 'monthly',
      consentBasis: { root: `0x${'00'.repeat(32)}`, records: 10, subjects: 10 },
    },
    segments: [
      {
        id: 'planner',
        label: 'Planner',
        decisionsPerPeriod: 10,
        priceCap: 1_000,
        captureShare: 0.5,
        mapping: { name: 'linear-misallocation', budget: 10_000, lossRate: 0.2 },
        errors: { e0: 0.3, e1: 0.2, source: { kind: 'manual', enteredBy: 'test', note: 'fixed' } },
      },
    ],
    horizon: { periods: 3, periodsPerYear: 12 },
    decayPerPeriod: 0.1,
    costPerPeriod: 500,
    discountRate: { riskFree: 0.02, premia: { management: 0.01, circulation: 0, security: 0, regulatory: 0 } },
    monteCarlo: { draws: 200, seed: 7 },
    ...overrides,
  };
}

describe('valuate', () => {
  it('with every input fixed, the Monte Carlo is the deterministic NPV, computed here by hand', () => {
    const report = valuate(fixedPackage());
    expect(ValuationReport.parse(report)).toEqual(report);
    // Linear misallocation: cost = λ·B·WAPE/2, so ΔV = 0.2 · 10,000 · (0.3 − 0.2) / 2 = 100 per decision.
    // Revenue per decision = min(1,000, 0.5 · 100 · 0.9^(t−1)): 50, 45, 40.5; ×10 decisions − 500 cost:
    // F = 0, −50, −95. Rate: (1.03)^(1/12) − 1 per month.
    const r = Math.pow(1.03, 1 / 12) - 1;
    const expected = 0 / (1 + r) - 50 / (1 + r) ** 2 - 95 / (1 + r) ** 3;
    expect(report.deterministic.cashFlows.map((f) => Number(f.toFixed(9)) + 0)).toEqual([0, -50, -95]);
    expect(report.deterministic.npv).toBeCloseTo(expected, 9);
    // Every draw is the deterministic NPV (the mean only up to summation rounding).
    expect(report.monteCarlo.npv).toMatchObject({ p5: report.deterministic.npv, p95: report.deterministic.npv });
    expect(report.monteCarlo.npv.mean).toBeCloseTo(report.deterministic.npv, 9);
    expect(report.monteCarlo.npv.sd).toBeLessThan(1e-9);
    expect(report.monteCarlo.npv.probabilityBelowZero).toBe(1);
    expect(report.sensitivity.tornado.bars).toEqual([]);
    // One dimension: it earns the whole revenue.
    expect(report.shapley).toMatchObject({ method: 'exact', dimensions: [{ id: 'only', share: 1 }] });
  });

  it("the Monte Carlo mean agrees with the analytic mean within 3 standard errors, and a seed's report is byte-identical", () => {
    // NPV is linear in the decisions per period while the price cap does not bind: E[NPV] = NPV(E[n]).
    const base = fixedPackage();
    const uncertain = fixedPackage({
      segments: [{ ...base.segments[0]!, decisionsPerPeriod: { kind: 'uniform', min: 5, max: 25 } }],
      monteCarlo: { draws: 20_000, seed: 11 },
    });
    const report = valuate(uncertain);
    const mapping = { name: 'linear-misallocation', budget: 10_000, lossRate: 0.2 } as const;
    const analytic = npv({
      periods: 3,
      periodsPerYear: 12,
      decayPerPeriod: 0.1,
      costPerPeriod: 500,
      annualDiscountRate: 0.03,
      segments: [
        {
          decisionsPerPeriod: 15,
          priceCap: 1_000,
          captureShare: 0.5,
          valueOfReduction: valueOfReduction(mapping, 0.3, 0.2),
        },
      ],
    });
    const { mean, standardError } = report.monteCarlo.npv;
    expect(Math.abs(mean - analytic)).toBeLessThan(3 * standardError);

    expect(JSON.stringify(valuate(uncertain))).toBe(JSON.stringify(report));
    const reseeded = valuate({ ...uncertain, monteCarlo: { draws: 20_000, seed: 12 } });
    expect(reseeded.monteCarlo.npv.mean).not.toBe(mean);
  });

  it('prices the automotive package: Shapley values add up, the tornado is sorted, collateral and cross-checks are filled', () => {
    const report = valuate(automotivePackage());
    expect(ValuationReport.parse(report)).toEqual(report);
    const shapley = report.shapley!;
    expect(shapley.method).toBe('exact');
    const sum = shapley.dimensions.reduce((a, d) => a + d.value, 0);
    expect(sum).toBeCloseTo(shapley.revenuePresentValue, 6);
    const swings = report.sensitivity.tornado.bars.map((b) => b.swing);
    expect(swings).toEqual([...swings].sort((a, b) => b - a));
    expect(report.monteCarlo.npv.p5).toBeLessThan(report.monteCarlo.npv.p50);
    expect(report.monteCarlo.cashFlowBands).toHaveLength(36);
    expect(report.collateral?.total).toBeCloseTo(1 - 0.9 * 0.75, 12);
    expect(report.covenant).toMatchObject({ holds: true, periods: 36, bound: 0.037 });
    expect(report.crossChecks?.income).toBe(report.monteCarlo.npv.p50);
  });

  it('a dimension that adds nothing gets nothing, and identical dimensions get the same', () => {
    const pkg = ValuationInput.parse(automotivePackage({ monteCarlo: { draws: 100, seed: 3 } }));
    // Financing changes no error: every subset with it has the error of the same subset without it.
    const without = (ids: string[]) => ids.filter((id) => id !== 'financing').join('+');
    const errorsOf = (table: Record<string, number>, e0: number, e1: number) => (ids: string[]) =>
      ids.length === 0 ? e0 : ids.length === 3 ? e1 : table[ids.join('+')]!;
    const battery = errorsOf(
      { 'purchase-intent': 430, 'nev-acceptance': 450, 'purchase-intent+nev-acceptance': 380 },
      500,
      380,
    );
    const bank = errorsOf(
      { 'purchase-intent': 0.45, 'nev-acceptance': 0.45, 'purchase-intent+nev-acceptance': 0.41 },
      0.46,
      0.41,
    );
    const subsets = shapleySubsetsNeeded(pkg);
    expect(subsets).toHaveLength(6);
    const segments = pkg.segments.map((s, k) => ({
      ...s,
      errors: { ...s.errors, e0: k === 0 ? 500 : 0.46, e1: k === 0 ? 380 : 0.41 },
      subsetErrors: subsets.map((ids) => ({
        dimensions: ids,
        e1: (k === 0 ? battery : bank)(without(ids) === '' ? [] : without(ids).split('+')),
      })),
    }));
    const shapley = valuate({ ...pkg, segments }).shapley!;
    const [intent, nev, financing] = shapley.dimensions;
    expect(financing!.value).toBeCloseTo(0, 6);
    // Purchase intent and NEV acceptance are symmetric for the bank (0.45 each), not for the battery maker.
    expect(intent!.value + nev!.value).toBeCloseTo(shapley.revenuePresentValue, 6);
  });

  it('above 4 dimensions it samples permutations, needs only their prefixes, and reports the sampling error', () => {
    const base = ValuationInput.parse(automotivePackage({ monteCarlo: { draws: 100, seed: 5 } }));
    const dimensions = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((id) => ({ id, label: id, columns: [`v.${id}`] }));
    const pkg = { ...base, package: { ...base.package, dimensions } };
    const needed = shapleySubsetsNeeded(pkg);
    expect(needed.length).toBeLessThanOrEqual(24 * 7); // against 2^8 − 2 = 254 for the exact values
    // Each dimension removes an equal share of the error: the attribution is symmetric.
    const segments = pkg.segments.map((s, k) => {
      const [e0, e1] = k === 0 ? [500, 380] : [0.46, 0.41];
      return {
        ...s,
        errors: { ...s.errors, e0, e1 },
        subsetErrors: needed.map((ids) => ({ dimensions: ids, e1: e0 - ((e0 - e1) * ids.length) / 8 })),
      };
    });
    const shapley = valuate({ ...pkg, segments }).shapley!;
    expect(shapley.method).toBe('sampled');
    expect(shapley.permutations).toBe(24);
    const total = shapley.dimensions.reduce((a, d) => a + d.value, 0);
    expect(total).toBeCloseTo(shapley.revenuePresentValue, 6);
    for (const d of shapley.dimensions) expect(d.standardError).not.toBeNull();

    // A subset it needs that was not measured is named.
    const short = segments.map((s) => ({ ...s, subsetErrors: s.subsetErrors.slice(1) }));
    expect(() => valuate({ ...pkg, segments: short })).toThrow(/has no measured error for dimensions/);
  });

  it('refuses malformed input with the paths at fault', () => {
    expect(() => valuate({ ...fixedPackage(), horizon: { periods: 0, periodsPerYear: 12 } })).toThrow(
      expect.objectContaining({ code: 'BAD_INPUT' }),
    );
    try {
      valuate({ ...fixedPackage(), monteCarlo: { draws: 10, seed: 0 } });
      expect.unreachable();
    } catch (error) {
      expect((error as { detail: { issues: { path: string }[] } }).detail.issues.map((i) => i.path)).toEqual([
        'monteCarlo.draws',
        'monteCarlo.seed',
      ]);
    }
    const dup = fixedPackage();
    dup.package.dimensions = [dup.package.dimensions[0]!, dup.package.dimensions[0]!];
    expect(() => valuate(dup)).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
  });
});
