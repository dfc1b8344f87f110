// Parameters and rules of a vertical federated model job (protocols `vfl-logistic` and `vfl-linear`,
// docs/joint-modeling.md). The guest holds the label (and maybe features); every host holds features.
import { z } from 'zod';
import { SqlName } from '../../connectors/sql-name.ts';
import type { JobRequestLike } from '../jobs/job.ts';
import { AlignedParams } from '../joint/joint-params.ts';
import { ErrorMetric, METRIC_TASK } from './error-metrics.ts';

export const MAX_FEATURES = 64;

export const VflParams = z.strictObject({
  ...AlignedParams,
  /** The guest's label column: 0/1 for logistic regression, a number for linear regression. */
  label: SqlName,
  epochs: z.int().min(1).max(1000).default(20),
  batchSize: z.int().min(16).max(65_536).default(1024),
  learningRate: z.number().positive().max(10).default(0.15),
  l2: z.number().min(0).max(10).default(1e-4),
  /** Training stops early once an epoch changes the weights by less than this, relative to their norm. */
  tolerance: z.number().min(0).max(1).default(1e-4),
  /** Percent of the aligned rows held out for evaluation (row k is held out when (k·2654435761) mod 100 < this). */
  testPercent: z.int().min(1).max(50).default(20),
  /** Seeds the batch order: the same seed and data give the same model at every run. */
  seed: z
    .int()
    .min(0)
    .max(2 ** 31)
    .default(1),
  /** Bootstrap rounds for the confidence interval of the lift over a guest-only model. */
  bootstrap: z.int().min(0).max(2000).default(200),
  /** The error the lift is measured in (error-metrics.ts); default: log-loss for logistic, RMSE for linear. */
  errorMetric: ErrorMetric.optional(),
  /** The name the model is registered under at every party; default: the protocol and job id. */
  model: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,63}$/)
    .optional(),
});
export type VflParams = z.infer<typeof VflParams>;

export function checkVflJob(job: JobRequestLike, ctx: z.RefinementCtx): void {
  const params = VflParams.parse(job.params);
  const guest = job.parties.find((p) => p.role === 'guest');
  const task = job.protocol === 'vfl-linear' ? 'linear' : 'logistic';
  if (params.errorMetric !== undefined && METRIC_TASK[params.errorMetric.name] !== task)
    ctx.addIssue({
      code: 'custom',
      path: ['params', 'errorMetric'],
      message: `${params.errorMetric.name} measures a ${METRIC_TASK[params.errorMetric.name]} model, not a ${task} one`,
    });
  if (job.receivers.length !== 1 || job.receivers[0] !== guest?.id)
    ctx.addIssue({
      code: 'custom',
      path: ['receivers'],
      message: 'the guest (the label holder) alone receives metrics',
    });
  if (guest !== undefined && !guest.columns.includes(params.label))
    ctx.addIssue({
      code: 'custom',
      path: ['parties'],
      message: `the guest must declare ${params.label} among its columns`,
    });
  job.parties.forEach((party, i) => {
    const features = party.columns.filter((c) => party.role !== 'guest' || c !== params.label);
    if (features.length > MAX_FEATURES)
      ctx.addIssue({ code: 'custom', path: ['parties', i, 'columns'], message: `at most ${MAX_FEATURES} features` });
    if (party.role === 'host' && features.length === 0)
      ctx.addIssue({ code: 'custom', path: ['parties', i, 'columns'], message: 'a host declares its feature columns' });
  });
}

/** Feature columns of a party: its declared columns, without the label at the guest. */
export const featuresOf = (columns: readonly string[], role: string, label: string): string[] =>
  columns.filter((c) => role !== 'guest' || c !== label);
