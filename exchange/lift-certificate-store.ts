// Stored lift certificates (migrations owner 'lift-certificates'): the request, the job of each planned subset as it
// is submitted, and at the end the signed statement with the audit entry that recorded its hash, or the failure.
// Every write is one transaction, so an accepted request, a submitted job and an issued certificate are on disk
// before anything goes on: a restarted gateway resumes from the first subset without a finished job.
import { z } from 'zod';
import { AnchoredStatement } from '../consent/anchored-statement.ts';
import { timestampText, type Database, type SqlValue } from '../core/database.ts';
import { GatewayError } from '../core/errors.ts';

const MIGRATIONS = [
  {
    id: '001-lift-certificates',
    sql: `CREATE TABLE lift_certificates (
    certificate_id VARCHAR PRIMARY KEY,
    package_id VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    request VARCHAR NOT NULL,
    jobs VARCHAR NOT NULL,
    statement VARCHAR,
    statement_hash VARCHAR,
    audit_seq BIGINT,
    failure VARCHAR
  )`,
  },
];

export const CertificateStatus = z.enum(['running', 'issued', 'failed']);
export const CertificateFailure = z.strictObject({
  code: z.string(),
  message: z.string(),
  jobId: z.string().nullable(),
});
export type CertificateFailure = z.infer<typeof CertificateFailure>;

/** One planned subset and the job measuring it, null until submitted. */
export const PlannedJob = z.strictObject({ dimensions: z.array(z.string()), jobId: z.string().nullable() });
export type PlannedJob = z.infer<typeof PlannedJob>;

export const StoredCertificate = z.strictObject({
  certificateId: z.string(),
  packageId: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  status: CertificateStatus,
  request: z.unknown(),
  jobs: z.array(PlannedJob),
  statement: AnchoredStatement.nullable(),
  statementHash: z.string().nullable(),
  /** The audit entry that recorded the statement's hash: its receipt is the certificate's proof. */
  auditSeq: z.int().nullable(),
  failure: CertificateFailure.nullable(),
});
export type StoredCertificate = z.infer<typeof StoredCertificate>;

export type LiftCertificateStore = {
  insert(
    row: Pick<StoredCertificate, 'certificateId' | 'packageId' | 'createdAt' | 'createdBy' | 'request' | 'jobs'>,
  ): Promise<void>;
  setJobs(certificateId: string, jobs: readonly PlannedJob[]): Promise<void>;
  issue(
    certificateId: string,
    issued: { statement: AnchoredStatement; statementHash: string; auditSeq: number },
  ): Promise<void>;
  fail(certificateId: string, failure: CertificateFailure): Promise<void>;
  get(certificateId: string): Promise<StoredCertificate | null>;
  running(): Promise<StoredCertificate[]>;
  listByPackage(packageId: string, limit: number): Promise<StoredCertificate[]>;
};

const json = (value: unknown): string => JSON.stringify(value);

function rowOf(r: Record<string, unknown>): StoredCertificate {
  const parsed = (column: string): unknown => {
    const value = r[column];
    if (value === null || value === undefined) return null;
    try {
      return JSON.parse(String(value));
    } catch (cause) {
      throw new GatewayError('INTEGRITY_VIOLATION', `a stored lift certificate's ${column} is not JSON`, {}, { cause });
    }
  };
  return StoredCertificate.parse({
    certificateId: String(r.certificate_id),
    packageId: String(r.package_id),
    createdAt: timestampText(r.created_at),
    createdBy: String(r.created_by),
    status: String(r.status),
    request: parsed('request'),
    jobs: parsed('jobs'),
    statement: parsed('statement'),
    statementHash: r.statement_hash === null ? null : String(r.statement_hash),
    auditSeq: r.audit_seq === null ? null : Number(r.audit_seq),
    failure: parsed('failure'),
  });
}

export async function openLiftCertificateStore(db: Database): Promise<LiftCertificateStore> {
  await db.migrate('lift-certificates', MIGRATIONS);
  const update = (sql: string, params: SqlValue[]) => db.transaction((tx) => tx.run(sql, params));
  return {
    async insert(row) {
      await update(
        `INSERT INTO lift_certificates (certificate_id, package_id, created_at, created_by, status, request, jobs)
          VALUES ($1, $2, $3::TIMESTAMPTZ, $4, 'running', $5, $6)`,
        [row.certificateId, row.packageId, row.createdAt, row.createdBy, json(row.request), json(row.jobs)],
      );
    },
    async setJobs(certificateId, jobs) {
      await update('UPDATE lift_certificates SET jobs = $2 WHERE certificate_id = $1', [certificateId, json(jobs)]);
    },
    async issue(certificateId, issued) {
      await update(
        `UPDATE lift_certificates SET status = 'issued', statement = $2, statement_hash = $3, audit_seq = $4
          WHERE certificate_id = $1`,
        [certificateId, json(issued.statement), issued.statementHash, issued.auditSeq],
      );
    },
    async fail(certificateId, failure) {
      await update(`UPDATE lift_certificates SET status = 'failed', failure = $2 WHERE certificate_id = $1`, [
        certificateId,
        json(failure),
      ]);
    },
    async get(certificateId) {
      const [row] = await db.all('SELECT * FROM lift_certificates WHERE certificate_id = $1', [certificateId]);
      return row === undefined ? null : rowOf(row);
    },
    async running() {
      const rows = await db.all(`SELECT * FROM lift_certificates WHERE status = 'running' ORDER BY created_at`, []);
      return rows.map(rowOf);
    },
    async listByPackage(packageId, limit) {
      const rows = await db.all(
        'SELECT * FROM lift_certificates WHERE package_id = $1 ORDER BY created_at DESC, certificate_id LIMIT $2',
        [packageId, limit],
      );
      return rows.map(rowOf);
    },
  };
}
