// Tornado and elasticities (valuation/sensitivity.ts) on a linear NPV whose bars and elasticities are worked by hand.
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../core/errors.ts';
import { elasticities, tornado, type NpvAt } from '../../valuation/sensitivity.ts';

const inputs = [
  { name: 'volume', p10: 40, p50: 50, p90: 55 },
  { name: 'cost', p10: 100, p50: 120, p90: 150 },
  { name: 'price', p10: 8, p50: 10, p90: 13 },
  { name: 'assurance', p10: 2, p50: 4, p90: 7 },
];
const p50 = new Map(inputs.map((i) => [i.name, i.p50]));

/** NPV = 200·price − 10·cost + 30·volume + 100·assurance − 900; at P50: 2000 − 1200 + 1500 + 400 − 900 = 1800. */
const linear: NpvAt = (overrides) => {
  const x = (name: string) => overrides.get(name) ?? p50.get(name) ?? 0;
  return 200 * x('price') - 10 * x('cost') + 30 * x('volume') + 100 * x('assurance') - 900;
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

describe('tornado', () => {
  it('moves one input at a time to P10 and P90 and sorts the bars by swing, ties by name', () => {
    // price:     P10 8   → 1800 − 200·2  = 1400; P90 13  → 1800 + 200·3  = 2400; swing 1000
    // cost:      P10 100 → 1800 + 10·20  = 2000; P90 150 → 1800 − 10·30  = 1500; swing 500
    // assurance: P10 2   → 1800 − 100·2  = 1600; P90 7   → 1800 + 100·3  = 2100; swing 500 (ties cost: a < c)
    // volume:    P10 40  → 1800 − 30·10  = 1500; P90 55  → 1800 + 30·5   = 1950; swing 450
    const calls: number[] = [];
    const result = tornado(inputs, (o) => {
      calls.push(o.size);
      return linear(o);
    });
    expect(result.base).toBe(1800);
    expect(result.bars).toEqual([
      { name: 'price', low: 8, high: 13, npvAtLow: 1400, npvAtHigh: 2400, swing: 1000 },
      { name: 'assurance', low: 2, high: 7, npvAtLow: 1600, npvAtHigh: 2100, swing: 500 },
      { name: 'cost', low: 100, high: 150, npvAtLow: 2000, npvAtHigh: 1500, swing: 500 },
      { name: 'volume', low: 40, high: 55, npvAtLow: 1500, npvAtHigh: 1950, swing: 450 },
    ]);
    // The base with an empty map, then one override per call.
    expect(calls).toEqual([0, 1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('refuses duplicate names, unordered percentiles and an NPV that is not finite', () => {
    badInput(() => tornado([inputs[0]!, inputs[0]!], linear));
    badInput(() => tornado([{ name: 'x', p10: 3, p50: 2, p90: 4 }], linear));
    badInput(() => tornado([{ name: 'x', p10: 1, p50: 2, p90: Number.NaN }], linear));
    badInput(() => tornado(inputs, () => Number.POSITIVE_INFINITY));
  });
});

describe('elasticities', () => {
  it('gives coefficient · P50 / NPV for a linear NPV, by central difference', () => {
    // ε = (NPV(x·1.01) − NPV(x·0.99)) / (0.02 · 1800); linear, so ε = coefficient · x / 1800:
    //   volume 30·50/1800 = 5/6, cost −10·120/1800 = −2/3, price 200·10/1800 = 10/9, assurance 100·4/1800 = 2/9.
    const result = elasticities(inputs, linear);
    expect(result.map((e) => e.name)).toEqual(['volume', 'cost', 'price', 'assurance']);
    const expected = [5 / 6, -2 / 3, 10 / 9, 2 / 9];
    result.forEach((e, i) => {
      expect(e.reason).toBeNull();
      expect(e.elasticity).toBeCloseTo(expected[i]!, 9);
    });
    // price: 200·9.9 → 1780, 200·10.1 → 1820.
    expect(result[2]!.npvAtDown).toBeCloseTo(1780, 9);
    expect(result[2]!.npvAtUp).toBeCloseTo(1820, 9);
    // A wider step gives the same elasticity for a linear NPV.
    expect(elasticities(inputs, linear, 0.1)[1]!.elasticity).toBeCloseTo(-2 / 3, 9);
  });

  it('gives null with a reason for an input at 0 and for an NPV of 0', () => {
    const [subsidy] = elasticities([{ name: 'subsidy', p50: 0 }], linear);
    expect(subsidy).toMatchObject({ name: 'subsidy', elasticity: null });
    expect(subsidy!.reason).toMatch(/subsidy is 0/);
    const zero: NpvAt = (o) => linear(o) - 1800;
    const [price] = elasticities([{ name: 'price', p50: 10 }], zero);
    expect(price).toMatchObject({ name: 'price', elasticity: null });
    expect(price!.reason).toMatch(/NPV is 0/);
  });

  it('refuses a relative step outside (0, 1)', () => {
    badInput(() => elasticities(inputs, linear, 0));
    badInput(() => elasticities(inputs, linear, 1));
    badInput(() => elasticities(inputs, linear, Number.NaN));
  });
});
