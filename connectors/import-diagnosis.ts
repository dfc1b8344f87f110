// Turns a failed import into an error that names the file, the row and the column. It runs only
// after the import has rolled back, re-reading the source with row numbers and the same checks the
// import applied. Raw values never leave DuckDB: the detail says which rule failed, not what the value was.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { GatewayError } from '../core/errors.ts';
import type { ColumnPlan } from './column-plan.ts';
import type { Session } from './data-store.ts';
import type { ConfinedPath } from './import-root.ts';
import { redactDuckDbError, type SourceColumn, type SourcePlan } from './source-relation.ts';
import { quoteGeneratedName } from './sql-name.ts';

/** One failing row. `row` is the 1-based data record (after a CSV header); `line` is DuckDB's CSV line. */
export type RowFailure = { row: number | null; line?: number; column: string | null; reason: string };

const REJECT_REASONS: Record<string, string> = {
  'MISSING COLUMNS': 'the row has fewer fields than the header',
  'TOO MANY COLUMNS': 'the row has more fields than the header',
  'UNQUOTED VALUE': 'a quote appears inside an unquoted field',
  'LINE SIZE OVER MAXIMUM': 'the line is longer than the CSV line limit',
  'INVALID ENCODING': 'the line is not valid UTF-8',
  'INVALID UNICODE': 'the line is not valid UTF-8',
  'CAST': 'a value does not parse',
};

/** The earliest line DuckDB rejected while reading a CSV with store_rejects, or null. */
export async function firstRejectedLine(
  session: Session,
  rejectsTable: string,
  header: readonly SourceColumn[],
): Promise<RowFailure | null> {
  const rows = await session.all(
    `SELECT line, column_name, error_type FROM temp.${rejectsTable} ORDER BY line LIMIT 1`,
  );
  const first = rows[0];
  if (first === undefined) return null;
  const line = Number(first.line);
  // Rejects name our positional columns (c0, c1, ...); map back to the header's own name.
  const position = /^c(\d+)$/.exec(String(first.column_name ?? ''));
  const headerName = position === null ? undefined : header[Number(position[1])]?.name;
  return {
    row: line - 1,
    line,
    column: headerName !== undefined && /^[\p{L}\p{N} _.-]{1,64}$/u.test(headerName) ? headerName : null,
    reason: REJECT_REASONS[String(first.error_type)] ?? 'the line is not well-formed CSV',
  };
}

export async function dropRejectTables(session: Session, rejectsTable: string): Promise<void> {
  const scan = quoteGeneratedName(`${rejectsTable.slice(1, -1)}_scan`);
  for (const table of [rejectsTable, scan])
    await session.run(`DROP TABLE IF EXISTS temp.${table}`).catch(() => undefined);
}

/** The first row (in source order) that one of `plans` rejects, or null when every row passes. */
export async function locateInvalidRow(
  session: Session,
  plan: SourcePlan,
  header: readonly SourceColumn[],
  plans: readonly ColumnPlan[],
): Promise<RowFailure | null> {
  const numbered = plan.numbered;
  if (numbered === null) return null;
  const firstBad = plans.map((p, i) => `WHEN NOT ${p.valid} THEN ${i}`).join(' ');
  const firstBadIsNull = plans.map((p) => `WHEN NOT ${p.valid} THEN ${p.isNull}`).join(' ');
  const rows = await session.all(
    `SELECT CAST(${numbered.row} AS BIGINT) AS row_number, CASE ${firstBad} END AS bad_index, CASE ${firstBadIsNull} END AS bad_is_null
     FROM ${numbered.from} WHERE NOT (${plans.map((p) => p.valid).join(' AND ')}) ORDER BY row_number LIMIT 1`,
  );
  let failure: RowFailure | null = null;
  const hit = rows[0];
  if (hit !== undefined) {
    const bad = plans[Number(hit.bad_index)];
    failure = {
      row: Number(hit.row_number),
      column: bad?.name ?? null,
      reason: bad?.rule(hit.bad_is_null === true) ?? 'invalid value',
    };
  }
  if (plan.rejectsTable !== null) {
    // The diagnosis read skips rejected lines, so its row numbers are exact only before the first
    // reject: whichever failure comes first is the one to report.
    const diagnosticRejects = quoteGeneratedName(`${plan.rejectsTable.slice(1, -1)}_d`);
    const rejected = await firstRejectedLine(session, diagnosticRejects, header).catch(() => null);
    await dropRejectTables(session, diagnosticRejects);
    if (rejected !== null && (failure === null || (rejected.row ?? 0) <= (failure.row ?? 0))) return rejected;
  }
  return failure;
}

/** The 1-based rows holding pseudonym `subject`, in source order (at most `limit`). */
export async function locateSubjectRows({
  session,
  plan,
  subjectExpression,
  subject,
  limit,
}: {
  session: Session;
  plan: SourcePlan;
  subjectExpression: string;
  subject: string;
  limit: number;
}): Promise<number[]> {
  const numbered = plan.numbered;
  if (numbered === null) return [];
  const rows = await session.all(
    `SELECT CAST(${numbered.row} AS BIGINT) AS row_number FROM ${numbered.from} WHERE ${subjectExpression} = $1 ORDER BY row_number LIMIT ${Math.trunc(limit)}`,
    [subject],
  );
  return rows.map((r) => Number(r.row_number));
}

/** For newline-delimited JSON DuckDB cannot parse: the first record that is not a JSON object. */
export async function locateMalformedJsonLine(path: string): Promise<number | null> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let record = 0;
  try {
    for await (const line of lines) {
      if (line.trim() === '') continue;
      record += 1;
      try {
        const value: unknown = JSON.parse(line);
        if (typeof value !== 'object' || value === null || Array.isArray(value)) return record;
      } catch {
        return record;
      }
    }
  } finally {
    lines.close();
  }
  return null;
}

export function rowError(file: ConfinedPath, failure: RowFailure): GatewayError {
  const where = [
    failure.row === null ? null : `row ${failure.row}`,
    failure.column === null ? null : `column ${failure.column}`,
  ]
    .filter(Boolean)
    .join(', ');
  return new GatewayError(
    'CONNECTOR_DATA_INVALID',
    `${file.display}${where === '' ? '' : ` ${where}`}: ${failure.reason}; nothing was imported`,
    {
      file: file.display,
      row: failure.row,
      ...(failure.line === undefined ? {} : { line: failure.line }),
      column: failure.column,
      reason: failure.reason,
    },
  );
}

/** When the failure cannot be pinned to a row: still names the file, still fails the whole import. */
export function unreadableError(file: ConfinedPath, cause: unknown): GatewayError {
  return new GatewayError(
    'CONNECTOR_DATA_INVALID',
    `${file.display} could not be read completely; nothing was imported`,
    { file: file.display, row: null, column: null, reason: 'the source could not be read' },
    { cause: redactDuckDbError(cause) },
  );
}
