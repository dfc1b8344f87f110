// The demo's generator (docs/demo.md, "The population"): seeded and repeatable, and its columns carry the stated
// shares of CLV's variance, so the errors the demo reports can be checked against it.
import { describe, expect, it } from 'vitest';
import { CLV_MODEL, expectedClvRmse, generatePopulation } from '../../gateway/demo/population.ts';

const correlation = (xs: readonly number[], ys: readonly number[]) => {
  const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  xs.forEach((x, i) => {
    const y = ys[i] as number;
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
    syy += (y - my) ** 2;
  });
  return sxy / Math.sqrt(sxx * syy);
};

describe('the demo population', () => {
  const population = generatePopulation({ customers: 20_000, seed: 11 });

  it('is the same for the same seed, and another for another', () => {
    const again = generatePopulation({ customers: 500, seed: 11 });
    expect(again.dealer.slice(0, 50)).toEqual(generatePopulation({ customers: 500, seed: 11 }).dealer.slice(0, 50));
    expect(generatePopulation({ customers: 500, seed: 12 }).dealer[0]).not.toEqual(again.dealer[0]);
  });

  it("gives each partner's exact column the stated share of CLV's variance", () => {
    const clv = population.dealer.map((r) => r.clv);
    const sd = Math.sqrt(clv.reduce((a, v) => a + (v - CLV_MODEL.mean) ** 2, 0) / clv.length);
    expect(sd / CLV_MODEL.sd).toBeCloseTo(1, 1);
    const r = correlation(
      population.dealer.map((row) => row.purchase_amount),
      clv,
    );
    expect(r ** 2).toBeCloseTo(CLV_MODEL.shares['dealer-4s'], 1);
    const byPhone = new Map(population.dealer.map((row) => [row.phone, row.clv]));
    const insured = population.insurer.filter((row) => byPhone.has(row.phone));
    const ri = correlation(
      insured.map((row) => row.policy_premium),
      insured.map((row) => byPhone.get(row.phone) as number),
    );
    expect(ri ** 2).toBeCloseTo(CLV_MODEL.shares['insurer-a'], 1);
    expect(insured.length / population.dealer.length).toBeCloseTo(0.7, 1);
  });

  it('states the errors a linear model can reach', () => {
    expect(expectedClvRmse(['dealer-4s'])).toBeCloseTo(20_000 * Math.sqrt(0.7), 6);
    expect(expectedClvRmse(['dealer-4s', 'insurer-a', 'charging-net'])).toBeCloseTo(20_000 * Math.sqrt(0.2), 6);
  });
});
