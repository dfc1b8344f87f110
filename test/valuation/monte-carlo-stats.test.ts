// Monte Carlo summary statistics (valuation/monte-carlo-stats.ts): a small array worked by hand, the tail definitions
// (P(X < 0) strict, CVaR 5 % with a fractional boundary draw), order properties on random arrays, and refusals.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../core/errors.ts';
import { DrawSummary, summarizeDraws } from '../../valuation/monte-carlo-stats.ts';

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

describe('summarizeDraws', () => {
  it('matches a small array worked by hand', () => {
    const draws = Float64Array.from([3, -1, 4, 1, -5, 9, 2, 6, 5, 3]);
    const s = summarizeDraws(draws);
    // Sorted: −5 −1 1 2 3 3 4 5 6 9; sum 27, so the mean is 2.7.
    // Squared deviations: 59.29 13.69 2.89 0.49 0.09 0.09 1.69 5.29 10.89 39.69, sum 134.1; variance 134.1/9 = 14.9.
    // Type 7 with n = 10: h = 9p. p5: h = 0.45, −5 + 0.45·4 = −3.2. p10: h = 0.9, −5 + 0.9·4 = −1.4.
    // p50: h = 4.5, between 3 and 3. p90: h = 8.1, 6 + 0.1·3 = 6.3. p95: h = 8.55, 6 + 0.55·3 = 7.65.
    // (numpy.percentile(x, [5, 10, 50, 90, 95]) gives the same.) Two of ten draws are below zero. 5 % of 10 draws is
    // half a draw, all of it the lowest: CVaR −5.
    expect(s.n).toBe(10);
    expect(s.mean).toBeCloseTo(2.7, 14);
    expect(s.sd).toBeCloseTo(Math.sqrt(14.9), 14); // 3.8600518131237567
    expect(s.standardError).toBeCloseTo(Math.sqrt(1.49), 14); // √14.9 / √10
    expect(s.p5).toBeCloseTo(-3.2, 14);
    expect(s.p10).toBeCloseTo(-1.4, 14);
    expect(s.p50).toBe(3);
    expect(s.p90).toBeCloseTo(6.3, 14);
    expect(s.p95).toBeCloseTo(7.65, 14);
    expect(s.probabilityBelowZero).toBe(0.2);
    expect(s.cvar5).toBe(-5);
    expect(s.min).toBe(-5);
    expect(s.max).toBe(9);
    expect(DrawSummary.parse(s)).toEqual(s);
  });

  it('leaves the draws in their order', () => {
    const draws = Float64Array.from([3, 1, 2]);
    summarizeDraws(draws);
    expect(Array.from(draws)).toEqual([3, 1, 2]);
  });

  it('counts only draws strictly below zero as losses', () => {
    // −9 … 30: nine draws below zero, and 0 is not one of them.
    const draws = Float64Array.from({ length: 40 }, (_, i) => i - 9);
    expect(summarizeDraws(draws).probabilityBelowZero).toBe(9 / 40);
    expect(summarizeDraws(Float64Array.from([0, 0, 1])).probabilityBelowZero).toBe(0);
  });

  it('CVaR 5 % is the mean of the lowest 5 % of the draws', () => {
    // 40 draws −9 … 30: the lowest 2 are −9 and −8.
    expect(summarizeDraws(Float64Array.from({ length: 40 }, (_, i) => i - 9)).cvar5).toBe(-8.5);
    // 30 draws 1 … 30: 5 % is 1.5 draws, the whole of 1 and half of 2: (1 + 0.5·2) / 1.5 = 4/3.
    expect(summarizeDraws(Float64Array.from({ length: 30 }, (_, i) => i + 1)).cvar5).toBeCloseTo(4 / 3, 14);
    // 200 draws 1 … 200 shuffled: the lowest 10 average 5.5.
    const shuffled = Float64Array.from({ length: 200 }, (_, i) => ((i * 37) % 200) + 1);
    expect(summarizeDraws(shuffled).cvar5).toBeCloseTo(5.5, 14);
  });

  it('orders its statistics on any draws: min ≤ CVaR ≤ p5 ≤ p10 ≤ p50 ≤ p90 ≤ p95 ≤ max', () => {
    const draw = fc.double({ min: -1e6, max: 1e6, noNaN: true });
    fc.assert(
      fc.property(fc.array(draw, { minLength: 2, maxLength: 300 }), (xs) => {
        const s = summarizeDraws(Float64Array.from(xs));
        const chain = [s.min, s.p5, s.p10, s.p50, s.p90, s.p95, s.max];
        for (let i = 1; i < chain.length; i++) expect(chain[i]).toBeGreaterThanOrEqual(chain[i - 1] as number);
        // CVaR is a sum over up to n/20 draws, so it may carry a few roundings more than the quantiles.
        expect(s.cvar5).toBeGreaterThanOrEqual(s.min);
        expect(s.cvar5).toBeLessThanOrEqual(s.p5 + 1e-9 * Math.max(1, Math.abs(s.p5)));
        expect(s.probabilityBelowZero).toBe(xs.filter((x) => x < 0).length / xs.length);
        expect(DrawSummary.safeParse(s).success).toBe(true);
      }),
    );
  });

  it('refuses fewer than 2 draws and draws that are not finite', () => {
    badInput(() => summarizeDraws(new Float64Array(0)));
    badInput(() => summarizeDraws(Float64Array.from([1])));
    badInput(() => summarizeDraws(Float64Array.from([1, Number.NaN])));
    badInput(() => summarizeDraws(Float64Array.from([1, Number.POSITIVE_INFINITY])));
  });
});
