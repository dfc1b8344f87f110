// Stored valuations (migrations owner 'valuations'): each valuation's input and report as written, their hashes, and
// the package registry transaction that anchored the report's hash. A row is written in one transaction before the
// create call answers, so an answered valuation is on disk; the anchor fields are filled in after.
import { z } from 'zod';
import { timestampText, type Database } from '../core/database.ts';
import { GatewayError } from '../core/errors.ts';

const MIGRATIONS = [
  {
    id: '001-valuations',
    sql: `CREATE TABLE valuations (
    valuation_id VARCHAR PRIMARY KEY,
    package_id VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by VARCHAR NOT NULL,
    input VARCHAR NOT NULL,
    report VARCHAR NOT NULL,
    input_hash VARCHAR NOT NULL,
    report_hash VARCHAR NOT NULL,
    anchor VARCHAR
  )`,
  },
];

/** Where the report's hash went on chain: the package registry's revision that carries it. */
export const ValuationAnchor = z.strictObject({
  chainId: z.number().int(),
  registry: z.string(),
  txHash: z.string(),
  blockNumber: z.number().int(),
  revision: z.number().int(),
});
export type ValuationAnchor = z.infer<typeof ValuationAnchor>;

export const StoredValuation = z.strictObject({
  valuationId: z.string(),
  packageId: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  input: z.unknown(),
  report: z.unknown(),
  inputHash: z.string(),
  reportHash: z.string(),
  anchor: ValuationAnchor.nullable(),
});
export type StoredValuation = z.infer<typeof StoredValuation>;

export type ValuationSummary = Omit<StoredValuation, 'input' | 'report'>;

export type ValuationStore = {
  insert(valuation: Omit<StoredValuation, 'anchor'>): Promise<void>;
  setAnchor(valuationId: string, anchor: ValuationAnchor): Promise<void>;
  get(valuationId: string): Promise<StoredValuation | null>;
  /** A package's valuations, newest first. */
  listByPackage(packageId: string, limit: number): Promise<ValuationSummary[]>;
};

const COLUMNS = 'valuation_id, package_id, created_at, created_by, input_hash, report_hash, anchor';

const summaryOf = (r: Record<string, unknown>): ValuationSummary => ({
  valuationId: String(r.valuation_id),
  packageId: String(r.package_id),
  createdAt: timestampText(r.created_at),
  createdBy: String(r.created_by),
  inputHash: String(r.input_hash),
  reportHash: String(r.report_hash),
  anchor: r.anchor === null || r.anchor === undefined ? null : ValuationAnchor.parse(JSON.parse(String(r.anchor))),
});

export async function openValuationStore(db: Database): Promise<ValuationStore> {
  await db.migrate('valuations', MIGRATIONS);
  return {
    async insert(v) {
      await db.transaction((tx) =>
        tx.run(
          `INSERT INTO valuations (valuation_id, package_id, created_at, created_by, input, report, input_hash,
            report_hash, anchor) VALUES ($1, $2, $3::TIMESTAMPTZ, $4, $5, $6, $7, $8, NULL)`,
          [
            v.valuationId,
            v.packageId,
            v.createdAt,
            v.createdBy,
            JSON.stringify(v.input),
            JSON.stringify(v.report),
            v.inputHash,
            v.reportHash,
          ],
        ),
      );
    },
    async setAnchor(valuationId, anchor) {
      await db.transaction((tx) =>
        tx.run('UPDATE valuations SET anchor = $2 WHERE valuation_id = $1', [
          valuationId,
          JSON.stringify(ValuationAnchor.parse(anchor)),
        ]),
      );
    },
    async get(valuationId) {
      const [row] = await db.all(`SELECT ${COLUMNS}, input, report FROM valuations WHERE valuation_id = $1`, [
        valuationId,
      ]);
      if (row === undefined) return null;
      try {
        return { ...summaryOf(row), input: JSON.parse(String(row.input)), report: JSON.parse(String(row.report)) };
      } catch (cause) {
        throw new GatewayError('INTEGRITY_VIOLATION', 'a stored valuation is not JSON', { valuationId }, { cause });
      }
    },
    async listByPackage(packageId, limit) {
      const rows = await db.all(
        `SELECT ${COLUMNS} FROM valuations WHERE package_id = $1 ORDER BY created_at DESC, valuation_id LIMIT $2`,
        [packageId, limit],
      );
      return rows.map(summaryOf);
    },
  };
}
