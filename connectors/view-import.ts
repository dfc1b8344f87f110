// Importing a connector view: all-or-nothing. Inside one DuckDB transaction the source is read once,
// each subject id is replaced by its consent pseudonym (the sg_pseudonym UDF), identifier columns are
// dropped, every value is checked against its declared type, and the new table replaces the old one
// only at COMMIT. Any failure rolls back and is then located to a file, row and column.
import { randomBytes } from 'node:crypto';
import { GatewayError, isGatewayError } from '../core/errors.ts';
import { columnPlans, createTableSql, subjectText, type ColumnPlan } from './column-plan.ts';
import { isCompatibleSourceType } from './column-type.ts';
import { PSEUDONYM_UDF, type Session } from './data-store.ts';
import type { ConfinedPath } from './import-root.ts';
import {
  dropRejectTables,
  firstRejectedLine,
  locateInvalidRow,
  locateMalformedJsonLine,
  locateSubjectRows,
  rowError,
  unreadableError,
} from './import-diagnosis.ts';
import { describeSource, planSource, type SourceColumn, type SourcePlan } from './source-relation.ts';
import { quoteGeneratedName, quoteName } from './sql-name.ts';
import { SUBJECT_COLUMN, subjectDeclaration, type ConnectorView } from './view.ts';

export type ImportCounts = { rows: number; subjects: number };

/** Where the rows go and what to do with the previous generation's table. */
export type ImportTarget = { table: string; previousTable: string | null };

/**
 * Checks the source against the declaration: every declared column exists (exact name), once, with
 * a type that can hold the declared type. Extra source columns are ignored. Throws CONNECTOR_SCHEMA_MISMATCH.
 */
export function checkSourceSchema(view: ConnectorView, file: ConfinedPath, columns: readonly SourceColumn[]): void {
  const missing = view.columns.filter((d) => !columns.some((c) => c.name === d.name)).map((d) => d.name);
  if (missing.length > 0) {
    throw new GatewayError(
      'CONNECTOR_SCHEMA_MISMATCH',
      `${file.display} has no column ${missing.join(', ')} (declared in view ${view.name}); nothing was imported`,
      { file: file.display, missing },
    );
  }
  const repeated = view.columns.filter((d) => columns.filter((c) => c.name === d.name).length > 1).map((d) => d.name);
  if (repeated.length > 0) {
    throw new GatewayError(
      'CONNECTOR_SCHEMA_MISMATCH',
      `${file.display} has more than one column named ${repeated.join(', ')}`,
      { file: file.display, repeated },
    );
  }
  // CSV and JSON carry text whose type is checked per row; typed sources must match up front.
  if (view.source.kind === 'csv' || view.source.kind === 'json') return;
  const incompatible = view.columns.flatMap((d) => {
    const found = columns.find((c) => c.name === d.name)?.type ?? 'missing';
    return isCompatibleSourceType(d.type, found) ? [] : [{ column: d.name, declared: d.type, found }];
  });
  if (incompatible.length > 0) {
    throw new GatewayError(
      'CONNECTOR_SCHEMA_MISMATCH',
      `${file.display}: ${incompatible.map((i) => `column ${i.column} is ${i.found}, which cannot hold ${i.declared}`).join('; ')}`,
      { file: file.display, incompatible },
    );
  }
}

/**
 * Runs the import on `session` (the imports lane). `writeMetadata` runs inside the same transaction,
 * so the catalogue entry and the table it names commit together.
 */
export async function importIntoTable({
  session,
  view,
  file,
  target,
  writeMetadata,
}: {
  session: Session;
  view: ConnectorView;
  file: ConfinedPath;
  target: ImportTarget;
  writeMetadata: (counts: ImportCounts) => Promise<void>;
}): Promise<ImportCounts> {
  const tag = randomBytes(6).toString('hex').replace(/^\d/, 'a');
  const header = await describeSource(session, view.source, file, tag).catch(async (error: unknown) => {
    // DuckDB samples JSON to learn its keys, so a malformed record can already stop the schema read.
    throw (await locateJsonRecord(view, file)) ?? error;
  });
  checkSourceSchema(view, file, header);
  const plan = planSource({
    source: view.source,
    file,
    columns: header,
    declared: view.columns.map((c) => c.name),
    tag,
  });
  const plans = columnPlans(plan, view);
  const table = quoteGeneratedName(target.table);

  for (const statement of plan.setup) await session.run(statement);
  try {
    await session.run('BEGIN TRANSACTION');
    let counts: ImportCounts;
    try {
      await session.run(createTableSql(table, view));
      await session.run(`INSERT INTO ${table} SELECT ${plans.map((p) => p.stored).join(', ')} FROM ${plan.from}`);
      if (plan.rejectsTable !== null) {
        const rejected = await firstRejectedLine(session, plan.rejectsTable, header);
        if (rejected !== null) throw rowError(file, rejected);
      }
      counts = await countRows(session, table);
      if (view.isSubjectUnique && counts.subjects !== counts.rows) throw await duplicateSubjectSignal(session, table);
      if (target.previousTable !== null)
        await session.run(`DROP TABLE IF EXISTS ${quoteGeneratedName(target.previousTable)}`);
      await writeMetadata(counts);
      await session.run('COMMIT');
    } catch (error) {
      await session.run('ROLLBACK').catch(() => undefined);
      throw await explainFailure({ session, error, view, file, plan, header, plans });
    }
    return counts;
  } finally {
    for (const statement of plan.teardown) await session.run(statement).catch(() => undefined);
    if (plan.rejectsTable !== null) await dropRejectTables(session, plan.rejectsTable);
  }
}

async function countRows(session: Session, table: string): Promise<ImportCounts> {
  const [row] = await session.all(
    `SELECT count(*) AS n, count(DISTINCT ${quoteName(SUBJECT_COLUMN)}) AS s FROM ${table}`,
  );
  return { rows: Number(row?.n ?? 0), subjects: Number(row?.s ?? 0) };
}

/** Carries a repeated pseudonym out of the aborted transaction, to be located afterwards. */
class DuplicateSubject extends Error {
  readonly subject: string;
  constructor(subject: string) {
    super('duplicate subject');
    this.subject = subject;
  }
}

async function duplicateSubjectSignal(session: Session, table: string): Promise<DuplicateSubject> {
  const subject = quoteName(SUBJECT_COLUMN);
  const [row] = await session.all(
    `SELECT ${subject} AS s FROM ${table} GROUP BY ${subject} HAVING count(*) > 1 LIMIT 1`,
  );
  return new DuplicateSubject(String(row?.s ?? ''));
}

async function explainFailure({
  session,
  error,
  view,
  file,
  plan,
  header,
  plans,
}: {
  session: Session;
  error: unknown;
  view: ConnectorView;
  file: ConfinedPath;
  plan: SourcePlan;
  header: readonly SourceColumn[];
  plans: readonly ColumnPlan[];
}): Promise<GatewayError> {
  if (isGatewayError(error)) return error;
  if (error instanceof DuplicateSubject) {
    const expression = `${PSEUDONYM_UDF}(${subjectText(plan, subjectDeclaration(view))})`;
    const rows = await locateSubjectRows({
      session,
      plan,
      subjectExpression: expression,
      subject: error.subject,
      limit: 2,
    }).catch(() => []);
    return rowError(file, {
      row: rows[1] ?? null,
      column: view.subjectColumn,
      reason:
        rows[0] === undefined
          ? 'a subject id appears more than once'
          : `the subject id of row ${rows[0]} appears again`,
    });
  }
  try {
    const failure = await locateInvalidRow(session, plan, header, plans);
    if (failure !== null) return rowError(file, failure);
  } catch (diagnosisError) {
    return (await locateJsonRecord(view, file)) ?? unreadableError(file, diagnosisError);
  }
  return unreadableError(file, error);
}

/** For newline-delimited JSON DuckDB could not parse: the error naming the first malformed record. */
async function locateJsonRecord(view: ConnectorView, file: ConfinedPath): Promise<GatewayError | null> {
  if (view.source.kind !== 'json' || view.source.format !== 'newline_delimited') return null;
  const record = await locateMalformedJsonLine(file.path).catch(() => null);
  return record === null
    ? null
    : rowError(file, { row: record, column: null, reason: 'the record is not a well-formed JSON object' });
}
