// Error-to-money mappings (DESIGN.md §7 step 2; docs/valuation.md "Money mappings"): the expected cost per decision
// of a forecast with a given error, for four kinds of decision. Each mapping is linear in its error metric, so the
// value of a reduction from e0 to e1 is the slope times (e0 − e1). Pure: no I/O, no clock, no randomness.
//
// - newsvendor: σ = RMSE of the demand forecast (units); cost = (cu + co)·φ(z*)·σ with z* = Φ⁻¹(cu / (cu + co)),
//   the expected mismatch cost of the optimal order under normal errors (Porteus, Foundations of Stochastic
//   Inventory Theory, 2002, the newsvendor model).
// - safety-stock: σ = sd of the forecast error per period (units); cost = h·Φ⁻¹(α)·σ·√L, the holding cost per period
//   of the safety stock for service level α over L periods (Silver, Pyke & Thomas, Inventory and Production
//   Management in Supply Chains, 4th ed., 2017).
// - cost-loss: e = normalized expected cost NE in [0, 1] at the operating point (Drummond & Holte, "Cost curves",
//   Machine Learning 65, 2006); cost = NE·(π·c_fn + (1 − π)·c_fp) = (1 − π)·fpr·c_fp + π·fnr·c_fn.
// - linear-misallocation: e = WAPE of the allocation in [0, 2]; cost = λ·B·WAPE / 2, since half the absolute
//   deviation is the money that must move (the dissimilarity index of Duncan & Duncan, 1955).
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';
import { Quantity } from './quantity.ts';

const mappingSchema = <P extends z.ZodType>(param: P) =>
  z.discriminatedUnion('name', [
    /** Order quantity against uncertain demand: cu per unit short, co per unit left over. */
    z.strictObject({ name: z.literal('newsvendor'), underageCost: param, overageCost: param }),
    /** Safety stock for a service level α over a lead time of L periods, held at h per unit per period. */
    z.strictObject({ name: z.literal('safety-stock'), holdingCost: param, serviceLevel: param, leadTime: param }),
    /** Yes/no decisions: base rate π of positives, c_fp per false positive, c_fn per false negative. */
    z.strictObject({
      name: z.literal('cost-loss'),
      baseRate: param,
      falsePositiveCost: param,
      falseNegativeCost: param,
    }),
    /** A budget B per decision allocated by the forecast; λ is lost per unit of money misallocated. */
    z.strictObject({ name: z.literal('linear-misallocation'), budget: param, lossRate: param }),
  ]);

/** A mapping as a user gives it: each parameter a number or a distribution. */
export const MoneyMapping = mappingSchema(Quantity);
export type MoneyMapping = z.infer<typeof MoneyMapping>;

/** A mapping with every parameter resolved to a number (a Monte Carlo draw or a fixed value). */
export const ResolvedMapping = mappingSchema(z.number().finite());
export type ResolvedMapping = z.infer<typeof ResolvedMapping>;

export type MappingName = ResolvedMapping['name'];

/** The error metric each mapping expects, its unit and the largest value it can take. */
export const ERROR_METRICS = {
  'newsvendor': { metric: 'RMSE of the demand forecast', unit: 'units of demand', max: Infinity },
  'safety-stock': { metric: 'sd of the forecast error per period', unit: 'units of demand', max: Infinity },
  'cost-loss': { metric: 'normalized expected cost at the operating point', unit: 'dimensionless', max: 1 },
  'linear-misallocation': { metric: 'WAPE of the allocation', unit: 'dimensionless', max: 2 },
} as const satisfies Record<MappingName, { metric: string; unit: string; max: number }>;

const badInput = (field: string, rule: string, value: number): GatewayError =>
  new GatewayError('BAD_INPUT', `${field} must be ${rule}`, { field, value });

function requireIn(field: string, value: number, range: { min: number; max: number; isMinOpen?: boolean }): void {
  const isOpen = range.isMinOpen === true;
  if (Number.isFinite(value) && (isOpen ? value > range.min : value >= range.min) && value <= range.max) return;
  const rule =
    range.max === Number.MAX_VALUE
      ? `a finite number ${isOpen ? '>' : '≥'} ${range.min}`
      : `a number in ${isOpen ? '(' : '['}${range.min}, ${range.max}]`;
  throw badInput(field, rule, value);
}

const positive = { min: 0, max: Number.MAX_VALUE, isMinOpen: true };
const nonNegative = { min: 0, max: Number.MAX_VALUE };

// Wichura, "Algorithm AS 241: The Percentage Points of the Normal Distribution", Applied Statistics 37(3), 1988,
// PPND16: about 16 significant digits over (0, 1). The published 20-digit coefficients (also in CPython's
// statistics.NormalDist.inv_cdf), each written as the shortest decimal of the same double.
const AS241_A = [
  3.3871328727963665, 133.14166789178438, 1971.5909503065513, 13731.69376550946, 45921.95393154987, 67265.7709270087,
  33430.57558358813, 2509.0809287301227,
] as const;
const AS241_B = [
  1, 42.31333070160091, 687.1870074920579, 5394.196021424751, 21213.794301586597, 39307.89580009271, 28729.085735721943,
  5226.495278852854,
] as const;
const AS241_C = [
  1.4234371107496835, 4.630337846156546, 5.769497221460691, 3.6478483247632045, 1.2704582524523684, 0.2417807251774506,
  0.022723844989269184, 0.0007745450142783414,
] as const;
const AS241_D = [
  1, 2.053191626637759, 1.6763848301838038, 0.6897673349851, 0.14810397642748008, 0.015198666563616457,
  0.0005475938084995345, 1.0507500716444169e-9,
] as const;
const AS241_E = [
  6.657904643501103, 5.463784911164114, 1.7848265399172913, 0.29656057182850487, 0.026532189526576124,
  0.0012426609473880784, 2.7115555687434876e-5, 2.0103343992922881e-7,
] as const;
const AS241_F = [
  1, 0.599832206555888, 0.1369298809227358, 0.014875361290850615, 0.0007868691311456133, 1.8463183175100548e-5,
  1.421511758316446e-7, 2.0442631033899397e-15,
] as const;

/** c[0] + c[1]·r + … + c[7]·r⁷ by Horner's rule. */
const poly = (c: readonly number[], r: number): number => {
  let sum = 0;
  for (let i = c.length - 1; i >= 0; i--) sum = sum * r + c[i]!;
  return sum;
};

/** Φ⁻¹(p), the standard normal quantile, for p in (0, 1) (AS 241). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw badInput('p', 'a number in (0, 1)', p);
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (q * poly(AS241_A, r)) / poly(AS241_B, r);
  }
  const r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p));
  const x = r <= 5 ? poly(AS241_C, r - 1.6) / poly(AS241_D, r - 1.6) : poly(AS241_E, r - 5) / poly(AS241_F, r - 5);
  return q < 0 ? -x : x;
}

/** φ(z), the standard normal density. */
export const normalDensity = (z: number): number => Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);

/**
 * The expected cost per decision of one unit of the mapping's error metric (every mapping is linear in it). Throws
 * BAD_INPUT naming the parameter that is out of range.
 */
export function costPerUnitError(mapping: ResolvedMapping): number {
  switch (mapping.name) {
    case 'newsvendor': {
      requireIn('underageCost', mapping.underageCost, positive);
      requireIn('overageCost', mapping.overageCost, positive);
      const total = mapping.underageCost + mapping.overageCost;
      return total * normalDensity(normalQuantile(mapping.underageCost / total));
    }
    case 'safety-stock':
      requireIn('holdingCost', mapping.holdingCost, nonNegative);
      // Below 0.5 the safety stock would be negative: no plan holds less than the mean forecast on purpose.
      if (!(mapping.serviceLevel >= 0.5 && mapping.serviceLevel < 1)) {
        throw badInput('serviceLevel', 'a number in [0.5, 1)', mapping.serviceLevel);
      }
      requireIn('leadTime', mapping.leadTime, positive);
      return mapping.holdingCost * normalQuantile(mapping.serviceLevel) * Math.sqrt(mapping.leadTime);
    case 'cost-loss':
      requireIn('baseRate', mapping.baseRate, { min: 0, max: 1 });
      requireIn('falsePositiveCost', mapping.falsePositiveCost, nonNegative);
      requireIn('falseNegativeCost', mapping.falseNegativeCost, nonNegative);
      return mapping.baseRate * mapping.falseNegativeCost + (1 - mapping.baseRate) * mapping.falsePositiveCost;
    case 'linear-misallocation':
      requireIn('budget', mapping.budget, nonNegative);
      requireIn('lossRate', mapping.lossRate, nonNegative);
      return (mapping.lossRate * mapping.budget) / 2;
  }
}

const requireError = (field: string, mapping: ResolvedMapping, error: number): void =>
  requireIn(field, error, { min: 0, max: Math.min(ERROR_METRICS[mapping.name].max, Number.MAX_VALUE) });

/** The expected cost per decision of a forecast whose error (in the mapping's metric) is `error`. */
export function moneyPerDecision(mapping: ResolvedMapping, error: number): number {
  requireError('error', mapping, error);
  return costPerUnitError(mapping) * error;
}

/**
 * cost(e0) − cost(e1): the money per decision a package saves by taking the error from e0 (without it) to e1 (with
 * it). Negative when the package makes the forecast worse; the sign is kept, never clipped.
 */
export function valueOfReduction(mapping: ResolvedMapping, e0: number, e1: number): number {
  requireError('e0', mapping, e0);
  requireError('e1', mapping, e1);
  return costPerUnitError(mapping) * (e0 - e1);
}

/**
 * The cost-loss error metric from a backtest's rates at its operating point: NE = fnr·PC + fpr·(1 − PC), with the
 * probability cost PC = π·c_fn / (π·c_fn + (1 − π)·c_fp) (Drummond & Holte 2006). Use the same π, c_fp and c_fn as
 * the mapping, so that NE × costPerUnitError = (1 − π)·fpr·c_fp + π·fnr·c_fn.
 */
export function normalizedExpectedCost(
  mapping: Extract<ResolvedMapping, { name: 'cost-loss' }>,
  rates: { fpr: number; fnr: number },
): number {
  requireIn('fpr', rates.fpr, { min: 0, max: 1 });
  requireIn('fnr', rates.fnr, { min: 0, max: 1 });
  const scale = costPerUnitError(mapping);
  if (scale === 0) return 0;
  const probabilityCost = (mapping.baseRate * mapping.falseNegativeCost) / scale;
  // a convex combination of two rates in [0, 1]; the min keeps rounding from carrying it past 1
  return Math.min(1, rates.fnr * probabilityCost + rates.fpr * (1 - probabilityCost));
}
