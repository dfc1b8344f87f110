// A listing: how a data package is offered to buyers through an exchange (DESIGN.md §8, docs/exchange.md). Its content
// follows what AWS Data Exchange and Snowflake Marketplace listings carry and what the China Appraisal Society's
// guidance asks of a data asset: identity, description, data dictionary, a preview that is never real rows, coverage,
// update frequency, provenance and legal basis, the consent basis, six quality dimensions each with how it was
// measured, delivery modes with the algorithm allowlist, and licence terms. The lifecycle is a small state machine
// with the role allowed to take each step. Pure.
import { z } from 'zod';
import { PurposeId } from '../consent/purpose.ts';
import { GatewayError } from '../core/errors.ts';
import { PackageId } from '../valuation/valuation-input.ts';

const Text = (max: number) => z.string().min(1).max(max);
const Slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'lower-case letters, digits and -, at most 48');
const Day = z.iso.date();

/** The six quality dimensions of the Chinese data-quality standard (GB/T 36344-2018), each with its method. */
export const QUALITY_DIMENSIONS = [
  'accuracy',
  'consistency',
  'completeness',
  'conformity',
  'timeliness',
  'accessibility',
] as const;
const QualityScore = z.strictObject({
  /** 0 to 1. */
  score: z.number().min(0).max(1),
  /** How it was measured: the check, its sample and its date. */
  method: Text(500),
});

/** What a buyer's job may run where the data lives (compute-to-data): the algorithm allowlist. */
export const DELIVERY_ALGORITHMS = [
  'segment-aggregates',
  'train-model',
  'score-own-subjects',
  'lift-certificate',
] as const;
export const DeliveryAlgorithm = z.enum(DELIVERY_ALGORITHMS);
export type DeliveryAlgorithm = z.infer<typeof DeliveryAlgorithm>;

const PreviewValue = z.union([z.string().max(120), z.number(), z.boolean(), z.null()]);

export const ListingContent = z
  .strictObject({
    packageId: PackageId,
    title: Text(120),
    summary: Text(500),
    description: z.strictObject({
      businessNeeds: z.array(Text(500)).min(1).max(10),
      usageExamples: z.array(Text(500)).min(1).max(10),
    }),
    /** The package's dimensions, by which buyers search. */
    dimensions: z
      .array(z.strictObject({ id: Slug, label: Text(120) }))
      .min(1)
      .max(8),
    dataDictionary: z
      .array(
        z.strictObject({
          name: Text(64),
          type: z.enum(['string', 'number', 'integer', 'boolean', 'date', 'category']),
          description: Text(500),
          /** The dimension the field belongs to. */
          dimension: Slug.optional(),
          unit: Text(32).optional(),
        }),
      )
      .min(1)
      .max(256),
    /**
     * A preview made of aggregates over at least k subjects each, or of synthetic rows with the generator named: never
     * real rows. Each row is a flat object of at most 16 values.
     */
    preview: z.discriminatedUnion('kind', [
      z.strictObject({
        kind: z.literal('aggregates'),
        k: z.int().min(2),
        rows: z
          .array(z.record(z.string().max(64), PreviewValue).and(z.object({ subjects: z.int() })))
          .min(1)
          .max(50),
      }),
      z.strictObject({
        kind: z.literal('synthetic'),
        generator: Text(200),
        rows: z
          .array(z.record(z.string().max(64), PreviewValue))
          .min(1)
          .max(20),
      }),
    ]),
    coverage: z.strictObject({
      subjects: z.int().min(0),
      records: z.int().min(0),
      regions: z.array(Text(64)).max(64).default([]),
      period: z.strictObject({ from: Day, to: Day }).optional(),
    }),
    updateFrequency: z.enum(['daily', 'weekly', 'monthly', 'quarterly', 'yearly']),
    provenance: z.strictObject({
      sources: z.array(Text(200)).min(1).max(16),
      /** The lawful basis of the processing (PIPL art. 13): consent for the packages sealgate builds. */
      legalBasis: z.enum(['consent', 'contract', 'legal-obligation', 'public-interest', 'publicly-available']),
      note: Text(1000).optional(),
    }),
    consentBasis: z.strictObject({
      root: z.string().regex(/^0x[0-9a-f]{64}$/),
      records: z.int().min(0),
      subjects: z.int().min(0),
      /** The purposes the subjects consented to: an order's purpose must be one of them. */
      purposes: z.array(PurposeId).min(1).max(16),
    }),
    quality: z.strictObject(
      Object.fromEntries(QUALITY_DIMENSIONS.map((d) => [d, QualityScore])) as {
        [K in (typeof QUALITY_DIMENSIONS)[number]]: typeof QualityScore;
      },
    ),
    delivery: z.strictObject({
      modes: z.array(z.enum(['compute-to-data'])).min(1),
      algorithms: z.array(DeliveryAlgorithm).min(1).max(DELIVERY_ALGORITHMS.length),
    }),
    licence: z.strictObject({
      exclusivity: z.enum(['exclusive', 'non-exclusive']),
      territory: z.array(Text(64)).min(1).max(64),
      permittedUses: z.array(Text(200)).min(1).max(16),
      endDate: Day,
    }),
    /** The indicative price buyers search by; offers carry the prices an order pays. */
    indicativePrice: z.strictObject({ amount: z.number().min(0), currency: z.string().regex(/^[A-Z]{3}$/) }),
  })
  .superRefine((c, ctx) => {
    const ids = c.dimensions.map((d) => d.id);
    if (new Set(ids).size !== ids.length)
      ctx.addIssue({ code: 'custom', path: ['dimensions'], message: 'dimension ids must be distinct' });
    c.dataDictionary.forEach((f, i) => {
      if (f.dimension !== undefined && !ids.includes(f.dimension))
        ctx.addIssue({ code: 'custom', path: ['dataDictionary', i, 'dimension'], message: 'not a dimension' });
    });
    if (c.preview.kind === 'aggregates')
      c.preview.rows.forEach((r, i) => {
        if (r.subjects < (c.preview as { k: number }).k)
          ctx.addIssue({
            code: 'custom',
            path: ['preview', 'rows', i, 'subjects'],
            message: `an aggregate over fewer than k = ${(c.preview as { k: number }).k} subjects`,
          });
      });
    if (new Set(c.delivery.algorithms).size !== c.delivery.algorithms.length)
      ctx.addIssue({ code: 'custom', path: ['delivery', 'algorithms'], message: 'algorithms must be distinct' });
  });
export type ListingContent = z.infer<typeof ListingContent>;

export const ListingState = z.enum(['draft', 'in-review', 'listed', 'suspended', 'delisted']);
export type ListingState = z.infer<typeof ListingState>;

/**
 * Each step of the lifecycle: the states it starts from, where it goes, and who may take it. The seller's data
 * steward writes and submits; the exchange reviews, approves and reinstates. Both may suspend or delist. No one
 * approves their own listing, and no role, admin included, may take every step.
 */
export const LISTING_STEPS = {
  submit: { from: ['draft'], to: 'in-review', roles: ['data-steward'] },
  approve: { from: ['in-review'], to: 'listed', roles: ['exchange'] },
  reject: { from: ['in-review'], to: 'draft', roles: ['exchange'] },
  suspend: { from: ['listed'], to: 'suspended', roles: ['exchange', 'data-steward'] },
  reinstate: { from: ['suspended'], to: 'listed', roles: ['exchange'] },
  delist: { from: ['draft', 'in-review', 'listed', 'suspended'], to: 'delisted', roles: ['exchange', 'data-steward'] },
} as const satisfies Record<string, { from: readonly ListingState[]; to: ListingState; roles: readonly string[] }>;
export type ListingStep = keyof typeof LISTING_STEPS;
export const ListingStep = z.enum(Object.keys(LISTING_STEPS) as [ListingStep, ...ListingStep[]]);

/** The state a step leads to. FORBIDDEN for a role the step does not allow; CONFLICT from another state. */
export function nextListingState(state: ListingState, step: ListingStep, role: string): ListingState {
  const rule = LISTING_STEPS[step];
  if (!(rule.roles as readonly string[]).includes(role))
    throw new GatewayError('FORBIDDEN', `a ${role} may not ${step} a listing`, {
      step,
      allowedRoles: [...rule.roles],
    });
  if (!(rule.from as readonly ListingState[]).includes(state))
    throw new GatewayError('CONFLICT', `a ${state} listing cannot be ${step === 'submit' ? 'submitted' : `${step}d`}`, {
      step,
      state,
      from: [...rule.from],
    });
  return rule.to;
}

/** Content changes only while the seller holds the listing: in draft, or suspended (then it is reviewed again). */
export function revisedState(state: ListingState): ListingState {
  if (state === 'draft') return 'draft';
  if (state === 'suspended') return 'draft';
  throw new GatewayError('CONFLICT', `a ${state} listing cannot be revised: suspend it first`, { state });
}
