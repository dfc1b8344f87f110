// Where a data package's rows live at this gateway (docs/exchange.md, "Package sources"): a connector view and the
// fields of it that deliveries may read. Only the seller's side sees it: a listing shows buyers the package's
// dictionary, never view names. The consent basis is computed over the view's subjects, and every compute-to-data
// job reads these fields and no others. Pure.
import { z } from 'zod';
import { ObjectName, SqlName } from '../connectors/sql-name.ts';

export const PackageSourceInput = z
  .strictObject({
    view: ObjectName,
    /** The view's columns that make up the package: what a delivery may read, at the purpose's precision. */
    fields: z.array(SqlName).min(1).max(64),
    /**
     * The share of the listed consent basis's subjects that may leave (withdraw, expire) before the package's listings
     * are flagged and the package is revalued. Default 5 %.
     */
    shrinkThreshold: z.number().min(0).max(1).default(0.05),
  })
  .refine((s) => new Set(s.fields).size === s.fields.length, { message: 'fields must be distinct', path: ['fields'] });
export type PackageSourceInput = z.infer<typeof PackageSourceInput>;

export const PackageSource = z.strictObject({
  packageId: z.string(),
  view: z.string(),
  fields: z.array(z.string()),
  shrinkThreshold: z.number(),
  updatedAt: z.string(),
  updatedBy: z.string(),
});
export type PackageSource = z.infer<typeof PackageSource>;
