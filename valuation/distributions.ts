// Seeded draws and quantiles for valuation quantities (quantity.ts). Samplers and quantile functions come from
// stdlib-js (https://stdlib.io), not from code of ours; this module only chooses the generator, maps each Distribution
// onto the stdlib parameters, and scales beta onto [min, max]. It stays pure: the only randomness is a Prng made from
// an explicit seed.
//
// Why MT19937: it is stdlib's reference generator (the one its samplers use by default), it has period 2^19937 − 1 and
// equidistribution in 623 dimensions, and it is specified bit for bit (Matsumoto and Nishimura 1998), so a seed gives
// the same draws on every platform and in every language: seed 1 gives 0.417022004702574 first, as numpy's
// RandomState(1).random_sample() does. It is not a cryptographic generator, and a valuation does not need one.
import mt19937 from '@stdlib/random-base-mt19937';
import beta from '@stdlib/random-base-beta';
import lognormal from '@stdlib/random-base-lognormal';
import normal from '@stdlib/random-base-normal';
import triangular from '@stdlib/random-base-triangular';
import uniform from '@stdlib/random-base-uniform';
import betaQuantile from '@stdlib/stats-base-dists-beta-quantile';
import lognormalQuantile from '@stdlib/stats-base-dists-lognormal-quantile';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import triangularQuantile from '@stdlib/stats-base-dists-triangular-quantile';
import uniformQuantile from '@stdlib/stats-base-dists-uniform-quantile';
import { GatewayError } from '../core/errors.ts';
import { Quantity, type Prng } from './quantity.ts';

const UINT32_MAX = 0xffff_ffff;

/**
 * One MT19937 generator seeded with `seed`, returning its 53-bit draws on [0, 1).
 *
 * @param seed an integer in [1, 2^32 − 1]; stdlib's MT19937 refuses 0.
 * @throws GatewayError BAD_INPUT when `seed` is not such an integer.
 */
export const seededPrng = (seed: number): Prng => {
  if (!Number.isInteger(seed) || seed < 1 || seed > UINT32_MAX) {
    throw new GatewayError('BAD_INPUT', 'seed must be an integer in [1, 2^32 - 1]', { seed: String(seed) });
  }
  return mt19937.factory({ seed }).normalized;
};

/** The quantity as its schema reads it: checks the refinements (min < max, …) and fills beta's default bounds. */
const parsed = (q: Quantity): Quantity => {
  const result = Quantity.safeParse(q);
  if (!result.success) {
    throw new GatewayError('BAD_INPUT', 'quantity is not a valid number or distribution', {
      issues: result.error.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message })),
    });
  }
  return result.data;
};

/**
 * A sampler for `q` that draws only through `prng`, so a whole valuation is reproducible from one seed as long as its
 * samplers are made and called in a fixed order.
 *
 * A number or a `fixed` distribution returns its value and consumes no randomness, neither when made nor when called.
 * Uniform and triangular draws use one uniform each (inverse transform). Normal, lognormal and beta draws use stdlib's
 * improved ziggurat, which keeps a second MT19937 for its integer draws: stdlib seeds it from one draw of `prng` when
 * the sampler is made, so making such a sampler consumes one draw, and its sequence still follows from the seed.
 *
 * @throws GatewayError BAD_INPUT when `q` breaks its schema (e.g. min ≥ max).
 */
export const samplerOf = (q: Quantity, prng: Prng): (() => number) => {
  const d = parsed(q);
  if (typeof d === 'number') return () => d;
  const options = { prng };
  switch (d.kind) {
    case 'fixed': {
      const { value } = d;
      return () => value;
    }
    case 'uniform':
      return uniform.factory(d.min, d.max, options);
    case 'triangular':
      // stdlib's order is (a: min, b: max, c: mode).
      return triangular.factory(d.min, d.max, d.mode, options);
    case 'normal':
      return normal.factory(d.mean, d.sd, options);
    case 'lognormal':
      return lognormal.factory(d.mu, d.sigma, options);
    case 'beta': {
      const draw = beta.factory(d.alpha, d.beta, options);
      const { min } = d;
      const width = d.max - d.min;
      return () => min + width * draw();
    }
  }
};

/**
 * The `p` quantile of `q` (the inverse of its distribution function); a number or `fixed` gives its value.
 *
 * @param p a probability strictly between 0 and 1.
 * @throws GatewayError BAD_INPUT when `p` is not in (0, 1) or `q` breaks its schema.
 */
export const quantileOf = (q: Quantity, p: number): number => {
  if (!(p > 0 && p < 1)) {
    throw new GatewayError('BAD_INPUT', 'p must be a probability strictly between 0 and 1', { p: String(p) });
  }
  const d = parsed(q);
  if (typeof d === 'number') return d;
  switch (d.kind) {
    case 'fixed':
      return d.value;
    case 'uniform':
      return uniformQuantile(p, d.min, d.max);
    case 'triangular':
      return triangularQuantile(p, d.min, d.max, d.mode);
    case 'normal':
      return normalQuantile(p, d.mean, d.sd);
    case 'lognormal':
      return lognormalQuantile(p, d.mu, d.sigma);
    case 'beta':
      return d.min + (d.max - d.min) * betaQuantile(p, d.alpha, d.beta);
  }
};

/** The median of `q`: its 0.5 quantile. @throws GatewayError BAD_INPUT when `q` breaks its schema. */
export const medianOf = (q: Quantity): number => quantileOf(q, 0.5);
