// Durable job state in the gateway's DuckDB file (migrations owner 'jobs'): the agreed job record and its state machine
// (mpc/jobs/job.ts), the step timeline of every party, the consent-filtered inputs of this party, and the outputs it
// received. The only module that speaks SQL about jobs.
import { z } from 'zod';
import { JobSpec, JobState, JobStatus, JobStepName, StepStatus, isTerminal } from './job.ts';
import type { Database, SqlValue } from '../../core/database.ts';
import { GatewayError } from '../../core/errors.ts';

const MIGRATIONS = [
  {
    id: '001-jobs',
    sql: `CREATE TABLE jobs (
    id VARCHAR PRIMARY KEY,
    spec VARCHAR NOT NULL,
    state VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    traceparent VARCHAR NOT NULL,
    output VARCHAR,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
  );
  CREATE TABLE job_steps (
    job_id VARCHAR NOT NULL,
    step VARCHAR NOT NULL,
    party VARCHAR NOT NULL,
    attempt INTEGER NOT NULL,
    status VARCHAR NOT NULL,
    started_at TIMESTAMPTZ,
    ended_at TIMESTAMPTZ,
    bytes_in BIGINT NOT NULL,
    bytes_out BIGINT NOT NULL,
    rows_done BIGINT NOT NULL,
    rows_total BIGINT,
    error_code VARCHAR,
    detail VARCHAR NOT NULL,
    PRIMARY KEY (job_id, step, party, attempt)
  );
  CREATE TABLE job_inputs (job_id VARCHAR NOT NULL, input_row INTEGER NOT NULL, ordinal BIGINT NOT NULL, subject VARCHAR NOT NULL);
  CREATE TABLE job_outputs (job_id VARCHAR NOT NULL, position INTEGER NOT NULL, subject VARCHAR NOT NULL)`,
  },
  {
    id: '002-job-results',
    sql: 'CREATE TABLE job_results (job_id VARCHAR PRIMARY KEY, document VARCHAR NOT NULL)',
  },
];

/** A protocol's structured result at a receiver (joint statistics, model metrics): plain JSON, at most 4 MiB. */
export const JobResultDocument = z.record(z.string().max(64), z.unknown());
export type JobResultDocument = z.infer<typeof JobResultDocument>;
const MAX_RESULT_BYTES = 4 * 1024 * 1024;

/** Most keys of a timeline entry's `detail`: a step records a handful of counts. */
export const MAX_DETAIL_KEYS = 32;
const Count = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * One party's record of one attempt at one step: timings, bytes on the wire, rows processed, and how it ended. Every
 * field is bounded: a host's report is stored as it comes, so a report cannot grow the job view or the database by
 * more than a few kilobytes.
 */
export const TimelineEntry = z.object({
  step: JobStepName,
  party: z.string().max(64),
  attempt: z.int().min(0).max(1_000_000),
  status: StepStatus,
  startedAt: z.string().max(40).nullable(),
  endedAt: z.string().max(40).nullable(),
  durationMs: z.int().nullable(),
  bytesIn: Count,
  bytesOut: Count,
  rows: Count,
  rowsTotal: Count.nullable(),
  errorCode: z.string().max(64).nullable(),
  /** Counts only (rows read, admitted, peer set sizes): never a subject, key or point. */
  detail: z
    .record(z.string().max(64), z.union([z.number(), z.string().max(128), z.boolean(), z.null()]))
    .refine((detail) => Object.keys(detail).length <= MAX_DETAIL_KEYS, `at most ${MAX_DETAIL_KEYS} detail keys`)
    .meta({ maxProperties: MAX_DETAIL_KEYS }),
});
export type TimelineEntry = z.infer<typeof TimelineEntry>;

/**
 * What this party learned, as its protocol reports it: the output's mode (PSI: intersection or cardinality), a count
 * (when it is a receiver), the peers' input sizes the protocol reveals, and numeric results when the output is a few
 * numbers rather than rows. Rows, when there are some, live in job_outputs.
 */
export const JobOutputSummary = z.object({
  mode: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/),
  isReceiver: z.boolean(),
  count: z.int().nullable(),
  peerSizes: z
    .record(z.string().max(64), Count)
    .refine((sizes) => Object.keys(sizes).length <= 16, 'at most one size per party')
    .meta({ maxProperties: 16 }),
  values: z
    .record(z.string().max(64), z.number())
    .refine((values) => Object.keys(values).length <= MAX_DETAIL_KEYS, `at most ${MAX_DETAIL_KEYS} values`)
    .meta({ maxProperties: MAX_DETAIL_KEYS })
    .optional(),
});
export type JobOutputSummary = z.infer<typeof JobOutputSummary>;

export type JobRecord = {
  spec: JobSpec;
  state: JobState;
  traceparent: string;
  output: JobOutputSummary | null;
  createdAt: string;
  updatedAt: string;
};

/** How many jobs of one protocol are in one status. */
export type JobCount = { protocol: string; status: JobStatus; count: number };

export type JobStore = {
  /** Stores a new job; the same spec again is a no-op, another spec under the same id is CONFLICT. */
  create(spec: JobSpec, state: JobState, traceparent: string): Promise<{ isCreated: boolean }>;
  get(id: string): Promise<JobRecord | undefined>;
  list(limit: number): Promise<JobRecord[]>;
  /** Jobs not yet completed, failed or cancelled. */
  listActive(): Promise<JobRecord[]>;
  /** The jobs of each (protocol, status) present: one grouped scan, cheap enough for every metrics scrape. */
  countByStatus(): Promise<JobCount[]>;
  saveState(id: string, state: JobState, output?: JobOutputSummary): Promise<void>;
  recordStep(jobId: string, entry: TimelineEntry): Promise<void>;
  /**
   * Marks `party`'s attempts still `running` as failed with JOB_INTERRUPTED, ended at `at`: called at start-up, when
   * nothing of this party runs yet, so a running entry is one a crash cut short. Returns how many there were.
   */
  interruptRunning(party: string, at: string): Promise<number>;
  timeline(jobId: string): Promise<TimelineEntry[]>;
  /** Forgets this party's filtered inputs of the job (before a filter step runs again, and once the job ends). */
  clearInputs(jobId: string): Promise<void>;
  /** Appends admitted rows `firstRow`, `firstRow + 1`, ... with their source ordinals and pseudonyms. */
  appendInputs(
    jobId: string,
    firstRow: number,
    ordinals: readonly number[],
    subjects: readonly string[],
  ): Promise<void>;
  countInputs(jobId: string): Promise<number>;
  /** Admitted rows `fromRow` .. `fromRow + limit - 1`, in row order. */
  readInputs(jobId: string, fromRow: number, limit: number): Promise<{ ordinals: number[]; subjects: string[] }>;
  /** Replaces the job's output with the subjects of `inputRows`, in that (aligned) order. Returns the count. */
  storeIntersection(jobId: string, inputRows: Uint32Array): Promise<number>;
  readOutput(jobId: string, offset: number, limit: number): Promise<string[]>;
  /** Replaces the job's result document at this party (durable when it resolves). */
  saveResult(jobId: string, document: JobResultDocument): Promise<void>;
  readResult(jobId: string): Promise<JobResultDocument | undefined>;
};

const JOB_COLUMNS = 'id, spec, state, traceparent, output, created_at, updated_at';
const iso = (value: unknown): string | null =>
  value === null || value === undefined ? null : new Date(value as Date).toISOString();

function toRecord(row: Record<string, unknown>): JobRecord {
  return {
    spec: JobSpec.parse(JSON.parse(String(row.spec))),
    state: JobState.parse(JSON.parse(String(row.state))),
    traceparent: String(row.traceparent),
    output: row.output === null ? null : JobOutputSummary.parse(JSON.parse(String(row.output))),
    createdAt: iso(row.created_at) as string,
    updatedAt: iso(row.updated_at) as string,
  };
}

function toEntry(row: Record<string, unknown>): TimelineEntry {
  const startedAt = iso(row.started_at);
  const endedAt = iso(row.ended_at);
  return TimelineEntry.parse({
    step: row.step,
    party: row.party,
    attempt: Number(row.attempt),
    status: row.status,
    startedAt,
    endedAt,
    durationMs: startedAt !== null && endedAt !== null ? Date.parse(endedAt) - Date.parse(startedAt) : null,
    bytesIn: Number(row.bytes_in),
    bytesOut: Number(row.bytes_out),
    rows: Number(row.rows_done),
    rowsTotal: row.rows_total === null ? null : Number(row.rows_total),
    errorCode: row.error_code ?? null,
    detail: JSON.parse(String(row.detail)),
  });
}

export async function openJobStore(db: Database): Promise<JobStore> {
  await db.migrate('jobs', MIGRATIONS);

  const get = async (id: string): Promise<JobRecord | undefined> => {
    const [row] = await db.all(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1`, [id]);
    return row === undefined ? undefined : toRecord(row);
  };

  return {
    async create(spec, state, traceparent) {
      return db.transaction(async (tx) => {
        const [existing] = await tx.all('SELECT spec FROM jobs WHERE id = $1', [spec.id]);
        if (existing !== undefined) {
          if (String(existing.spec) !== JSON.stringify(spec))
            throw new GatewayError('CONFLICT', 'another job already has this id', { job: spec.id });
          return { isCreated: false };
        }
        await tx.run(
          `INSERT INTO jobs (${JOB_COLUMNS}, status) VALUES ($1, $2, $3, $4, NULL, $5::TIMESTAMPTZ, $5::TIMESTAMPTZ, $6)`,
          [spec.id, JSON.stringify(spec), JSON.stringify(state), traceparent, state.updatedAt, state.status],
        );
        return { isCreated: true };
      });
    },
    get,
    async list(limit) {
      return (await db.all(`SELECT ${JOB_COLUMNS} FROM jobs ORDER BY created_at DESC, id LIMIT $1`, [limit])).map(
        toRecord,
      );
    },
    async listActive() {
      const rows = await db.all(
        `SELECT ${JOB_COLUMNS} FROM jobs WHERE status NOT IN ('completed', 'failed', 'cancelled') ORDER BY created_at`,
      );
      return rows.map(toRecord).filter((r) => !isTerminal(r.state.status));
    },
    async countByStatus() {
      // The protocol lives only in the spec's JSON; the status column mirrors the state's status on every save.
      const rows = await db.all(
        `SELECT json_extract_string(spec, '$.protocol') AS protocol, status, count(*) AS n FROM jobs
        GROUP BY ALL ORDER BY protocol, status`,
      );
      return rows.map((r) => ({ protocol: String(r.protocol), status: JobStatus.parse(r.status), count: Number(r.n) }));
    },
    async saveState(id, state, output) {
      const params: SqlValue[] = [id, JSON.stringify(JobState.parse(state)), state.status, state.updatedAt];
      const setOutput = output === undefined ? '' : ', output = $5';
      if (output !== undefined) params.push(JSON.stringify(JobOutputSummary.parse(output)));
      await db.transaction((tx) =>
        tx.run(
          `UPDATE jobs SET state = $2, status = $3, updated_at = $4::TIMESTAMPTZ${setOutput} WHERE id = $1`,
          params,
        ),
      );
    },
    async recordStep(jobId, entry) {
      const e = TimelineEntry.parse(entry);
      await db.transaction((tx) =>
        tx.run(
          `INSERT INTO job_steps (job_id, step, party, attempt, status, started_at, ended_at, bytes_in, bytes_out, rows_done, rows_total, error_code, detail)
        VALUES ($1, $2, $3, $4, $5, $6::TIMESTAMPTZ, $7::TIMESTAMPTZ, $8, $9, $10, $11, $12, $13)
        ON CONFLICT (job_id, step, party, attempt) DO UPDATE SET status = excluded.status, started_at = excluded.started_at, ended_at = excluded.ended_at,
          bytes_in = excluded.bytes_in, bytes_out = excluded.bytes_out, rows_done = excluded.rows_done, rows_total = excluded.rows_total,
          error_code = excluded.error_code, detail = excluded.detail`,
          [
            jobId,
            e.step,
            e.party,
            e.attempt,
            e.status,
            e.startedAt,
            e.endedAt,
            e.bytesIn,
            e.bytesOut,
            e.rows,
            e.rowsTotal,
            e.errorCode,
            JSON.stringify(e.detail),
          ],
        ),
      );
    },
    async timeline(jobId) {
      const rows = await db.all(
        `SELECT * FROM job_steps WHERE job_id = $1 ORDER BY started_at NULLS LAST, attempt, step, party`,
        [jobId],
      );
      return rows.map(toEntry);
    },
    async interruptRunning(party, at) {
      return db.transaction(async (tx) => {
        const [row] = await tx.all("SELECT count(*) AS n FROM job_steps WHERE party = $1 AND status = 'running'", [
          party,
        ]);
        await tx.run(
          `UPDATE job_steps SET status = 'failed', ended_at = $2::TIMESTAMPTZ, error_code = 'JOB_INTERRUPTED'
          WHERE party = $1 AND status = 'running'`,
          [party, at],
        );
        return Number(row?.n ?? 0);
      });
    },
    async clearInputs(jobId) {
      await db.transaction((tx) => tx.run('DELETE FROM job_inputs WHERE job_id = $1', [jobId]));
    },
    async appendInputs(jobId, firstRow, ordinals, subjects) {
      if (ordinals.length !== subjects.length)
        throw new GatewayError('INTERNAL', 'ordinals and subjects differ in length');
      if (subjects.length === 0) return;
      await db.transaction(async (tx) => {
        const appender = await tx.appender('job_inputs');
        for (let i = 0; i < subjects.length; i++) {
          appender.appendVarchar(jobId);
          appender.appendInteger(firstRow + i);
          appender.appendBigInt(BigInt(ordinals[i] as number));
          appender.appendVarchar(subjects[i] as string);
          appender.endRow();
        }
        appender.closeSync();
      });
    },
    async countInputs(jobId) {
      const [row] = await db.all('SELECT count(*) AS n FROM job_inputs WHERE job_id = $1', [jobId]);
      return Number(row?.n ?? 0);
    },
    async readInputs(jobId, fromRow, limit) {
      // Two long strings instead of a row object per input: pseudonyms are base64url, so ',' never occurs in one.
      const [row] = await db.all(
        `SELECT count(*) AS n, string_agg(CAST(ordinal AS VARCHAR), ',' ORDER BY input_row) AS o,
        string_agg(subject, ',' ORDER BY input_row) AS s FROM job_inputs WHERE job_id = $1 AND input_row >= $2 AND input_row < $3`,
        [jobId, fromRow, fromRow + limit],
      );
      if (row === undefined || Number(row.n) === 0) return { ordinals: [], subjects: [] };
      return { ordinals: String(row.o).split(',').map(Number), subjects: String(row.s).split(',') };
    },
    async storeIntersection(jobId, inputRows) {
      return db.transaction(async (tx) => {
        await tx.run('DELETE FROM job_outputs WHERE job_id = $1', [jobId]);
        // Temp tables are per connection and the database has one serialized connection, so this one is private.
        await tx.run('CREATE TEMP TABLE IF NOT EXISTS job_output_staging (position INTEGER, input_row INTEGER)');
        await tx.run('DELETE FROM job_output_staging');
        const appender = await tx.appender('job_output_staging');
        inputRows.forEach((row, position) => {
          appender.appendInteger(position);
          appender.appendInteger(row);
          appender.endRow();
        });
        appender.closeSync();
        await tx.run(
          `INSERT INTO job_outputs SELECT $1, s.position, i.subject FROM job_output_staging s
          JOIN job_inputs i ON i.job_id = $1 AND i.input_row = s.input_row`,
          [jobId],
        );
        await tx.run('DELETE FROM job_output_staging');
        const [row] = await tx.all('SELECT count(*) AS n FROM job_outputs WHERE job_id = $1', [jobId]);
        const count = Number(row?.n ?? -1);
        // Every aligned row must name an admitted input: anything else means the inputs and the session disagree.
        if (count !== inputRows.length)
          throw new GatewayError('INTEGRITY_VIOLATION', 'job output rows do not match the admitted inputs', {
            job: jobId,
          });
        return count;
      });
    },
    async readOutput(jobId, offset, limit) {
      const rows = await db.all(
        'SELECT subject FROM job_outputs WHERE job_id = $1 AND position >= $2 ORDER BY position LIMIT $3',
        [jobId, offset, limit],
      );
      return rows.map((r) => String(r.subject));
    },
    async saveResult(jobId, document) {
      const text = JSON.stringify(document);
      if (text.length > MAX_RESULT_BYTES) throw new GatewayError('INTERNAL', 'a job result document is over 4 MiB');
      await db.transaction(async (tx) => {
        await tx.run('DELETE FROM job_results WHERE job_id = $1', [jobId]);
        await tx.run('INSERT INTO job_results VALUES ($1, $2)', [jobId, text]);
      });
    },
    async readResult(jobId) {
      const [row] = await db.all('SELECT document FROM job_results WHERE job_id = $1', [jobId]);
      return row === undefined ? undefined : JobResultDocument.parse(JSON.parse(String(row.document)));
    },
  };
}
