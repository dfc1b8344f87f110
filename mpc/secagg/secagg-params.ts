// The secure-aggregation parameters every job that sums through `secagg` carries (the `secagg` job itself and each
// round of `hfl-fedavg`), and the rules that hold them together before any party is asked (docs/secagg.md).
import { z } from 'zod';
import { isGatewayError } from '../../core/errors.ts';
import type { JobRequestLike } from '../jobs/job.ts';
import { checkQuantization } from './quantize.ts';
import { checkSecAggConfig } from './secagg-config.ts';

export const SecAggParams = {
  /**
   * t: the shares that rebuild a party's secret, and the fewest parties that must remain in every phase. Above half
   * of the holders, so no two disjoint groups can both unmask (docs/secagg.md). At least 3: the coordinator contributes
   * a vector too, and a sum of its own and one other would hand it the other's.
   */
  threshold: z.int().min(3).max(255),
  /** SecAgg+: each party shares its secrets with this many neighbours (even) instead of with every party. */
  neighbours: z.int().min(2).max(254).nullable().default(null),
  /** Arithmetic modulo 2^32 or 2^64. */
  ring: z.union([z.literal(32), z.literal(64)]).default(64),
  /** Fixed-point precision: each value is rounded to a multiple of 2^-fractionBits. */
  fractionBits: z.int().min(0).max(40).default(16),
  /** Each value a party contributes is clipped to [-clip, clip]. */
  clip: z
    .number()
    .positive()
    .max(2 ** 52),
  /**
   * How long the coordinator waits for the parties' messages of one phase before it goes on without the silent. The
   * job's step deadline (`stepMs`) still bounds the whole step, every round included.
   */
  phaseMs: z.int().min(500).max(600_000).default(30_000),
};
export const SecAggParamsSchema = z.strictObject(SecAggParams);
export type SecAggParams = z.infer<typeof SecAggParamsSchema>;

/** Issues of the secure-aggregation parameters of `job`, as the job request's zod refinement reports them. */
export function checkSecAggParams(job: JobRequestLike, params: SecAggParams, ctx: z.RefinementCtx): void {
  const parties = [...job.parties.map((p) => p.id)].sort();
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: ['params', path], message });
  try {
    checkSecAggConfig({
      session: 'check',
      parties,
      threshold: params.threshold,
      neighbours: params.neighbours,
      dimension: 1,
      ring: params.ring,
    });
  } catch (error) {
    if (!isGatewayError(error)) throw error;
    issue('threshold', error.message);
  }
  try {
    checkQuantization({ ring: params.ring, clip: params.clip, fractionBits: params.fractionBits }, parties.length);
  } catch (error) {
    if (!isGatewayError(error)) throw error;
    issue('clip', error.message);
  }
}
