// Data minimization (GDPR Art. 5(1)(c), PIPL Art. 6): the field set is the intersection of every
// allowlist in the chain, each value is generalized to the coarsest precision any link allows
// (ISO/IEC 20889 generalization), and aggregates need a cohort of at least k subjects (k-anonymity).
import { z } from 'zod';
import { PrecisionRule, applyPrecision } from './precision.ts';

export { applyPrecision, precisionFor } from './precision.ts';

/** A column name. The leading letter keeps out `__proto__` and friends, which must never become keys. */
export const FieldName = z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'field names are letters, digits, _ . -');
export type FieldName = z.infer<typeof FieldName>;

/** One link's allowlist, with a label used to explain why a field was dropped. */
export type Allowlist = { source: string; fields: readonly string[] };

export type DroppedField = { field: string; reason: string };

export type FieldSelection = { fields: string[]; dropped: DroppedField[] };

/**
 * requested ∩ allowlist₁ ∩ … ∩ allowlistₙ, in the order requested (duplicates kept once). Each dropped
 * field names the first allowlist that lacks it. With no allowlists nothing is allowed: an absent
 * allowlist means "not granted", never "everything".
 */
export function allowedFields(requested: readonly string[], ...allowlists: readonly Allowlist[]): FieldSelection {
  const fields: string[] = [];
  const dropped: DroppedField[] = [];
  // Allowlists are short (tens of entries), so linear `includes` beats building Sets per decision.
  outer: for (const field of requested) {
    if (fields.includes(field) || dropped.some((d) => d.field === field)) continue;
    if (allowlists.length === 0) {
      dropped.push({ field, reason: 'no allowlist grants it' });
      continue;
    }
    for (const list of allowlists) {
      if (!list.fields.includes(field)) {
        dropped.push({ field, reason: `not in ${list.source} allowlist` });
        continue outer;
      }
    }
    fields.push(field);
  }
  return { fields, dropped };
}

/** What a permit allows: these fields, each at this precision. */
export const MinimizationPlan = z.strictObject({
  fields: z.array(FieldName).max(256),
  precision: z.record(FieldName, PrecisionRule),
});
export type MinimizationPlan = z.infer<typeof MinimizationPlan>;

/**
 * Project `row` onto the plan's fields, generalizing each value. A field the plan gives no rule for is
 * withheld (null): 'exact' must be stated, never assumed. Fields absent from the row are omitted.
 */
export function minimizeRow(row: Readonly<Record<string, unknown>>, plan: MinimizationPlan): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of plan.fields) {
    if (!Object.hasOwn(row, field)) continue;
    const rule = Object.hasOwn(plan.precision, field) ? plan.precision[field] : undefined;
    out[field] = rule === undefined ? null : applyPrecision(row[field], rule);
  }
  return out;
}

/**
 * Whether a cohort is large enough to release an aggregate over it. Anything but a non-negative
 * integer cohort, or a k below 1, fails: an unknown size is treated as too small.
 */
export function checkKThreshold(cohortSize: unknown, k: number): boolean {
  if (!Number.isSafeInteger(k) || k < 1) return false;
  if (typeof cohortSize !== 'number' || !Number.isSafeInteger(cohortSize) || cohortSize < 0) return false;
  return cohortSize >= k;
}
