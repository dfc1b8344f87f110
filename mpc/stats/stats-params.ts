// Parameters and rules of a joint-statistics job (protocol `joint-stats`, docs/joint-modeling.md).
import { z } from 'zod';
import { SqlName } from '../../connectors/sql-name.ts';
import type { JobRequestLike } from '../jobs/job.ts';
import { AlignedParams } from '../joint/joint-params.ts';

/** Group vectors the requester may send: each costs one encrypted vector and one set of products per host. */
export const MAX_GROUPS = 64;
/** Numeric columns per feature holder. */
export const MAX_STAT_COLUMNS = 32;

export const JointStatsParams = z.strictObject({
  ...AlignedParams,
  /** A column of the guest (the requester) that groups the customers; absent: one group of all. */
  segment: SqlName.optional(),
  /** A 0/1 column of the guest: the information value of every host column against it. */
  label: SqlName.optional(),
  /** Histogram bins and information-value bins per column. */
  bins: z.int().min(2).max(32).default(10),
  /** Laplace noise on every released aggregate, spending this much of each host view's privacy budget. */
  epsilon: z.number().positive().max(10).optional(),
});
export type JointStatsParams = z.infer<typeof JointStatsParams>;

export function checkJointStatsJob(job: JobRequestLike, ctx: z.RefinementCtx): void {
  const params = JointStatsParams.parse(job.params);
  const guest = job.parties.find((p) => p.role === 'guest');
  if (job.receivers.length !== 1 || job.receivers[0] !== guest?.id)
    ctx.addIssue({
      code: 'custom',
      path: ['receivers'],
      message: 'the guest (the requester) alone receives the result',
    });
  for (const column of [params.segment, params.label]) {
    if (column !== undefined && guest !== undefined && !guest.columns.includes(column))
      ctx.addIssue({
        code: 'custom',
        path: ['parties'],
        message: `the guest must declare ${column} among its columns`,
      });
  }
  job.parties.forEach((party, i) => {
    if (party.role !== 'host') return;
    if (party.columns.length === 0 || party.columns.length > MAX_STAT_COLUMNS)
      ctx.addIssue({
        code: 'custom',
        path: ['parties', i, 'columns'],
        message: `a host declares 1 to ${MAX_STAT_COLUMNS} numeric columns to describe`,
      });
  });
}
