// The purpose catalogue: what each declared processing purpose (GDPR Art. 5(1)(b) purpose limitation,
// W3C DPV dpv:Purpose) permits: which fields, at what precision, for which actions, to which recipients,
// and the minimum cohort k for aggregates.
import { z } from 'zod';
import { FieldName } from './minimization.ts';
import { PrecisionRule } from './precision.ts';

export const PurposeId = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'purpose ids are lowercase letters, digits and -');
export type PurposeId = z.infer<typeof PurposeId>;

/** A Cedar action name as the purpose allows it (read, aggregate, model, join, ...). */
export const PurposeAction = z
  .string()
  .regex(/^[a-z][A-Za-z0-9_-]{0,31}$/, 'action names are letters, digits, _ and -');

/**
 * An explicit party id. No wildcard: every recipient of a purpose's outputs is named. An empty list
 * means the purpose is internal to the controller: no partner may receive anything under it.
 */
export const RecipientId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'recipients are explicit party ids (no wildcard)');

function hasNoDuplicates(list: readonly string[]): boolean {
  return new Set(list).size === list.length;
}

export const Purpose = z
  .strictObject({
    description: z.string().min(1).max(1000),
    fieldAllowlist: z.array(FieldName).min(1).max(256).refine(hasNoDuplicates, 'fieldAllowlist has duplicates'),
    precision: z.record(FieldName, PrecisionRule),
    kThreshold: z.int().min(1).max(1_000_000),
    /**
     * Total differential-privacy epsilon that noisy aggregates of one dataset may spend under this purpose
     * (mpc/stats/privacy-budget.ts). Absent: no noisy release is allowed.
     */
    epsilonBudget: z.number().positive().max(100).optional(),
    allowedRecipients: z.array(RecipientId).max(64).refine(hasNoDuplicates, 'allowedRecipients has duplicates'),
    actions: z.array(PurposeAction).min(1).max(32).refine(hasNoDuplicates, 'actions has duplicates'),
  })
  .superRefine((purpose, ctx) => {
    // A rule for a field the purpose does not allow is a typo waiting to hide a leak: reject it.
    for (const field of Object.keys(purpose.precision)) {
      if (!purpose.fieldAllowlist.includes(field)) {
        ctx.addIssue({
          code: 'custom',
          path: ['precision', field],
          message: 'precision rule for a field not in fieldAllowlist',
        });
      }
    }
  });
export type Purpose = z.infer<typeof Purpose>;

const MAX_PURPOSES = 256;

export const PurposeCatalog = z
  .record(PurposeId, Purpose)
  .refine((catalog) => Object.keys(catalog).length <= MAX_PURPOSES, `at most ${MAX_PURPOSES} purposes`);
export type PurposeCatalog = z.infer<typeof PurposeCatalog>;

/** Look a purpose up by id; own keys only, so a request for purpose "constructor" finds nothing. */
export function findPurpose(catalog: PurposeCatalog, purposeId: string): Purpose | undefined {
  return Object.hasOwn(catalog, purposeId) ? catalog[purposeId] : undefined;
}
