// Seeded distributions (valuation/distributions.ts): the generator against numpy's MT19937, reproducibility from one
// seed, sample moments against the analytic ones, quantiles against known values, and refusals.
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../core/errors.ts';
import { medianOf, quantileOf, samplerOf, seededPrng } from '../../valuation/distributions.ts';
import type { Distribution, Quantity } from '../../valuation/quantity.ts';

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

const draw = (f: () => number, n: number): number[] => Array.from({ length: n }, f);

/** One of each kind; the order in which the test makes them is part of the seeded sequence. */
const EVERY_KIND: readonly Distribution[] = [
  { kind: 'uniform', min: -2, max: 3 },
  { kind: 'triangular', min: 0, mode: 1, max: 4 },
  { kind: 'normal', mean: 10, sd: 2 },
  { kind: 'lognormal', mu: 0.5, sigma: 0.5 },
  { kind: 'beta', alpha: 2, beta: 5, min: 100, max: 200 },
];

/** Draws 50 from each sampler in turn, all sharing one generator seeded with `seed`. */
const interleaved = (seed: number): number[] => {
  const prng = seededPrng(seed);
  const samplers = EVERY_KIND.map((d) => samplerOf(d, prng));
  const out: number[] = [];
  for (let i = 0; i < 50; i++) for (const s of samplers) out.push(s());
  return out;
};

describe('seededPrng', () => {
  it('is MT19937 with 53-bit draws: the same numbers as numpy RandomState(seed).random_sample()', () => {
    // numpy 2.x: np.random.RandomState(1).random_sample(4) and RandomState(4294967295).random_sample().
    expect(draw(seededPrng(1), 4)).toEqual([
      0.417022004702574, 0.7203244934421581, 0.00011437481734488664, 0.30233257263183977,
    ]);
    expect(seededPrng(4294967295)()).toBe(0.0976320289940138);
  });

  it('refuses seeds that are not integers in [1, 2^32 - 1]', () => {
    for (const seed of [0, -1, 1.5, 2 ** 32, Number.NaN, Number.POSITIVE_INFINITY]) badInput(() => seededPrng(seed));
  });
});

describe('samplerOf', () => {
  it('gives the same sequence across samplers for the same seed and another for another seed', () => {
    const first = interleaved(42);
    expect(interleaved(42)).toEqual(first);
    const other = interleaved(43);
    expect(other).not.toEqual(first);
    expect(other.filter((x, i) => x === first[i])).toEqual([]);
  });

  it('draws through the one prng it is given', () => {
    // A prng that always answers 0.5 makes each inverse-transform sampler answer its median.
    const half = () => 0.5;
    expect(samplerOf({ kind: 'uniform', min: 2, max: 6 }, half)()).toBe(4);
    expect(samplerOf({ kind: 'triangular', min: 0, mode: 1, max: 2 }, half)()).toBe(1);
    // The uniform sampler turns each draw of the generator into one value: the twin generator's draw, transformed.
    const a = seededPrng(7);
    const b = seededPrng(7);
    const u = samplerOf({ kind: 'uniform', min: 10, max: 20 }, a);
    for (let i = 0; i < 5; i++) expect(u()).toBeCloseTo(10 + 10 * b(), 12);
  });

  it('returns numbers and fixed values without consuming randomness', () => {
    const a = seededPrng(99);
    const b = seededPrng(99);
    const five = samplerOf(5, a);
    const fixed = samplerOf({ kind: 'fixed', value: -3.25 }, a);
    expect(draw(five, 3)).toEqual([5, 5, 5]);
    expect(draw(fixed, 3)).toEqual([-3.25, -3.25, -3.25]);
    expect(draw(a, 3)).toEqual(draw(b, 3));
  });

  it('refuses a quantity that breaks its schema', () => {
    const prng = seededPrng(1);
    badInput(() => samplerOf({ kind: 'uniform', min: 3, max: 3 }, prng));
    badInput(() => samplerOf({ kind: 'normal', mean: 0, sd: 0 }, prng));
    badInput(() => samplerOf({ kind: 'triangular', min: 0, mode: 5, max: 4 }, prng));
    badInput(() => samplerOf(Number.NaN, prng));
  });

  // Sample mean and sd over N draws against the analytic values, within 4 standard errors. The standard error of the
  // sample sd is σ·√((κ − 1) / 4N), κ the kurtosis (the delta method; Var(s²) ≈ σ⁴(κ − 1)/N).
  const N = 200_000;
  const lognormalS2 = 0.25; // σ² of the lognormal below
  const cases: ReadonlyArray<{ d: Distribution; mean: number; sd: number; kurtosis: number }> = [
    { d: { kind: 'uniform', min: -2, max: 3 }, mean: 0.5, sd: 5 / Math.sqrt(12), kurtosis: 1.8 },
    {
      // mean (a + b + c)/3; variance (a² + b² + c² − ab − ac − bc)/18 = (0 + 16 + 1 − 0 − 0 − 4)/18 = 13/18
      d: { kind: 'triangular', min: 0, mode: 1, max: 4 },
      mean: 5 / 3,
      sd: Math.sqrt(13 / 18),
      kurtosis: 2.4,
    },
    { d: { kind: 'normal', mean: 10, sd: 2 }, mean: 10, sd: 2, kurtosis: 3 },
    {
      // mean e^(μ + σ²/2); variance (e^σ² − 1)e^(2μ + σ²); excess kurtosis e^4σ² + 2e^3σ² + 3e^2σ² − 6
      d: { kind: 'lognormal', mu: 0.5, sigma: 0.5 },
      mean: Math.exp(0.5 + lognormalS2 / 2),
      sd: Math.sqrt((Math.exp(lognormalS2) - 1) * Math.exp(1 + lognormalS2)),
      kurtosis: 3 + Math.exp(4 * lognormalS2) + 2 * Math.exp(3 * lognormalS2) + 3 * Math.exp(2 * lognormalS2) - 6,
    },
    {
      // Beta(2, 5) on [100, 200]: mean 100 + 100·2/7; variance 100²·αβ/((α + β)²(α + β + 1)) = 10⁴·10/392;
      // excess kurtosis 6[(α − β)²(α + β + 1) − αβ(α + β + 2)] / [αβ(α + β + 2)(α + β + 3)] = 6(72 − 90)/1800 = −0.06
      d: { kind: 'beta', alpha: 2, beta: 5, min: 100, max: 200 },
      mean: 100 + 200 / 7,
      sd: 100 * Math.sqrt(10 / 392),
      kurtosis: 3 - 0.06,
    },
  ];

  it.each(cases)('$d.kind: mean and sd of 200,000 draws within 4 standard errors', ({ d, mean, sd, kurtosis }) => {
    const sample = samplerOf(d, seededPrng(20240518));
    let sum = 0;
    let sumSq = 0;
    const xs = new Float64Array(N);
    for (let i = 0; i < N; i++) {
      const x = sample();
      xs[i] = x;
      sum += x;
    }
    const m = sum / N;
    for (const x of xs) sumSq += (x - m) ** 2;
    const s = Math.sqrt(sumSq / (N - 1));
    expect(Math.abs(m - mean)).toBeLessThan((4 * sd) / Math.sqrt(N));
    expect(Math.abs(s - sd)).toBeLessThan(4 * sd * Math.sqrt((kurtosis - 1) / (4 * N)));
  });

  it('keeps scaled beta draws inside [min, max]', () => {
    const xs = draw(samplerOf({ kind: 'beta', alpha: 0.5, beta: 0.5, min: -1, max: 1 }, seededPrng(3)), 10_000);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...xs)).toBeLessThanOrEqual(1);
  });
});

describe('quantileOf and medianOf', () => {
  it('match known values', () => {
    expect(quantileOf({ kind: 'normal', mean: 0, sd: 1 }, 0.975)).toBeCloseTo(1.959963984540054, 12);
    expect(quantileOf({ kind: 'normal', mean: 10, sd: 2 }, 0.025)).toBeCloseTo(10 - 2 * 1.959963984540054, 12);
    expect(quantileOf({ kind: 'uniform', min: 2, max: 6 }, 0.25)).toBeCloseTo(3, 14);
    expect(medianOf({ kind: 'uniform', min: -4, max: 0 })).toBeCloseTo(-2, 14);
  });

  it('triangular: the mode sits at F(mode) = (mode − min)/(max − min); the median when the mode is at an end', () => {
    expect(quantileOf({ kind: 'triangular', min: 0, mode: 1, max: 4 }, 0.25)).toBeCloseTo(1, 12);
    expect(medianOf({ kind: 'triangular', min: 0, mode: 1, max: 2 })).toBeCloseTo(1, 12);
    // Mode at min: F(x) = 1 − (1 − x)², so the median is 1 − √½; mode at max: F(x) = x², the median is √½.
    expect(medianOf({ kind: 'triangular', min: 0, mode: 0, max: 1 })).toBeCloseTo(1 - Math.SQRT1_2, 12);
    expect(medianOf({ kind: 'triangular', min: 0, mode: 1, max: 1 })).toBeCloseTo(Math.SQRT1_2, 12);
  });

  it('beta: Beta(2, 2) has median 0.5, scaled onto [min, max] with it; Beta(2, 5) as scipy gives it', () => {
    expect(medianOf({ kind: 'beta', alpha: 2, beta: 2, min: 0, max: 1 })).toBeCloseTo(0.5, 12);
    expect(medianOf({ kind: 'beta', alpha: 2, beta: 2, min: 10, max: 20 })).toBeCloseTo(15, 12);
    // scipy.stats.beta.ppf(0.5, 2, 5)
    expect(medianOf({ kind: 'beta', alpha: 2, beta: 5, min: 0, max: 1 })).toBeCloseTo(0.26444998329566005, 12);
  });

  it('beta without bounds takes the schema defaults [0, 1]', () => {
    const unbounded = { kind: 'beta', alpha: 2, beta: 5 } as unknown as Quantity;
    expect(medianOf(unbounded)).toBeCloseTo(0.26444998329566005, 12);
  });

  it('lognormal: the median is e^mu', () => {
    expect(medianOf({ kind: 'lognormal', mu: 1.5, sigma: 0.8 })).toBeCloseTo(Math.exp(1.5), 12);
  });

  it('numbers and fixed values are their own quantiles', () => {
    expect(quantileOf(7, 0.01)).toBe(7);
    expect(medianOf({ kind: 'fixed', value: -2 })).toBe(-2);
  });

  it('refuses p outside (0, 1) and quantities that break their schema', () => {
    const q: Quantity = { kind: 'normal', mean: 0, sd: 1 };
    for (const p of [0, 1, -0.1, 1.2, Number.NaN]) badInput(() => quantileOf(q, p));
    badInput(() => quantileOf(3, 0));
    badInput(() => medianOf({ kind: 'uniform', min: 1, max: 0 }));
  });
});
