// The valuation input after a package's consent basis shrank (docs/exchange.md, "Consent basis"): the latest input
// with the new basis, the new coverage, and each segment's decisions per period scaled by the subjects that remain.
// Why scale the decisions: a buyer's decisions that the package improves are decisions about the package's subjects
// (a loan, a site, an order per customer region); a subject who left takes their share of those decisions with them.
// Prices, capture and errors stay: the lift measured on the rest is the best estimate until the certificate is run
// again. Pure.
import type { ConsentBasisSummary } from './consent-basis.ts';
import type { Quantity } from '../valuation/quantity.ts';
import type { ValuationInput } from '../valuation/valuation-input.ts';

/** `q` times `factor` (factor > 0): the same distribution, stretched. */
export function scaleQuantity(q: Quantity, factor: number): Quantity {
  if (typeof q === 'number') return q * factor;
  switch (q.kind) {
    case 'fixed':
      return { kind: 'fixed', value: q.value * factor };
    case 'uniform':
      return { kind: 'uniform', min: q.min * factor, max: q.max * factor };
    case 'triangular':
      return { kind: 'triangular', min: q.min * factor, mode: q.mode * factor, max: q.max * factor };
    case 'normal':
      return { kind: 'normal', mean: q.mean * factor, sd: q.sd * factor };
    case 'lognormal':
      // ln(cX) = ln c + ln X.
      return { kind: 'lognormal', mu: q.mu + Math.log(factor), sigma: q.sigma };
    case 'beta':
      return { ...q, min: q.min * factor, max: q.max * factor };
  }
}

/**
 * The input revalued on `basis`. `remaining` is the share of the subjects still in the basis, in (0, 1]; a basis
 * with no subject left is valued with decisions scaled to a millionth (the distributions need a positive width).
 */
export function revaluedInput(input: ValuationInput, basis: ConsentBasisSummary, remaining: number): ValuationInput {
  const factor = Math.min(1, Math.max(remaining, 1e-6));
  return {
    ...input,
    package: {
      ...input.package,
      consentBasis: basis,
      coverage: { ...input.package.coverage, subjects: basis.subjects },
    },
    segments: input.segments.map((s) => ({ ...s, decisionsPerPeriod: scaleQuantity(s.decisionsPerPeriod, factor) })),
  };
}
