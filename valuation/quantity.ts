// Valuation inputs that may be uncertain (DESIGN.md §7, docs/valuation.md): a quantity is a plain number (fixed) or a
// named distribution. The valuation folder is pure: no I/O, no clock, no global randomness; every random draw comes
// from a Prng made from an explicit seed (distributions.ts), so the same inputs and seed give the same report.
import { z } from 'zod';

const finite = z.number().finite();
const positive = finite.positive();

/** The distributions an input may follow; parameters are named as statistics texts name them. */
export const Distribution = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('fixed'), value: finite }),
  z
    .strictObject({ kind: z.literal('uniform'), min: finite, max: finite })
    .refine((d) => d.min < d.max, { message: 'min must be below max' }),
  z
    .strictObject({ kind: z.literal('triangular'), min: finite, mode: finite, max: finite })
    .refine((d) => d.min <= d.mode && d.mode <= d.max && d.min < d.max, {
      message: 'needs min ≤ mode ≤ max, min < max',
    }),
  z.strictObject({ kind: z.literal('normal'), mean: finite, sd: positive }),
  /** ln X ~ Normal(mu, sigma). */
  z.strictObject({ kind: z.literal('lognormal'), mu: finite, sigma: positive }),
  /** Beta(alpha, beta) scaled onto [min, max] (default [0, 1]): shares and rates. */
  z
    .strictObject({
      kind: z.literal('beta'),
      alpha: positive,
      beta: positive,
      min: finite.default(0),
      max: finite.default(1),
    })
    .refine((d) => d.min < d.max, { message: 'min must be below max' }),
]);
export type Distribution = z.infer<typeof Distribution>;

/** A number (fixed) or a distribution. */
export const Quantity = z.union([finite, Distribution]);
export type Quantity = z.infer<typeof Quantity>;

/** Uniform draws in [0, 1) from a seeded generator. */
export type Prng = () => number;
