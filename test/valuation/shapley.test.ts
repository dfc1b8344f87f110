// Shapley attribution (valuation/shapley.ts): the exact formula on a game worked by hand, the axioms on random games,
// the permutation-sampling estimator against the exact values, and the seeded orders it samples.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../core/errors.ts';
import type { Prng } from '../../valuation/quantity.ts';
import {
  coalitionsOf,
  samplePermutations,
  shapleyExact,
  shapleySampled,
  type CoalitionValue,
} from '../../valuation/shapley.ts';

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

/** A game given as the table of its 2^n coalition values. */
const table =
  (values: readonly number[]): CoalitionValue =>
  (s) =>
    values[s]!;

const randomGame = (players: number, prng: Prng): number[] =>
  Array.from({ length: 1 << players }, () => Math.round((prng() * 2000 - 1000) * 100) / 100);

/** fast-check: a player count from 1 to 8 and a game on it with values in [−1000, 1000]. */
const arbitraryGame = fc
  .integer({ min: 1, max: 8 })
  .chain((n) =>
    fc
      .array(fc.double({ min: -1000, max: 1000, noNaN: true }), { minLength: 1 << n, maxLength: 1 << n })
      .map((values) => ({ n, values })),
  );

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

describe('shapleyExact', () => {
  it('matches a three-player game worked by hand', () => {
    // Masks: bit 0 = player 0 (purchase intent), bit 1 = player 1 (NEV acceptance), bit 2 = player 2 (financing).
    //   v(∅) = 0, v({0}) = 10, v({1}) = 20, v({2}) = 30, v({0,1}) = 50, v({0,2}) = 60, v({1,2}) = 70, v(N) = 100.
    // Weights for n = 3: |S| = 0 → 0!2!/3! = 1/3, |S| = 1 → 1!1!/3! = 1/6, |S| = 2 → 2!0!/3! = 1/3.
    //   φ0 = 1/3·(10 − 0) + 1/6·(50 − 20) + 1/6·(60 − 30) + 1/3·(100 − 70) = 10/3 + 5 + 5 + 10 = 70/3
    //   φ1 = 1/3·(20 − 0) + 1/6·(50 − 10) + 1/6·(70 − 30) + 1/3·(100 − 60) = 20/3 + 20/3 + 20/3 + 40/3 = 100/3
    //   φ2 = 1/3·(30 − 0) + 1/6·(60 − 10) + 1/6·(70 − 20) + 1/3·(100 − 50) = 10 + 25/3 + 25/3 + 50/3 = 130/3
    //   sum = 300/3 = 100 = v(N) − v(∅).
    const v = [0, 10, 20, 50, 30, 60, 70, 100];
    const calls: number[] = [];
    const phi = shapleyExact(3, (s) => {
      calls.push(s);
      return v[s]!;
    });
    expect(phi[0]).toBeCloseTo(70 / 3, 12);
    expect(phi[1]).toBeCloseTo(100 / 3, 12);
    expect(phi[2]).toBeCloseTo(130 / 3, 12);
    expect(calls.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('is efficient: the values sum to v(N) − v(∅) on random games of up to eight players', () => {
    fc.assert(
      fc.property(arbitraryGame, ({ n, values }) => {
        const phi = shapleyExact(n, table(values));
        const scale = Math.max(1, ...values.map(Math.abs));
        expect(Math.abs(sum(phi) - (values[(1 << n) - 1]! - values[0]!))).toBeLessThan(1e-12 * scale * (1 << n));
      }),
    );
  });

  it('gives identical players equal values (symmetry)', () => {
    fc.assert(
      fc.property(
        arbitraryGame.filter(({ n }) => n >= 2),
        ({ n, values }) => {
          // v(S) = g(S) + g(swap01(S)) does not change when players 0 and 1 trade places.
          const swap = (s: number) => (s & ~3) | ((s & 1) << 1) | ((s & 2) >> 1);
          const phi = shapleyExact(n, (s) => values[s]! + values[swap(s)]!);
          expect(phi[0]).toBeCloseTo(phi[1]!, 8);
        },
      ),
    );
  });

  it('gives a null player zero', () => {
    fc.assert(
      fc.property(
        arbitraryGame.filter(({ n }) => n >= 2),
        fc.nat(),
        ({ n, values }, pick) => {
          const k = pick % n;
          // v(S) = g(S ∖ {k}): adding k never changes the value.
          const phi = shapleyExact(n, (s) => values[s & ~(1 << k)]!);
          expect(phi[k]).toBe(0);
        },
      ),
    );
  });

  it('is additive: φ(v + w) = φ(v) + φ(w)', () => {
    fc.assert(
      fc.property(
        arbitraryGame.chain(({ n, values }) =>
          fc
            .array(fc.double({ min: -1000, max: 1000, noNaN: true }), { minLength: 1 << n, maxLength: 1 << n })
            .map((other) => ({ n, values, other })),
        ),
        ({ n, values, other }) => {
          const both = shapleyExact(n, (s) => values[s]! + other[s]!);
          const v = shapleyExact(n, table(values));
          const w = shapleyExact(n, table(other));
          both.forEach((phi, i) => expect(Math.abs(phi - (v[i]! + w[i]!))).toBeLessThan(1e-9));
        },
      ),
    );
  });

  it('refuses player counts outside 1..12 and values that are not finite', () => {
    badInput(() => shapleyExact(0, () => 0));
    badInput(() => shapleyExact(13, () => 0));
    badInput(() => shapleyExact(2.5, () => 0));
    badInput(() => shapleyExact(2, (s) => (s === 3 ? Number.NaN : s)));
    expect(shapleyExact(12, (s) => s).length).toBe(12);
  });
});

describe('shapleySampled', () => {
  it('converges to the exact values within 4 standard errors on a random 8-player game (2,000 orders)', () => {
    const values = randomGame(8, mulberry32(18));
    const exact = shapleyExact(8, table(values));
    const orders = samplePermutations(8, 2000, mulberry32(2009));
    const sampled = shapleySampled(8, orders, table(values));
    expect(sampled.permutations).toBe(2000);
    for (let i = 0; i < 8; i++) {
      expect(sampled.standardErrors[i]).toBeGreaterThan(0);
      expect(Math.abs(sampled.values[i]! - exact[i]!)).toBeLessThanOrEqual(4 * sampled.standardErrors[i]!);
    }
    // Each order's contributions telescope to v(N) − v(∅), so the sampled values are efficient too.
    expect(sum(sampled.values)).toBeCloseTo(values[255]! - values[0]!, 6);
  });

  it('matches the hand-computed mean and standard error over two orders', () => {
    // The 3-player game above. Order 0,1,2: contributions 10, 40, 50. Order 2,1,0: 30, 40, 30 (player 2, 1, 0).
    // Player 0: mean (10 + 30)/2 = 20, sd = √((10² + 10²)/1) = √200, SE = √200/√2 = 10.
    // Player 1: 40 and 40 → mean 40, SE 0. Player 2: 50 and 30 → mean 40, SE 10.
    const v = [0, 10, 20, 50, 30, 60, 70, 100];
    const r = shapleySampled(
      3,
      [
        [0, 1, 2],
        [2, 1, 0],
      ],
      table(v),
    );
    expect(r.values).toEqual([20, 40, 40]);
    expect(r.standardErrors[0]).toBeCloseTo(10, 12);
    expect(r.standardErrors[1]).toBe(0);
    expect(r.standardErrors[2]).toBeCloseTo(10, 12);
  });

  it('evaluates each coalition once, exactly those coalitionsOf names', () => {
    const orders = samplePermutations(6, 40, mulberry32(7));
    const seen = new Map<number, number>();
    shapleySampled(6, orders, (s) => {
      seen.set(s, (seen.get(s) ?? 0) + 1);
      return s % 17;
    });
    expect([...seen.keys()].sort((a, b) => a - b)).toEqual(coalitionsOf(orders));
    expect([...seen.values()].every((c) => c === 1)).toBe(true);
  });

  it('refuses orders that are not permutations, and fewer than two orders', () => {
    const v = () => 1;
    badInput(() => shapleySampled(3, [[0, 1, 2]], v));
    badInput(() =>
      shapleySampled(
        3,
        [
          [0, 1, 2],
          [0, 1],
        ],
        v,
      ),
    );
    badInput(() =>
      shapleySampled(
        3,
        [
          [0, 1, 2],
          [0, 1, 1],
        ],
        v,
      ),
    );
    badInput(() =>
      shapleySampled(
        3,
        [
          [0, 1, 2],
          [0, 1, 3],
        ],
        v,
      ),
    );
    badInput(() =>
      shapleySampled(
        3,
        [
          [0, 1, 2],
          [0, 1.5, 2],
        ],
        v,
      ),
    );
    badInput(() => shapleySampled(0, [[], []], v));
  });
});

describe('samplePermutations and coalitionsOf', () => {
  it('gives the same orders for the same seed, other orders for another, each a permutation', () => {
    const a = samplePermutations(8, 50, mulberry32(42));
    expect(samplePermutations(8, 50, mulberry32(42))).toEqual(a);
    expect(samplePermutations(8, 50, mulberry32(43))).not.toEqual(a);
    for (const order of a) expect([...order].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('draws each of the six orders of three players about equally often (Fisher–Yates is unbiased)', () => {
    const counts = new Map<string, number>();
    for (const order of samplePermutations(3, 6000, mulberry32(1))) {
      counts.set(order.join(''), (counts.get(order.join('')) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    // Each count is Binomial(6000, 1/6): mean 1000, sd ≈ 28.9; 5 sd either side.
    for (const c of counts.values()) expect(Math.abs(c - 1000)).toBeLessThan(145);
  });

  it('refuses a generator that leaves [0, 1) and bad counts', () => {
    badInput(() => samplePermutations(3, 1, () => 1));
    badInput(() => samplePermutations(3, 0, mulberry32(1)));
    badInput(() => samplePermutations(31, 1, mulberry32(1)));
  });

  it('names ∅ and every prefix of every order', () => {
    // 0,1,2 visits {0} = 1, {0,1} = 3, N = 7; 2,1,0 visits {2} = 4, {1,2} = 6, N = 7.
    expect(
      coalitionsOf([
        [0, 1, 2],
        [2, 1, 0],
      ]),
    ).toEqual([0, 1, 3, 4, 6, 7]);
    expect(coalitionsOf([])).toEqual([]);
    badInput(() =>
      coalitionsOf([
        [0, 1, 2],
        [0, 1],
      ]),
    );
  });
});
