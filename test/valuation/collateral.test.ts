// Collateral value with a multiplicative haircut, and the covenant backtest's percentile bootstrap
// (valuation/collateral.ts).
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../core/errors.ts';
import { collateralValue, covenantBacktest, totalHaircut, type Haircut } from '../../valuation/collateral.ts';
import type { Prng } from '../../valuation/quantity.ts';

/** mulberry32: a small seeded generator of uniform draws in [0, 1), for tests only. */
function mulberry32(seed: number): Prng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A generator that replays the given draws in order. */
const scripted = (draws: readonly number[]): Prng => {
  let k = 0;
  return () => draws[k++]!;
};

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

const haircut: Haircut = {
  reasons: [
    { reason: 'liquidity of a data asset', share: 0.2 },
    { reason: 'concentration in one buyer segment', share: 0.1 },
    { reason: 'regulatory change', share: 0.05 },
  ],
};

describe('collateralValue', () => {
  it('compounds the haircuts: 1 − 0.8 · 0.9 · 0.95 = 0.316, so 1,000,000 at P10 pledges 684,000', () => {
    expect(totalHaircut(haircut)).toBeCloseTo(0.316, 12);
    const c = collateralValue(1_000_000, haircut);
    expect(c.total).toBeCloseTo(0.316, 12);
    expect(c.value).toBeCloseTo(684_000, 6);
    expect(c.reasons).toEqual(haircut.reasons);
    expect(c.note).toBeNull();
    // One reason of 0 leaves the value whole.
    expect(collateralValue(500, { reasons: [{ reason: 'none', share: 0 }] })).toMatchObject({ value: 500, total: 0 });
  });

  it('gives 0 collateral for a P10 at or below 0, and says so', () => {
    const c = collateralValue(-250_000, haircut);
    expect(c.value).toBe(0);
    expect(c.note).toMatch(/not positive/);
    expect(collateralValue(0, haircut).note).toMatch(/not positive/);
  });

  it('refuses malformed haircuts and a P10 that is not finite', () => {
    badInput(() => collateralValue(1, { reasons: [] }));
    badInput(() => collateralValue(1, { reasons: [{ reason: 'all', share: 1 }] }));
    badInput(() => collateralValue(1, { reasons: [{ reason: 'negative', share: -0.1 }] }));
    badInput(() => collateralValue(1, { reasons: [{ reason: '', share: 0.1 }] }));
    badInput(() => collateralValue(1, { reasons: [{ reason: 'x'.repeat(201), share: 0.1 }] }));
    badInput(() => collateralValue(1, { reasons: Array.from({ length: 21 }, () => ({ reason: 'r', share: 0.01 })) }));
    badInput(() => collateralValue(Number.NaN, haircut));
  });
});

/** 36 monthly errors of a forecast promised within ±3.7 %: alternating sign, |e| from 0.4 % to 2.2 %. */
const inside = Array.from({ length: 36 }, (_, k) => (k % 2 === 0 ? 1 : -1) * (0.013 + 0.009 * Math.sin(k)));
/** The same shape around 4.5 %: the covenant fails. */
const outside = inside.map((e) => Math.sign(e) * (Math.abs(e) + 0.032));

describe('covenantBacktest', () => {
  it('takes the ⌈confidence · B⌉-th smallest replicate mean (worked by hand)', () => {
    // Errors 0.01 and 0.03; draws pick index ⌊u · 2⌋: (0.1, 0.1) → 0.01, (0.1, 0.9) → 0.02, (0.9, 0.9) → 0.03,
    // (0.6, 0.2) → 0.02. Sorted means 0.01, 0.02, 0.02, 0.03; 0.75 · 4 = 3 → the 3rd; ⌈0.8 · 4⌉ = 4 → the 4th.
    const draws = [0.1, 0.1, 0.1, 0.9, 0.9, 0.9, 0.6, 0.2];
    const at75 = covenantBacktest([0.01, -0.03], 0.025, scripted(draws), { replicates: 4, confidence: 0.75 });
    expect(at75.meanAbsError).toBeCloseTo(0.02, 15);
    expect(at75.upper).toBeCloseTo(0.02, 15);
    expect(at75).toMatchObject({ holds: true, replicates: 4, periods: 2 });
    const at80 = covenantBacktest([0.01, -0.03], 0.025, scripted(draws), { replicates: 4, confidence: 0.8 });
    expect(at80.upper).toBeCloseTo(0.03, 15);
    expect(at80.holds).toBe(false);
  });

  it('gives the same result for the same seed', () => {
    const a = covenantBacktest(inside, 0.037, mulberry32(36));
    expect(covenantBacktest(inside, 0.037, mulberry32(36))).toEqual(a);
    expect(a).toMatchObject({ replicates: 2000, periods: 36, confidence: 0.95, bound: 0.037 });
    expect(covenantBacktest(inside, 0.037, mulberry32(37)).upper).not.toBe(a.upper);
  });

  it('holds for a three-year series well inside ±3.7 % and fails for one outside', () => {
    const ok = covenantBacktest(inside, 0.037, mulberry32(1));
    expect(ok.meanAbsError).toBeLessThan(0.015);
    expect(ok.upper).toBeGreaterThan(ok.meanAbsError);
    expect(ok.upper).toBeLessThan(0.037);
    expect(ok.holds).toBe(true);
    const bad = covenantBacktest(outside, 0.037, mulberry32(1), { replicates: 500, confidence: 0.9 });
    expect(bad.meanAbsError).toBeGreaterThan(0.037);
    expect(bad.holds).toBe(false);
  });

  it('refuses empty errors, a bad bound, a bad confidence and bad replicates', () => {
    const prng = mulberry32(1);
    badInput(() => covenantBacktest([], 0.037, prng));
    badInput(() => covenantBacktest([0.01, Number.NaN], 0.037, prng));
    for (const bound of [0, -0.01, Number.NaN, Number.POSITIVE_INFINITY])
      badInput(() => covenantBacktest(inside, bound, prng));
    for (const confidence of [0, 1, 1.5, -0.5, Number.NaN])
      badInput(() => covenantBacktest(inside, 0.037, prng, { confidence }));
    for (const replicates of [0, 2.5, -1]) badInput(() => covenantBacktest(inside, 0.037, prng, { replicates }));
    badInput(() => covenantBacktest(inside, 0.037, () => 1));
  });
});
