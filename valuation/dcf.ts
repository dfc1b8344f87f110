// The discounted cash flow of a data package (DESIGN.md §7 steps 3–4; docs/valuation.md "Cash flows and
// discounting"): F_t = Σ_k n_k·min(p_k, capture_k·ΔV_k·(1 − δ)^(t−1)) − C_t and NPV = Σ_{t=1..T} F_t / (1 + r)^t,
// where r is the per-period rate of the annual rate i = risk-free + premia (management, circulation, security,
// regulatory), as in the China Appraisal Society's 2023 guidance on appraising data assets. Pure: no I/O, no clock,
// no randomness. A Monte Carlo calls it thousands of times per report, so the loops allocate nothing per period.
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';
import { Quantity } from './quantity.ts';

const discountRateSchema = <P extends z.ZodType>(param: P) =>
  z.strictObject({
    riskFree: param,
    premia: z.strictObject({ management: param, circulation: param, security: param, regulatory: param }),
  });

/** An ANNUAL discount rate as a user gives it: the risk-free rate plus four named premia, each a Quantity. */
export const DiscountRate = discountRateSchema(Quantity);
export type DiscountRate = z.infer<typeof DiscountRate>;

/** The same with every part resolved to a number. */
export const ResolvedDiscountRate = discountRateSchema(z.number().finite());
export type ResolvedDiscountRate = z.infer<typeof ResolvedDiscountRate>;

/** One buyer segment, resolved: decisions n_k per period, price cap p_k and capture share per decision, ΔV_k. */
export type DcfSegment = {
  readonly decisionsPerPeriod: number;
  readonly priceCap: number;
  readonly captureShare: number;
  /** ΔV_k at t = 1: money per decision, from valueOfReduction; negative when the package makes forecasts worse. */
  readonly valueOfReduction: number;
};

/** The resolved inputs of one DCF run. Rates are annual; a period is 1/periodsPerYear of a year. */
export type DcfInputs = {
  readonly periods: number;
  readonly periodsPerYear: number;
  readonly decayPerPeriod: number;
  readonly costPerPeriod: number | readonly number[];
  readonly annualDiscountRate: number;
  readonly segments: readonly DcfSegment[];
};

const badInput = (field: string, rule: string, value: unknown): GatewayError =>
  new GatewayError('BAD_INPUT', `${field} must be ${rule}`, { field, value });

const requireFinite = (field: string, value: number): void => {
  if (!Number.isFinite(value)) throw badInput(field, 'a finite number', value);
};

const requireNonNegative = (field: string, value: number): void => {
  if (!(value >= 0 && value <= Number.MAX_VALUE)) throw badInput(field, 'a finite number ≥ 0', value);
};

const requireInteger = (field: string, value: number, max: number): void => {
  if (!(Number.isInteger(value) && value >= 1 && value <= max)) {
    throw badInput(field, `an integer in [1, ${max}]`, value);
  }
};

/** i = risk-free + management + circulation + security + regulatory, annual. Premia are ≥ 0; 1 + i must be > 0. */
export function discountRateOf(rate: ResolvedDiscountRate): number {
  requireFinite('riskFree', rate.riskFree);
  const { management, circulation, security, regulatory } = rate.premia;
  requireNonNegative('premia.management', management);
  requireNonNegative('premia.circulation', circulation);
  requireNonNegative('premia.security', security);
  requireNonNegative('premia.regulatory', regulatory);
  const annual = rate.riskFree + management + circulation + security + regulatory;
  if (!(annual > -1 && annual <= Number.MAX_VALUE)) throw badInput('discount rate', 'finite and above −1', annual);
  return annual;
}

/** The per-period rate of an annual rate: (1 + i)^(1/periodsPerYear) − 1, compounding within the year. */
export function perPeriodRate(annualRate: number, periodsPerYear: number): number {
  requireInteger('periodsPerYear', periodsPerYear, 366);
  if (!(annualRate > -1 && annualRate <= Number.MAX_VALUE)) {
    throw badInput('annualDiscountRate', 'finite and above −1', annualRate);
  }
  return Math.pow(1 + annualRate, 1 / periodsPerYear) - 1;
}

function checkInputs(inputs: DcfInputs): void {
  requireInteger('periods', inputs.periods, 600);
  perPeriodRate(inputs.annualDiscountRate, inputs.periodsPerYear);
  const decay = inputs.decayPerPeriod;
  if (!(decay >= 0 && decay < 1)) throw badInput('decayPerPeriod', 'a number in [0, 1)', decay);
  const cost = inputs.costPerPeriod;
  if (typeof cost === 'number') requireNonNegative('costPerPeriod', cost);
  else {
    if (cost.length !== inputs.periods)
      throw badInput('costPerPeriod', `one cost per period (${inputs.periods})`, cost.length);
    for (let t = 0; t < cost.length; t++) requireNonNegative(`costPerPeriod[${t}]`, cost[t]!);
  }
  if (inputs.segments.length === 0) throw badInput('segments', 'at least one segment', 0);
  for (let k = 0; k < inputs.segments.length; k++) {
    const s = inputs.segments[k]!;
    requireNonNegative(`segments[${k}].decisionsPerPeriod`, s.decisionsPerPeriod);
    requireNonNegative(`segments[${k}].priceCap`, s.priceCap);
    if (!(s.captureShare >= 0 && s.captureShare <= 1)) {
      throw badInput(`segments[${k}].captureShare`, 'a number in [0, 1]', s.captureShare);
    }
    requireFinite(`segments[${k}].valueOfReduction`, s.valueOfReduction);
  }
}

/** F_t for the period whose decay factor is (1 − δ)^(t−1): the one arithmetic cashFlows and npvFast share. */
function flowOf(inputs: DcfInputs, decayFactor: number, t: number): number {
  const segments = inputs.segments;
  let revenue = 0;
  for (let k = 0; k < segments.length; k++) {
    const s = segments[k]!;
    const captured = s.captureShare * (s.valueOfReduction * decayFactor);
    revenue += s.decisionsPerPeriod * (captured < s.priceCap ? captured : s.priceCap);
  }
  const cost = inputs.costPerPeriod;
  return revenue - (typeof cost === 'number' ? cost : cost[t]!);
}

/** The cash flows F_1..F_T, end of each period, undiscounted. Throws BAD_INPUT naming the first bad field. */
export function cashFlows(inputs: DcfInputs): number[] {
  checkInputs(inputs);
  const flows: number[] = [];
  const keep = 1 - inputs.decayPerPeriod;
  let decayFactor = 1;
  for (let t = 0; t < inputs.periods; t++) {
    flows.push(flowOf(inputs, decayFactor, t));
    decayFactor *= keep;
  }
  return flows;
}

/** The per-period discount factor 1 / (1 + r) = (1 + i)^(−1/periodsPerYear). */
const discountFactorOf = (inputs: DcfInputs): number =>
  Math.pow(1 + inputs.annualDiscountRate, -1 / inputs.periodsPerYear);

/** NPV = Σ_{t=1..T} F_t / (1 + r)^t over cashFlows(inputs). */
export function npv(inputs: DcfInputs): number {
  const flows = cashFlows(inputs);
  const factor = discountFactorOf(inputs);
  let discount = 1;
  let sum = 0;
  for (let t = 0; t < flows.length; t++) {
    discount *= factor;
    sum += flows[t]! * discount;
  }
  return sum;
}

/** The same NPV, bit for bit, without building the array of cash flows: for the Monte Carlo's inner loop. */
export function npvFast(inputs: DcfInputs): number {
  checkInputs(inputs);
  const factor = discountFactorOf(inputs);
  const keep = 1 - inputs.decayPerPeriod;
  let decayFactor = 1;
  let discount = 1;
  let sum = 0;
  for (let t = 0; t < inputs.periods; t++) {
    const flow = flowOf(inputs, decayFactor, t);
    decayFactor *= keep;
    discount *= factor;
    sum += flow * discount;
  }
  return sum;
}
