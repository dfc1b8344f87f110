// The one way an exchange service reads a request body it does not trust: zod, and BAD_INPUT "not a <what>" naming
// the first eight paths at fault ("(root)" for the body itself), so a client sees why without a wall of issues.
import type { z } from 'zod';
import { GatewayError } from '../core/errors.ts';

export function parseRequest<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success)
    throw new GatewayError('BAD_INPUT', `not ${what}`, {
      issues: parsed.error.issues.slice(0, 8).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    });
  return parsed.data;
}
