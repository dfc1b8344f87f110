// The two joint-statistics messages after alignment (docs/joint-modeling.md): the requester's encrypted indicator
// vectors, and each feature holder's masked products with the plan of its columns. Their `meta` is checked here.
import { z } from 'zod';
import { GatewayError } from '../../core/errors.ts';
import { MAX_GROUPS } from './stats-params.ts';

export const STATS_KINDS = { request: 'stats-request', reply: 'stats-reply' } as const;

export const RequestMeta = z.strictObject({
  /** Group indicator vectors, then (with a label) the label and labelled vectors. */
  groups: z.int().min(1).max(MAX_GROUPS),
  hasLabel: z.boolean(),
});
export type RequestMeta = z.infer<typeof RequestMeta>;

const Finite = z.number().finite();
export const ReplyMeta = z.strictObject({
  columns: z
    .array(
      z.strictObject({
        name: z.string().max(64),
        scaleExponent: z.int().min(-1100).max(1100),
        edges: z.array(Finite).min(3).max(33),
        ivCounts: z.array(z.int().min(0).nullable()).max(32),
      }),
    )
    .max(32),
});
export type ReplyMeta = z.infer<typeof ReplyMeta>;

export function parseMeta<T>(schema: z.ZodType<T>, meta: unknown, kind: string): T {
  const parsed = schema.safeParse(meta);
  if (!parsed.success)
    throw new GatewayError('JOB_BAD_MESSAGE', `protocol message refused: malformed ${kind}`, {
      reason: `malformed ${kind}`,
    });
  return parsed.data;
}
