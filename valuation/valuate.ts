// The valuation itself (DESIGN.md §7, docs/valuation.md): from a ValuationInput to a ValuationReport. Every uncertain
// input is a named quantity; the deterministic NPV takes each at its median, the Monte Carlo draws them all from one
// seeded generator, the tornado moves one at a time to its P10 and P90, and the Shapley attribution splits the
// present value of the package's revenue over its dimensions. Pure: the same input gives the same report, byte for
// byte.
import { GatewayError } from '../core/errors.ts';
import { collateralValue, covenantBacktest } from './collateral.ts';
import { crossChecks } from './cross-checks.ts';
import { cashFlows, discountRateOf, npvFast, type DcfInputs } from './dcf.ts';
import { medianOf, quantileOf, samplerOf, seededPrng } from './distributions.ts';
import { valueOfReduction, type MoneyMapping, type ResolvedMapping } from './money-mappings.ts';
import { summarizeDraws } from './monte-carlo-stats.ts';
import type { Quantity } from './quantity.ts';
import { parseInput } from './parse-input.ts';
import { elasticities, tornado } from './sensitivity.ts';
import { coalitionsOf, samplePermutations, shapleyExact, shapleySampled } from './shapley.ts';
import { ValuationInput, type BuyerSegment } from './valuation-input.ts';
import { VALUATION_REPORT_VERSION, type ValuationReport } from './valuation-report.ts';

/**
 * Permutations the sampled Shapley estimate uses above 4 dimensions; the lift certificate measures their prefixes. 24
 * orders of 8 dimensions need at most 24 × 7 = 168 subsets measured against 254 for the exact values: sampling only
 * pays while it measures fewer subsets, and the report states its standard error.
 */
export const SHAPLEY_PERMUTATIONS = 24;
/** Beyond this many dimensions a lift certificate samples subsets instead of measuring every one. */
export const EXACT_SUBSETS_UP_TO = 4;

/** Every uncertain input by name, in a fixed order: the order the Monte Carlo draws them in. */
export type NamedQuantity = { name: string; quantity: Quantity };

const mappingParams = (mapping: MoneyMapping): [string, Quantity][] =>
  Object.entries(mapping).filter(([key]) => key !== 'name') as [string, Quantity][];

export function namedQuantities(input: ValuationInput): NamedQuantity[] {
  const named: NamedQuantity[] = [];
  const add = (name: string, quantity: Quantity) => named.push({ name, quantity });
  for (const s of input.segments) {
    const at = `segment ${s.id}`;
    add(`${at}: decisions per period`, s.decisionsPerPeriod);
    add(`${at}: price cap`, s.priceCap);
    add(`${at}: capture share`, s.captureShare);
    add(`${at}: error without (e0)`, s.errors.e0);
    add(`${at}: error with (e1)`, s.errors.e1);
    for (const [param, q] of mappingParams(s.mapping)) add(`${at}: ${s.mapping.name} ${param}`, q);
  }
  add('decay per period', input.decayPerPeriod);
  add('cost per period', input.costPerPeriod);
  add('risk-free rate', input.discountRate.riskFree);
  for (const [premium, q] of Object.entries(input.discountRate.premia)) add(`${premium} premium`, q);
  return named;
}

/** The DCF inputs with every named quantity resolved by `valueOf`, and segment k's e1 optionally replaced. */
function dcfInputsOf(
  input: ValuationInput,
  valueOf: (name: string) => number,
  e1Of: (segment: BuyerSegment, resolved: number) => number = (_s, e1) => e1,
): DcfInputs {
  const segments = input.segments.map((s) => {
    const at = `segment ${s.id}`;
    const mapping = Object.fromEntries([
      ['name', s.mapping.name],
      ...mappingParams(s.mapping).map(([param]) => [param, valueOf(`${at}: ${s.mapping.name} ${param}`)]),
    ]) as ResolvedMapping;
    const e0 = valueOf(`${at}: error without (e0)`);
    const e1 = e1Of(s, valueOf(`${at}: error with (e1)`));
    return {
      decisionsPerPeriod: valueOf(`${at}: decisions per period`),
      priceCap: valueOf(`${at}: price cap`),
      captureShare: valueOf(`${at}: capture share`),
      valueOfReduction: valueOfReduction(mapping, e0, e1),
    };
  });
  const premia = Object.keys(input.discountRate.premia);
  return {
    periods: input.horizon.periods,
    periodsPerYear: input.horizon.periodsPerYear,
    decayPerPeriod: valueOf('decay per period'),
    costPerPeriod: valueOf('cost per period'),
    annualDiscountRate: discountRateOf({
      riskFree: valueOf('risk-free rate'),
      premia: Object.fromEntries(premia.map((p) => [p, valueOf(`${p} premium`)])) as never,
    }),
    segments,
  };
}

const isFixed = (q: Quantity): boolean => typeof q === 'number' || q.kind === 'fixed';

/** A ValuationInput from untrusted JSON. Throws BAD_INPUT naming up to 20 paths at fault. */
export const parseValuationInput = (raw: unknown): ValuationInput =>
  parseInput(ValuationInput, raw, 'the valuation input', 20);

/** Runs the whole valuation. Throws BAD_INPUT naming what is wrong with the input. */
export const valuate = (raw: unknown): ValuationReport => valuateInput(parseValuationInput(raw));

/** The valuation of an input already parsed (parseValuationInput). */
export function valuateInput(input: ValuationInput): ValuationReport {
  const named = namedQuantities(input);
  const medians = new Map(named.map(({ name, quantity }) => [name, medianOf(quantity)]));
  const atMedian = (overrides: ReadonlyMap<string, number>) => (name: string) =>
    overrides.get(name) ?? medians.get(name)!;

  // Deterministic: every input at its median.
  const base = dcfInputsOf(input, atMedian(new Map()));
  const baseFlows = cashFlows(base);

  // Monte Carlo: one generator, samplers made in the fixed order of `named`, draws in that order.
  const { draws, seed } = input.monteCarlo;
  const prng = seededPrng(seed);
  const samplers = named.map(({ name, quantity }) => [name, samplerOf(quantity, prng)] as const);
  const npvs = new Float64Array(draws);
  const flows = new Float64Array(draws * input.horizon.periods);
  const drawn = new Map<string, number>();
  for (let d = 0; d < draws; d++) {
    for (const [name, sample] of samplers) drawn.set(name, sample());
    const inputs = dcfInputsOf(input, (name) => drawn.get(name)!);
    const f = cashFlows(inputs);
    flows.set(f, d * input.horizon.periods);
    npvs[d] = npvFast(inputs);
  }
  const npv = summarizeDraws(npvs);
  const cashFlowBands = baseFlows.map((median, t) => {
    const column = new Float64Array(draws);
    for (let d = 0; d < draws; d++) column[d] = flows[d * input.horizon.periods + t]!;
    const s = summarizeDraws(column);
    return { period: t + 1, atMedians: median, p5: s.p5, p50: s.p50, p95: s.p95 };
  });

  // Sensitivity: only uncertain inputs move.
  const uncertain = named.filter(({ quantity }) => !isFixed(quantity));
  const npvAt = (overrides: ReadonlyMap<string, number>) => npvFast(dcfInputsOf(input, atMedian(overrides)));
  const bars = tornado(
    uncertain.map(({ name, quantity }) => ({
      name,
      p10: quantileOf(quantity, 0.1),
      p50: medians.get(name)!,
      p90: quantileOf(quantity, 0.9),
    })),
    npvAt,
  );
  const elasticity = elasticities(
    named.map(({ name }) => ({ name, p50: medians.get(name)! })),
    npvAt,
  );

  const report: ValuationReport = {
    version: VALUATION_REPORT_VERSION,
    packageId: input.package.packageId,
    consentBasis: input.package.consentBasis,
    errorSources: input.segments.map(({ id, errors: { source } }) =>
      source.kind === 'lift-certificate'
        ? { segment: id, kind: source.kind, reference: source.certificateId, detail: source.certificateHash }
        : { segment: id, kind: source.kind, reference: source.enteredBy, detail: source.note },
    ),
    currencyNote: 'all amounts in the currency of the inputs, per the horizon periods',
    deterministic: {
      npv: npvFast(base),
      annualDiscountRate: base.annualDiscountRate,
      cashFlows: baseFlows,
      valuePerDecision: input.segments.map((s, k) => ({ segment: s.id, value: base.segments[k]!.valueOfReduction })),
    },
    monteCarlo: { draws, seed, npv, cashFlowBands },
    sensitivity: { tornado: bars, elasticities: elasticity },
    shapley: shapleyOf(input, atMedian(new Map())),
    collateral: null,
    covenant: null,
    crossChecks: null,
  };
  if (input.collateral !== undefined) {
    report.collateral = collateralValue(npv.p10, input.collateral.haircut);
    const { covenant } = input.collateral;
    // Its own generator, seeded from the valuation's: adding a covenant never changes the Monte Carlo draws.
    if (covenant !== undefined)
      report.covenant = covenantBacktest(covenant.errors, covenant.bound, seededPrng(derivedSeed(seed, 2)));
  }
  if (input.crossChecks !== undefined) {
    report.crossChecks = crossChecks({
      incomeP50: npv.p50,
      ...(input.crossChecks.cost === undefined ? {} : { cost: input.crossChecks.cost }),
      ...(input.crossChecks.market === undefined ? {} : { market: input.crossChecks.market }),
    });
  }
  return report;
}

/** A second stream from the same seed, for draws that must not disturb the Monte Carlo's (1..2^32−1). */
const derivedSeed = (seed: number, stream: number): number => ((seed + stream * 0x9e3779b9) % 0xffff_ffff) + 1;

/**
 * v(S) = the present value of the package's revenue with only the dimensions in S: each segment's e1 replaced by its
 * measured error for S (e0 for the empty set, e1 for all). Costs belong to the package, not to a dimension, so they
 * are left out and the values add up to the revenue's present value.
 */
function shapleyOf(input: ValuationInput, valueOf: (name: string) => number): ValuationReport['shapley'] {
  const dims = input.package.dimensions;
  const n = dims.length;
  const full = (1 << n) - 1;
  const indexOf = new Map(dims.map((d, i) => [d.id, i]));
  const measured = input.segments.map((s) => {
    const byMask = new Map<number, number>();
    for (const entry of s.subsetErrors) {
      let mask = 0;
      for (const id of entry.dimensions) {
        const i = indexOf.get(id);
        if (i === undefined)
          throw new GatewayError('BAD_INPUT', `segment ${s.id} measures an unknown dimension ${id}`, { id });
        mask |= 1 << i;
      }
      byMask.set(mask, medianOf(entry.e1));
    }
    return byMask;
  });
  const e1For = (mask: number) => (s: BuyerSegment, e1: number) => {
    if (mask === full) return e1;
    if (mask === 0) return valueOf(`segment ${s.id}: error without (e0)`);
    const k = input.segments.indexOf(s);
    const e = measured[k]!.get(mask);
    if (e === undefined)
      throw missingSubset(
        s,
        mask,
        dims.map((d) => d.id),
      );
    return e;
  };
  const revenue = (mask: number) => npvFast({ ...dcfInputsOf(input, valueOf, e1For(mask)), costPerPeriod: 0 });
  const needed = (masks: Iterable<number>) => {
    for (const mask of masks) if (mask !== 0 && mask !== full) for (const s of input.segments) e1For(mask)(s, 0);
  };
  // A package of several dimensions valued by hand, with no subset measured: nothing to attribute by.
  if (n > 1 && input.segments.every((s) => s.subsetErrors.length === 0)) return null;
  const isComplete = input.segments.every((_, k) => {
    for (let mask = 1; mask < full; mask++) if (!measured[k]!.has(mask)) return false;
    return true;
  });
  if (isComplete || n <= EXACT_SUBSETS_UP_TO) {
    if (!isComplete) needed(Array.from({ length: full + 1 }, (_, m) => m));
    const values = shapleyExact(n, revenue);
    return attribution(dims, { values, standardErrors: null, total: revenue(full), method: 'exact' });
  }
  const permutations = sampledPermutations(input);
  needed(coalitionsOf(permutations));
  const sampled = shapleySampled(n, permutations, revenue);
  return attribution(dims, {
    values: sampled.values,
    standardErrors: sampled.standardErrors,
    total: revenue(full),
    method: 'sampled',
  });
}

/**
 * The subsets of dimensions whose errors the Shapley attribution needs (beside none and all): every one for at most
 * EXACT_SUBSETS_UP_TO dimensions, else the prefixes of the seeded sample of permutations. A lift certificate job
 * measures exactly these.
 */
export function shapleySubsetsNeeded(input: ValuationInput): string[][] {
  const ids = input.package.dimensions.map((d) => d.id);
  const full = (1 << ids.length) - 1;
  const masks =
    ids.length <= EXACT_SUBSETS_UP_TO
      ? Array.from({ length: full + 1 }, (_, m) => m)
      : coalitionsOf(sampledPermutations(input));
  return masks.filter((m) => m !== 0 && m !== full).map((m) => ids.filter((_, i) => (m >> i) & 1));
}

const sampledPermutations = (input: ValuationInput): number[][] =>
  samplePermutations(
    input.package.dimensions.length,
    SHAPLEY_PERMUTATIONS,
    seededPrng(derivedSeed(input.monteCarlo.seed, 1)),
  );

function missingSubset(s: BuyerSegment, mask: number, ids: readonly string[]): GatewayError {
  const subset = ids.filter((_, i) => (mask >> i) & 1);
  return new GatewayError('BAD_INPUT', `segment ${s.id} has no measured error for dimensions ${subset.join(', ')}`, {
    segment: s.id,
    dimensions: subset,
  });
}

function attribution(
  dims: ValuationInput['package']['dimensions'],
  result: {
    values: readonly number[];
    standardErrors: readonly number[] | null;
    total: number;
    method: 'exact' | 'sampled';
  },
): ValuationReport['shapley'] {
  const { values, standardErrors, total, method } = result;
  return {
    method,
    permutations: method === 'sampled' ? SHAPLEY_PERMUTATIONS : null,
    revenuePresentValue: total,
    dimensions: dims.map((d, i) => ({
      id: d.id,
      label: d.label,
      value: values[i]!,
      share: total === 0 ? null : values[i]! / total,
      standardError: standardErrors === null ? null : standardErrors[i]!,
    })),
  };
}
