// What a lift certificate is asked (docs/valuation.md, "Lift certificates"): the package's dimensions, each a set of
// feature columns at one host of a completed PSI job; the buyer's target (a label at the guest, the guest's own
// baseline features, a model type from the allowlist and the error to measure); the training settings; the outputs
// wanted. And the plan it becomes: one vertical model job per subset of dimensions, each trained with the guest's
// features and the subset's columns on the same split, each measured against the same guest-only baseline. Pure.
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';
import { SqlName } from '../connectors/sql-name.ts';
import { PurposeId } from '../consent/purpose.ts';
import type { JobRequestInput, JobSpec } from '../mpc/jobs/job.ts';
import { JobId } from '../mpc/jobs/job.ts';
import { PeerId } from '../mpc/peers/peer-signature.ts';
import { ErrorMetric, METRIC_TASK } from '../mpc/vfl/error-metrics.ts';
import { HE_PRESET_NAMES } from '../mpc/he/he-presets.ts';
import { MAX_DIMENSIONS, PackageId } from '../valuation/valuation-input.ts';
import { EXACT_SUBSETS_UP_TO } from '../valuation/valuate.ts';
import type { OutputKind } from './output-check.ts';

/** What a lift certificate may return: the errors and their intervals, and row counts. */
export const CERTIFICATE_OUTPUTS: readonly OutputKind[] = ['error-metrics', 'row-counts'];

const DimensionId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,47}$/, 'lower-case letters, digits and -, at most 48');

export const CertificateDimension = z.strictObject({
  id: DimensionId,
  /** The host that holds the dimension's columns. */
  party: PeerId,
  columns: z.array(SqlName).min(1).max(64),
});

export const LiftCertificateRequest = z
  .strictObject({
    packageId: PackageId,
    /** The package's consent basis as the seller states it (the same as in its valuation input). */
    consentBasis: z.strictObject({
      root: z.string().regex(/^0x[0-9a-f]{64}$/),
      records: z.number().int().min(0),
      subjects: z.number().int().min(0),
    }),
    dimensions: z.array(CertificateDimension).min(1).max(MAX_DIMENSIONS),
    /** A completed PSI job this gateway led, whose intersection reached every party holding a dimension. */
    psiJob: JobId,
    /** The purpose the jobs run under; default: the PSI job's. */
    purpose: PurposeId.optional(),
    target: z.strictObject({
      /** The buyer's target: a 0/1 label (logistic) or a number (linear) at this gateway, the guest. */
      label: SqlName,
      /** The guest's own features: the forecast without the package. May be empty (an intercept-only baseline). */
      features: z.array(SqlName).max(64).default([]),
      model: z.enum(['logistic', 'linear']),
      errorMetric: ErrorMetric.optional(),
    }),
    training: z
      .strictObject({
        epochs: z.int().min(1).max(1000).optional(),
        batchSize: z.int().min(16).max(65_536).optional(),
        learningRate: z.number().positive().max(10).optional(),
        l2: z.number().min(0).max(10).optional(),
        testPercent: z.int().min(1).max(50).optional(),
        seed: z
          .int()
          .min(0)
          .max(2 ** 31)
          .optional(),
        bootstrap: z.int().min(20).max(2000).default(200),
        preset: z.enum(HE_PRESET_NAMES).optional(),
      })
      .prefault({}),
    /**
     * The subsets of dimensions to measure besides all of them (for the Shapley attribution). Default: every
     * subset up to EXACT_SUBSETS_UP_TO dimensions, none above (give `shapleySubsetsNeeded` of the valuation input).
     */
    subsets: z.array(z.array(DimensionId).min(1).max(MAX_DIMENSIONS)).max(254).optional(),
    /** What the certificate returns; anything but CERTIFICATE_OUTPUTS is refused (output-check.ts). */
    outputs: z
      .array(z.string().min(1).max(64))
      .min(1)
      .max(16)
      .default([...CERTIFICATE_OUTPUTS]),
    /** Each job's step deadline. */
    stepMs: z.int().min(1_000).max(86_400_000).optional(),
  })
  .superRefine((r, ctx) => {
    const ids = r.dimensions.map((d) => d.id);
    if (new Set(ids).size !== ids.length)
      ctx.addIssue({ code: 'custom', path: ['dimensions'], message: 'dimension ids must be distinct' });
    const columns = r.dimensions.flatMap((d) => d.columns.map((c) => `${d.party}.${c}`));
    if (new Set(columns).size !== columns.length)
      ctx.addIssue({ code: 'custom', path: ['dimensions'], message: 'a column belongs to one dimension only' });
    if (r.target.features.includes(r.target.label))
      ctx.addIssue({ code: 'custom', path: ['target', 'features'], message: 'the label is not a feature' });
    const metric = r.target.errorMetric;
    if (metric !== undefined && METRIC_TASK[metric.name] !== r.target.model)
      ctx.addIssue({
        code: 'custom',
        path: ['target', 'errorMetric'],
        message: `${metric.name} measures a ${METRIC_TASK[metric.name]} model`,
      });
    r.subsets?.forEach((subset, i) => {
      const unknown = subset.filter((id) => !ids.includes(id));
      if (unknown.length > 0)
        ctx.addIssue({ code: 'custom', path: ['subsets', i], message: `unknown dimensions ${unknown.join(', ')}` });
    });
  });
export type LiftCertificateRequest = z.infer<typeof LiftCertificateRequest>;

/** One job of the plan: the dimensions it adds to the guest's features (sorted as in the request). */
export type PlannedSubset = { dimensions: string[] };

/** Every subset the certificate measures, the full package first; each once, in the request's dimension order. */
export function planSubsets(request: LiftCertificateRequest): PlannedSubset[] {
  const ids = request.dimensions.map((d) => d.id);
  const all = (1 << ids.length) - 1;
  const masks =
    request.subsets !== undefined
      ? request.subsets.map((s) => ids.reduce((m, id, i) => (s.includes(id) ? m | (1 << i) : m), 0))
      : ids.length <= EXACT_SUBSETS_UP_TO
        ? Array.from({ length: all }, (_, m) => m + 1)
        : [];
  const ordered = [all, ...new Set(masks.filter((m) => m !== all))];
  return ordered.map((m) => ({ dimensions: ids.filter((_, i) => (m >> i) & 1) }));
}

/**
 * The vertical model job that measures one subset: the PSI job's parties that hold a dimension of the subset, each
 * with that subset's columns, and the guest with the label and its own features. Throws nothing: the runner's own
 * admission checks the columns and consent when it is submitted.
 */
export function subsetJobRequest(
  request: LiftCertificateRequest,
  psi: Pick<JobSpec, 'parties' | 'purpose'>,
  subset: PlannedSubset,
): JobRequestInput {
  const guest = psi.parties.find((p) => p.role === 'guest') as JobSpec['parties'][number];
  const chosen = request.dimensions.filter((d) => subset.dimensions.includes(d.id));
  const hosts = psi.parties
    .filter((p) => p.role !== 'guest')
    .map((p) => ({ party: p, columns: chosen.filter((d) => d.party === p.id).flatMap((d) => d.columns) }))
    .filter((h) => h.columns.length > 0);
  const { training, target } = request;
  return {
    protocol: target.model === 'logistic' ? 'vfl-logistic' : 'vfl-linear',
    purpose: request.purpose ?? psi.purpose,
    parties: [
      {
        id: guest.id,
        role: 'guest',
        view: guest.view,
        idColumn: guest.idColumn,
        columns: [target.label, ...target.features],
      },
      ...hosts.map((h) => ({
        id: h.party.id,
        role: 'host' as const,
        view: h.party.view,
        idColumn: h.party.idColumn,
        columns: h.columns,
      })),
    ],
    receivers: [guest.id],
    params: {
      psiJob: request.psiJob,
      label: target.label,
      ...Object.fromEntries(Object.entries(training).filter(([, v]) => v !== undefined)),
      ...(target.errorMetric === undefined ? {} : { errorMetric: target.errorMetric }),
    },
    ...(request.stepMs === undefined ? {} : { deadlines: { stepMs: request.stepMs } }),
  };
}

/**
 * The error to certify for a buyer whose decision is yes/no (the cost-loss mapping, valuation/money-mappings.ts):
 * the weighted error rate at the Bayes threshold c_fp / (c_fp + c_fn) for a calibrated probability, weighted by the
 * probability cost π·c_fn / (π·c_fn + (1 − π)·c_fp). The certified errors are then the mapping's normalized expected
 * cost, in its unit.
 */
export function costLossErrorMetric(mapping: {
  baseRate: number;
  falsePositiveCost: number;
  falseNegativeCost: number;
}): ErrorMetric {
  const { baseRate: pi, falsePositiveCost: fp, falseNegativeCost: fn } = mapping;
  const scale = pi * fn + (1 - pi) * fp;
  if (!(fp > 0 && fn > 0 && pi >= 0 && pi <= 1 && scale > 0))
    throw new GatewayError('BAD_INPUT', 'a cost-loss metric needs both costs above 0 and a base rate in [0, 1]', {
      ...mapping,
    });
  return {
    name: 'weighted-error-rate',
    threshold: fp / (fp + fn),
    falseNegativeWeight: (pi * fn) / scale,
  };
}
