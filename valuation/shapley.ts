// Shapley attribution of a package's value over its dimensions (DESIGN.md §7, step 5): a player is a dimension
// (purchase intent, NEV acceptance, financing preference, ...), a coalition is a sub-bundle of dimensions written as a
// bitmask (bit i set when dimension i is in it), and v(S) is the value of that sub-bundle. The Shapley value of a
// dimension is its average marginal contribution over every order in which the bundle could be assembled, so the
// values add up to v(N) − v(∅) (efficiency) and a sub-bundle can be priced by the sum of its members' values.
//
// Exact attribution needs v on all 2^n coalitions; that is affordable to measure up to about four dimensions and to
// compute up to twelve. Beyond that, `samplePermutations` draws orders, `coalitionsOf` names the coalitions those
// orders visit (what a lift certificate job has to measure), and `shapleySampled` estimates the values from them.
// Pure: randomness only through an injected Prng.
import { GatewayError } from '../core/errors.ts';
import type { Prng } from './quantity.ts';

/** Exact attribution evaluates 2^n coalitions: 4,096 at twelve players. */
export const MAX_EXACT_PLAYERS = 12;
/** Sampled attribution writes coalitions as 32-bit masks; thirty players keep every mask a positive integer. */
export const MAX_SAMPLED_PLAYERS = 30;
/** At most this many sampled orders per call. */
export const MAX_PERMUTATIONS = 1_000_000;

/** The characteristic function: the value of the coalition whose members are the set bits of `coalition`. */
export type CoalitionValue = (coalition: number) => number;

export type SampledShapley = {
  /** The estimated Shapley value of each player, indexed by player. */
  values: number[];
  /** Standard error of each estimate: the sample standard deviation of its marginal contributions over √m. */
  standardErrors: number[];
  /** m, the number of orders the estimate averages over. */
  permutations: number;
};

function checkPlayers(players: number, max: number): void {
  if (!Number.isInteger(players) || players < 1 || players > max)
    throw new GatewayError('BAD_INPUT', `players must be an integer from 1 to ${max}`, { players });
}

function evaluate(value: CoalitionValue, coalition: number): number {
  const v = value(coalition);
  if (!Number.isFinite(v))
    throw new GatewayError('BAD_INPUT', `the value of coalition ${coalition} is not a finite number`, { coalition });
  return v;
}

/**
 * Exact Shapley values: φ_i = Σ_{S ⊆ N∖{i}} |S|!(n−|S|−1)!/n! · (v(S ∪ {i}) − v(S)).
 *
 * `value` is called once per coalition (2^n calls, ∅ and N included) and cached. The weight of a coalition of size s
 * is computed as 1/(n·C(n−1, s)), which equals s!(n−s−1)!/n! without the factorials' large intermediates. The values
 * sum to v(N) − v(∅) up to floating-point rounding.
 */
export function shapleyExact(players: number, value: CoalitionValue): number[] {
  checkPlayers(players, MAX_EXACT_PLAYERS);
  const n = players;
  const size = 1 << n;
  const v = new Float64Array(size);
  for (let s = 0; s < size; s++) v[s] = evaluate(value, s);

  // weight[s] = 1 / (n · C(n−1, s)), C built along Pascal's row n−1.
  const weight = new Float64Array(n);
  let binomial = 1;
  for (let s = 0; s < n; s++) {
    weight[s] = 1 / (n * binomial);
    binomial = (binomial * (n - 1 - s)) / (s + 1);
  }
  const popcount = new Uint8Array(size);
  for (let s = 1; s < size; s++) popcount[s] = popcount[s >> 1]! + (s & 1);

  const phi = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    const bit = 1 << i;
    let sum = 0;
    for (let s = 0; s < size; s++) {
      if (s & bit) continue;
      sum += weight[popcount[s]!]! * (v[s | bit]! - v[s]!);
    }
    phi[i] = sum;
  }
  return phi;
}

/** Throws BAD_INPUT unless every order is a permutation of 0..players−1; returns nothing on success. */
function checkPermutations(players: number, permutations: readonly (readonly number[])[]): void {
  const seen = new Uint32Array(players);
  permutations.forEach((order, k) => {
    const stamp = k + 1;
    const bad = () =>
      new GatewayError('BAD_INPUT', `permutation ${k} is not a permutation of 0..${players - 1}`, { permutation: k });
    if (!Array.isArray(order) || order.length !== players) throw bad();
    for (const p of order) {
      if (!Number.isInteger(p) || p < 0 || p >= players || seen[p] === stamp) throw bad();
      seen[p] = stamp;
    }
  });
}

/**
 * The permutation-sampling estimator (Castro, Gómez & Tejada 2009): for each sampled order, walk it from ∅ adding one
 * player at a time and record each player's marginal contribution v(S ∪ {i}) − v(S); the estimate of φ_i is the mean
 * of player i's contributions over the m orders, unbiased, with standard error sd/√m (sd with m − 1 in the
 * denominator, accumulated with Welford's update). Each order's contributions sum to v(N) − v(∅), so the estimates
 * are efficient as well.
 *
 * Needs at least two orders (a standard error needs two). `value` is called once per distinct coalition the orders
 * visit (`coalitionsOf`), so it may be a lookup in measured lifts.
 */
export function shapleySampled(
  players: number,
  permutations: readonly (readonly number[])[],
  value: CoalitionValue,
): SampledShapley {
  checkPlayers(players, MAX_SAMPLED_PLAYERS);
  const m = permutations.length;
  if (m < 2 || m > MAX_PERMUTATIONS)
    throw new GatewayError('BAD_INPUT', `a sampled estimate needs from 2 to ${MAX_PERMUTATIONS} permutations`, {
      permutations: m,
    });
  checkPermutations(players, permutations);

  const cache = new Map<number, number>();
  const valueOf = (coalition: number): number => {
    let v = cache.get(coalition);
    if (v === undefined) {
      v = evaluate(value, coalition);
      cache.set(coalition, v);
    }
    return v;
  };

  const mean = new Float64Array(players);
  const m2 = new Float64Array(players);
  permutations.forEach((order, k) => {
    const count = k + 1;
    let coalition = 0;
    let before = valueOf(0);
    for (const p of order) {
      coalition |= 1 << p;
      const after = valueOf(coalition);
      const x = after - before;
      const delta = x - mean[p]!;
      mean[p]! += delta / count;
      m2[p]! += delta * (x - mean[p]!);
      before = after;
    }
  });
  return {
    values: Array.from(mean),
    standardErrors: Array.from(m2, (s) => Math.sqrt(s / (m - 1) / m)),
    permutations: m,
  };
}

/** A uniform draw in [0, 1) from the injected generator; anything else is refused rather than silently skewed. */
function draw(prng: Prng): number {
  const u = prng();
  if (!(u >= 0 && u < 1)) throw new GatewayError('BAD_INPUT', 'the random generator must return numbers in [0, 1)');
  return u;
}

/** `count` uniformly random orders of 0..players−1, each by a Fisher–Yates shuffle driven by `prng`. */
export function samplePermutations(players: number, count: number, prng: Prng): number[][] {
  checkPlayers(players, MAX_SAMPLED_PLAYERS);
  if (!Number.isInteger(count) || count < 1 || count > MAX_PERMUTATIONS)
    throw new GatewayError('BAD_INPUT', `count must be an integer from 1 to ${MAX_PERMUTATIONS}`, { count });
  const out: number[][] = [];
  for (let k = 0; k < count; k++) {
    const order = Array.from({ length: players }, (_, i) => i);
    for (let i = players - 1; i > 0; i--) {
      const j = Math.floor(draw(prng) * (i + 1));
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    out.push(order);
  }
  return out;
}

/**
 * The coalitions (bitmasks, ascending) a sampled estimate over these orders evaluates: ∅ and every prefix of every
 * order, N included. A lift certificate job measures exactly these sub-bundles when exact attribution is too costly.
 * Every order must be a permutation of 0..n−1 for the same n.
 */
export function coalitionsOf(permutations: readonly (readonly number[])[]): number[] {
  if (permutations.length === 0) return [];
  const players = permutations[0]!.length;
  checkPlayers(players, MAX_SAMPLED_PLAYERS);
  checkPermutations(players, permutations);
  const set = new Set<number>([0]);
  for (const order of permutations) {
    let coalition = 0;
    for (const p of order) {
      coalition |= 1 << p;
      set.add(coalition);
    }
  }
  return [...set].sort((a, b) => a - b);
}
