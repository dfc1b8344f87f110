// The discounted cash flow (valuation/dcf.ts, docs/valuation.md "Cash flows and discounting"): the docs' worked
// example by hand, the annual-to-period rate, npvFast equal to npv bit for bit, the monotonicity the model promises,
// the price cap, a negative lift reported as such, and BAD_INPUT for every input out of range.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isGatewayError } from '../../core/errors.ts';
import {
  cashFlows,
  discountRateOf,
  npv,
  npvFast,
  perPeriodRate,
  type DcfInputs,
  type DcfSegment,
} from '../../valuation/dcf.ts';
import { valueOfReduction } from '../../valuation/money-mappings.ts';

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

/** The worked example of docs/valuation.md. */
const worked: DcfInputs = {
  periods: 3,
  periodsPerYear: 1,
  decayPerPeriod: 0.1,
  costPerPeriod: 5_000,
  annualDiscountRate: 0.1,
  segments: [
    { decisionsPerPeriod: 10, priceCap: 2_000, captureShare: 0.3, valueOfReduction: 6_000 },
    { decisionsPerPeriod: 4, priceCap: 1_000, captureShare: 0.5, valueOfReduction: 3_000 },
  ],
};

const segment: fc.Arbitrary<DcfSegment> = fc.record({
  decisionsPerPeriod: fc.double({ min: 0, max: 1_000, noNaN: true }),
  priceCap: fc.double({ min: 0, max: 10_000, noNaN: true }),
  captureShare: fc.double({ min: 0, max: 1, noNaN: true }),
  valueOfReduction: fc.double({ min: -10_000, max: 10_000, noNaN: true }),
});

const inputs = (opts: { isGaining?: boolean } = {}): fc.Arbitrary<DcfInputs> =>
  fc.record({
    periods: fc.integer({ min: 1, max: 60 }),
    periodsPerYear: fc.constantFrom(1, 4, 12, 52),
    decayPerPeriod: fc.double({ min: 0, max: 0.5, noNaN: true }),
    costPerPeriod: opts.isGaining === true ? fc.constant(0) : fc.double({ min: 0, max: 10_000, noNaN: true }),
    annualDiscountRate: fc.double({ min: -0.05, max: 0.5, noNaN: true }),
    segments: fc.array(
      opts.isGaining === true
        ? segment.map((s) => ({ ...s, valueOfReduction: Math.abs(s.valueOfReduction) }))
        : segment,
      { minLength: 1, maxLength: 4 },
    ),
  });

describe('the worked example', () => {
  it('i = 2.5% + 2% + 1.5% + 1% + 3% = 10% a year', () => {
    const rate = {
      riskFree: 0.025,
      premia: { management: 0.02, circulation: 0.015, security: 0.01, regulatory: 0.03 },
    };
    expect(discountRateOf(rate)).toBeCloseTo(0.1, 15);
  });

  it('gives F = 17,000, 15,200, 13,580 and NPV = 38,219.38', () => {
    // segment A: 0.3 × 6,000 = 1,800 then × 0.9 per period: 1,800, 1,620, 1,458, all under the cap 2,000;
    // segment B: 0.5 × 3,000 = 1,500, 1,350, 1,215, all above the cap 1,000, so 1,000 each period
    // F1 = 10 × 1,800 + 4 × 1,000 − 5,000 = 17,000; F2 = 16,200 + 4,000 − 5,000 = 15,200;
    // F3 = 14,580 + 4,000 − 5,000 = 13,580
    expect(cashFlows(worked)).toEqual([17_000, 15_200, 13_580]);
    // NPV = 17,000 / 1.1 + 15,200 / 1.21 + 13,580 / 1.331 = 15,454.5455 + 12,561.9835 + 10,202.8550 = 38,219.3839
    expect(npv(worked)).toBeCloseTo(38_219.383921863, 8);
    expect(npvFast(worked)).toBe(npv(worked));
  });

  it('takes a cost per period as an array', () => {
    // F = 22,000 − 1,000, 20,200 − 2,000, 18,580 − 3,000 = 21,000, 18,200, 15,580
    const flows = cashFlows({ ...worked, costPerPeriod: [1_000, 2_000, 3_000] });
    expect(flows).toEqual([21_000, 18_200, 15_580]);
  });
});

describe('discounting', () => {
  it('an annual 8% is (1.08)^(1/12) − 1 = 0.643403% a month, which compounds back to 8% over 12 months', () => {
    const monthly = perPeriodRate(0.08, 12);
    expect(monthly).toBeCloseTo(0.00643403011, 11);
    expect((1 + monthly) ** 12 - 1).toBeCloseTo(0.08, 14);
  });

  it('12 monthly flows of 1 at 8% a year are worth Σ 1.08^(−t/12), and the 12th is discounted by one full year', () => {
    const monthly: DcfInputs = {
      periods: 12,
      periodsPerYear: 12,
      decayPerPeriod: 0,
      costPerPeriod: 0,
      annualDiscountRate: 0.08,
      segments: [{ decisionsPerPeriod: 1, priceCap: 1, captureShare: 1, valueOfReduction: 5 }],
    };
    let expected = 0;
    for (let t = 1; t <= 12; t++) expected += 1.08 ** (-t / 12);
    expect(npv(monthly)).toBeCloseTo(expected, 12);
    const lastOnly = { ...monthly, costPerPeriod: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0] };
    expect(npv(lastOnly)).toBeCloseTo(1 / 1.08, 12);
  });

  it('npvFast equals npv bit for bit, and npv is the discounted sum of cashFlows', () => {
    fc.assert(
      fc.property(inputs(), (run) => {
        expect(Object.is(npvFast(run), npv(run))).toBe(true);
        const r = perPeriodRate(run.annualDiscountRate, run.periodsPerYear);
        const direct = cashFlows(run).reduce((s, f, t) => s + f / (1 + r) ** (t + 1), 0);
        expect(Math.abs(npv(run) - direct)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(direct)));
      }),
      { numRuns: 200 },
    );
  });
});

describe('monotonicity', () => {
  const gap = (min: number, max: number) => fc.double({ min, max, noNaN: true });

  it('NPV rises as the error with the package (e1) falls', () => {
    const mapping = { name: 'newsvendor', underageCost: 120, overageCost: 40 } as const;
    fc.assert(
      fc.property(inputs(), gap(0, 1_000), gap(0, 1_000), gap(0, 1_000), (run, e0, a, b) => {
        const [low, high] = a < b ? [a, b] : [b, a];
        const withError = (e1: number): DcfInputs => ({
          ...run,
          segments: run.segments.map((s) => ({ ...s, valueOfReduction: valueOfReduction(mapping, e0, e1) })),
        });
        expect(npvFast(withError(low))).toBeGreaterThanOrEqual(npvFast(withError(high)));
      }),
    );
  });

  it('NPV rises with the capture share when the package helps', () => {
    fc.assert(
      fc.property(inputs({ isGaining: true }), gap(0, 1), (run, extra) => {
        const more = run.segments.map((s) => ({ ...s, captureShare: Math.min(1, s.captureShare + extra) }));
        expect(npvFast({ ...run, segments: more })).toBeGreaterThanOrEqual(npvFast(run));
      }),
    );
  });

  it('NPV falls with the discount rate when every cash flow is ≥ 0', () => {
    fc.assert(
      fc.property(inputs({ isGaining: true }), gap(1e-6, 0.5), (run, extra) => {
        const higher = { ...run, annualDiscountRate: run.annualDiscountRate + extra };
        expect(npvFast(higher)).toBeLessThanOrEqual(npvFast(run));
      }),
    );
  });

  it('NPV falls with the decay when the package helps', () => {
    fc.assert(
      fc.property(inputs({ isGaining: true }), gap(0, 0.49), (run, extra) => {
        const faster = { ...run, decayPerPeriod: run.decayPerPeriod + extra };
        expect(npvFast(faster)).toBeLessThanOrEqual(npvFast(run));
      }),
    );
  });

  it('NPV falls with the cost, by the cost times the annuity factor', () => {
    fc.assert(
      fc.property(inputs(), gap(1, 1_000), (run, extra) => {
        const cost = run.costPerPeriod as number;
        const dearer = npvFast({ ...run, costPerPeriod: cost + extra });
        expect(dearer).toBeLessThan(npvFast(run));
        const v = 1 / (1 + perPeriodRate(run.annualDiscountRate, run.periodsPerYear));
        let annuity = 0;
        for (let t = 1; t <= run.periods; t++) annuity += v ** t;
        const drop = npvFast(run) - dearer;
        expect(Math.abs(drop - extra * annuity)).toBeLessThanOrEqual(1e-9 * (Math.abs(npvFast(run)) + extra * annuity));
      }),
    );
  });
});

describe('the price cap and the sign', () => {
  it('binds: once capture·ΔV(t) ≥ p_k in every period, more value adds nothing and each decision pays p_k', () => {
    fc.assert(
      fc.property(inputs({ isGaining: true }), fc.double({ min: 1, max: 100, noNaN: true }), (run, factor) => {
        // make capture·ΔV·(1 − δ)^(T−1) ≥ p for every segment, then scale ΔV up further
        const keep = (1 - run.decayPerPeriod) ** (run.periods - 1);
        const capped = run.segments.map((s) => ({ ...s, captureShare: 1, valueOfReduction: (s.priceCap + 1) / keep }));
        const richer = capped.map((s) => ({ ...s, valueOfReduction: s.valueOfReduction * factor }));
        const flows = cashFlows({ ...run, segments: capped });
        const perPeriod = capped.reduce((sum, s) => sum + s.decisionsPerPeriod * s.priceCap, 0);
        for (const f of flows) expect(f).toBeCloseTo(perPeriod, 6);
        expect(npvFast({ ...run, segments: richer })).toBe(npvFast({ ...run, segments: capped }));
      }),
    );
  });

  it('a package that makes forecasts worse gives negative revenue, reported as it is', () => {
    // ΔV = newsvendor from σ 380 to 500: −6,101.31; 0.3 × −6,101.31 = −1,830.39 < cap, so revenue is −18,303.93
    const worse = valueOfReduction({ name: 'newsvendor', underageCost: 120, overageCost: 40 }, 380, 500);
    const run: DcfInputs = {
      ...worked,
      periods: 1,
      costPerPeriod: 0,
      segments: [{ decisionsPerPeriod: 10, priceCap: 2_000, captureShare: 0.3, valueOfReduction: worse }],
    };
    expect(cashFlows(run)[0]).toBeCloseTo(-18_303.930586, 5);
    expect(npv(run)).toBeCloseTo(-18_303.930586 / 1.1, 5);
  });
});

describe('BAD_INPUT', () => {
  const seg = worked.segments[0]!;
  const withSegment = (patch: Partial<DcfSegment>): DcfInputs => ({ ...worked, segments: [{ ...seg, ...patch }] });
  const cases: [DcfInputs, string][] = [
    [{ ...worked, periods: 0 }, 'periods'],
    [{ ...worked, periods: 601 }, 'periods'],
    [{ ...worked, periods: 1.5 }, 'periods'],
    [{ ...worked, periodsPerYear: 0 }, 'periodsPerYear'],
    [{ ...worked, periodsPerYear: 1.5 }, 'periodsPerYear'],
    [{ ...worked, decayPerPeriod: 1 }, 'decayPerPeriod'],
    [{ ...worked, decayPerPeriod: -0.1 }, 'decayPerPeriod'],
    [{ ...worked, decayPerPeriod: Number.NaN }, 'decayPerPeriod'],
    [{ ...worked, costPerPeriod: -1 }, 'costPerPeriod'],
    [{ ...worked, costPerPeriod: [1, 2] }, 'costPerPeriod'],
    [{ ...worked, costPerPeriod: [1, Number.NaN, 3] }, 'costPerPeriod[1]'],
    [{ ...worked, annualDiscountRate: -1 }, 'annualDiscountRate'],
    [{ ...worked, annualDiscountRate: Infinity }, 'annualDiscountRate'],
    [{ ...worked, segments: [] }, 'segments'],
    [withSegment({ decisionsPerPeriod: -1 }), 'segments[0].decisionsPerPeriod'],
    [withSegment({ priceCap: Number.NaN }), 'segments[0].priceCap'],
    [withSegment({ captureShare: 1.01 }), 'segments[0].captureShare'],
    [withSegment({ captureShare: -0.01 }), 'segments[0].captureShare'],
    [withSegment({ valueOfReduction: Infinity }), 'segments[0].valueOfReduction'],
  ];

  it('cashFlows, npv and npvFast refuse every input out of range, naming the field', () => {
    for (const [run, field] of cases) {
      for (const f of [cashFlows, npv, npvFast]) expectBadInput(() => f(run), field);
    }
  });

  it('discountRateOf refuses a negative premium and a rate at or below −100%', () => {
    const premia = { management: 0.02, circulation: 0.015, security: 0.01, regulatory: 0.03 };
    expectBadInput(() => discountRateOf({ riskFree: 0.02, premia: { ...premia, security: -0.01 } }), 'premia.security');
    expectBadInput(() => discountRateOf({ riskFree: -1.2, premia }), 'discount rate');
    expectBadInput(() => discountRateOf({ riskFree: Number.NaN, premia }), 'riskFree');
  });
});
