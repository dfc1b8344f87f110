// Stored consent-basis checks (migrations owner 'consent-basis'): every time a listing's basis is computed again, what
// it was, how far it had shrunk from the listed revision's, whether that flagged the listing, and the valuation it
// caused. Append-only: the history is what a buyer and a compliance officer read.
import { z } from 'zod';
import { timestampText, type Database } from '../core/database.ts';
import { ConsentBasisSummary } from './consent-basis.ts';

const MIGRATIONS = [
  {
    id: '001-consent-basis-checks',
    sql: `CREATE TABLE consent_basis_checks (
    listing_id VARCHAR NOT NULL,
    seq INTEGER NOT NULL,
    checked_at TIMESTAMPTZ NOT NULL,
    listing_revision INTEGER NOT NULL,
    trigger VARCHAR NOT NULL,
    basis VARCHAR NOT NULL,
    listed_subjects INTEGER NOT NULL,
    shrink DOUBLE NOT NULL,
    threshold DOUBLE NOT NULL,
    flagged BOOLEAN NOT NULL,
    valuation_id VARCHAR,
    PRIMARY KEY (listing_id, seq)
  )`,
  },
];

export const ConsentBasisCheck = z.strictObject({
  listingId: z.string(),
  seq: z.int(),
  checkedAt: z.string(),
  /** The listing revision whose basis it was compared with. */
  listingRevision: z.int(),
  /** What asked: `refresh` (a person) or `delivery:<id>` (a delivery starting). */
  trigger: z.string(),
  basis: ConsentBasisSummary,
  listedSubjects: z.int(),
  /** The share of the listed subjects gone, in [0, 1]. */
  shrink: z.number(),
  threshold: z.number(),
  /** shrink > threshold: the listing is flagged until a revision with a new basis is listed. */
  flagged: z.boolean(),
  /** The valuation this check computed, or null (not flagged, basis unchanged, or the package never valued). */
  valuationId: z.string().nullable(),
});
export type ConsentBasisCheck = z.infer<typeof ConsentBasisCheck>;

export type ConsentBasisStore = {
  /** Appends a check with the next seq; returns it. */
  append(check: Omit<ConsentBasisCheck, 'seq'>): Promise<ConsentBasisCheck>;
  /** The checks of a listing, newest first. */
  history(listingId: string, limit: number): Promise<ConsentBasisCheck[]>;
};

const checkOf = (r: Record<string, unknown>): ConsentBasisCheck =>
  ConsentBasisCheck.parse({
    listingId: String(r.listing_id),
    seq: Number(r.seq),
    checkedAt: timestampText(r.checked_at),
    listingRevision: Number(r.listing_revision),
    trigger: String(r.trigger),
    basis: JSON.parse(String(r.basis)),
    listedSubjects: Number(r.listed_subjects),
    shrink: Number(r.shrink),
    threshold: Number(r.threshold),
    flagged: Boolean(r.flagged),
    valuationId: r.valuation_id === null || r.valuation_id === undefined ? null : String(r.valuation_id),
  });

export async function openConsentBasisStore(db: Database): Promise<ConsentBasisStore> {
  await db.migrate('consent-basis', MIGRATIONS);
  return {
    async append(c) {
      const seq = await db.transaction(async (tx) => {
        const [row] = await tx.all(
          'SELECT coalesce(max(seq), 0) AS n FROM consent_basis_checks WHERE listing_id = $1',
          [c.listingId],
        );
        const next = Number(row?.n ?? 0) + 1;
        await tx.run(
          `INSERT INTO consent_basis_checks (listing_id, seq, checked_at, listing_revision, trigger, basis,
            listed_subjects, shrink, threshold, flagged, valuation_id)
            VALUES ($1, $2, $3::TIMESTAMPTZ, $4, $5, $6, $7, $8, $9, $10, $11)`,
          [
            c.listingId,
            next,
            c.checkedAt,
            c.listingRevision,
            c.trigger,
            JSON.stringify(c.basis),
            c.listedSubjects,
            c.shrink,
            c.threshold,
            c.flagged,
            c.valuationId,
          ],
        );
        return next;
      });
      return { ...c, seq };
    },
    async history(listingId, limit) {
      const rows = await db.all('SELECT * FROM consent_basis_checks WHERE listing_id = $1 ORDER BY seq DESC LIMIT $2', [
        listingId,
        limit,
      ]);
      return rows.map(checkOf);
    },
  };
}
