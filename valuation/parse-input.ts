// The one way a valuation module reads input it does not trust: zod, and BAD_INPUT naming every path at fault.
import type { z } from 'zod';
import { GatewayError } from '../core/errors.ts';

/** Parses `input` with `schema`; throws BAD_INPUT "`what` is malformed" with the first `maxIssues` issues. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, what: string, maxIssues = Infinity): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success)
    throw new GatewayError('BAD_INPUT', `${what} is malformed`, {
      issues: parsed.error.issues.slice(0, maxIssues).map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  return parsed.data;
}
