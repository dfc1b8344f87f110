// Parameters and rules of a horizontal federated model job (protocol `hfl-fedavg`, docs/hfl.md): every party holds the
// same columns (features and label) about its own customers; rounds of local training are averaged through secure
// aggregation (mpc/secagg), so the coordinator learns only each round's sum.
import { z } from 'zod';
import { SqlName } from '../../connectors/sql-name.ts';
import type { JobRequestLike } from '../jobs/job.ts';
import { checkSecAggParams, SecAggParams } from '../secagg/secagg-params.ts';
import { LOCAL_TRAINING_DEFAULTS } from './local-training.ts';
import { STOPPING_DEFAULTS } from './stopping-rule.ts';
import { VflParams } from '../vfl/vfl-params.ts';

export const MAX_HFL_FEATURES = 64;

export const HflParams = z.strictObject({
  task: z.enum(['logistic', 'linear']),
  /** The label column every party declares: 0/1 for logistic regression, a number for linear regression. */
  label: SqlName,
  /** The most aggregation rounds of training. */
  rounds: z.int().min(1).max(200).default(STOPPING_DEFAULTS.rounds),
  /** Stop early once a round changes the global weights by less than this, relative to their norm (0: never). */
  tolerance: z.number().min(0).max(1).default(STOPPING_DEFAULTS.tolerance),
  /** Stop early once the global metric has not improved for this many rounds (0: never). */
  patience: z.int().min(0).max(200).default(STOPPING_DEFAULTS.patience),
  localEpochs: z.int().min(1).max(100).default(LOCAL_TRAINING_DEFAULTS.epochs),
  learningRate: z.number().positive().max(10).default(LOCAL_TRAINING_DEFAULTS.learningRate),
  /** Rounds after which the local step has halved (η / (1 + r / decayRounds)); 0 keeps it constant. */
  decayRounds: z.int().min(0).max(1000).default(LOCAL_TRAINING_DEFAULTS.decayRounds),
  l2: z.number().min(0).max(10).default(LOCAL_TRAINING_DEFAULTS.l2),
  batchSize: z.int().min(1).max(65_536).default(LOCAL_TRAINING_DEFAULTS.batchSize),
  /** Percent of each party's rows held out for the global evaluation (row k when (k·2654435761) mod 100 < this). */
  testPercent: z.int().min(1).max(50).default(20),
  /** Seeds the local batch order, as a vertical model's seed does. */
  seed: VflParams.shape.seed,
  /** The name the model is registered under at every party; default: the protocol and job id. */
  model: VflParams.shape.model,
  threshold: SecAggParams.threshold,
  neighbours: SecAggParams.neighbours,
  phaseMs: SecAggParams.phaseMs,
  /** Fixed-point precision of every secure sum (ring 2^64; docs/hfl.md says what it bounds). */
  fractionBits: z.int().min(8).max(32).default(16),
});
export type HflParams = z.infer<typeof HflParams>;

/**
 * Every sum runs in the ring 2^64 with values up to 2^(53 − fractionBits): the widest range whose scaled values are
 * exact doubles. With 255 parties at most, no sum can overflow (255 · 2^53 < 2^63).
 */
export const hflQuantization = (params: Pick<HflParams, 'fractionBits'>) =>
  ({ ring: 64, fractionBits: params.fractionBits, clip: 2 ** (53 - params.fractionBits) }) as const;

export const featuresOf = (columns: readonly string[], label: string): string[] => columns.filter((c) => c !== label);

export function checkHflJob(job: JobRequestLike, ctx: z.RefinementCtx): void {
  const params = HflParams.parse(job.params);
  const quantization = hflQuantization(params);
  checkSecAggParams(job, { ...params, ...quantization }, ctx);
  const all = job.parties.map((p) => p.id);
  if (job.receivers.length !== all.length)
    ctx.addIssue({
      code: 'custom',
      path: ['receivers'],
      message: 'every party receives the model: each round hands every party the global weights to train from',
    });
  const [first] = job.parties;
  job.parties.forEach((party, i) => {
    const features = featuresOf(party.columns, params.label);
    if (!party.columns.includes(params.label))
      ctx.addIssue({ code: 'custom', path: ['parties', i, 'columns'], message: `declare the label ${params.label}` });
    if (features.length === 0 || features.length > MAX_HFL_FEATURES)
      ctx.addIssue({
        code: 'custom',
        path: ['parties', i, 'columns'],
        message: `declare 1 to ${MAX_HFL_FEATURES} feature columns beside the label`,
      });
    if (first !== undefined && JSON.stringify(party.columns) !== JSON.stringify(first.columns))
      ctx.addIssue({
        code: 'custom',
        path: ['parties', i, 'columns'],
        message: 'every party declares the same columns in the same order: the model is one model over them',
      });
  });
}
