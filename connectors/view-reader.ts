// How jobs read connector views: pseudonyms in chunks for PSI, and purpose-checked columns for the
// subjects a job aligned on. Every read runs in one snapshot, so a refresh committing mid-read
// cannot mix two generations of a view.
import { applyPrecision } from '../consent/precision.ts';
import { isPseudonym } from '../consent/pseudonym.ts';
import type { PurposeCatalog } from '../consent/purpose.ts';
import { GatewayError } from '../core/errors.ts';
import { authorizeColumns, type ColumnGrant } from './column-access.ts';
import type { DataStore, Row, Session } from './data-store.ts';
import { quoteGeneratedName, quoteName } from './sql-name.ts';
import { ObjectName } from './sql-name.ts';
import { ConnectorView, SUBJECT_COLUMN, type ColumnDeclaration } from './view.ts';

export type ColumnValue = string | number | boolean | null;
/** One row: `subject` (the pseudonym) plus the granted columns at the purpose's precision. */
export type ViewRow = Record<string, ColumnValue>;

export type ViewReader = {
  /**
   * Checks that `purposeId` may read `columns` of `view` and returns the grant that readColumnsFor
   * needs. Throws NOT_FOUND, COLUMN_DENIED.
   */
  readViewColumns(view: string, columns: readonly string[], purposeId: string): Promise<ColumnGrant>;
  /** The view's distinct pseudonyms, in chunks (for PSI). Throws NOT_FOUND. */
  streamSubjects(view: string, chunkSize?: number): AsyncGenerator<string[]>;
  /**
   * Rows of the granted columns for `subjects` (in that order; absent subjects are skipped), or for
   * every row when omitted. The purpose is re-checked against the policy bundle in force now.
   */
  readColumnsFor(grant: ColumnGrant, subjects?: readonly string[], chunkSize?: number): AsyncGenerator<ViewRow[]>;
};

const DEFAULT_CHUNK = 10_000;
const MAX_CHUNK = 1_000_000;

function checkedChunk(size: number | undefined): number {
  const n = size ?? DEFAULT_CHUNK;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_CHUNK)
    throw new GatewayError('BAD_INPUT', `chunk size must be 1..${MAX_CHUNK}`);
  return n;
}

/** The committed declaration and table of `name` in this snapshot. */
async function resolveIn(session: Session, name: string): Promise<{ view: ConnectorView; table: string }> {
  const row = ObjectName.safeParse(name).success
    ? (await session.all('SELECT declaration, table_name FROM connector_views WHERE name = $1', [name]))[0]
    : undefined;
  if (row === undefined)
    throw new GatewayError('NOT_FOUND', `no view named ${String(name).slice(0, 64)}`, {
      view: String(name).slice(0, 64),
    });
  return { view: ConnectorView.parse(JSON.parse(String(row.declaration))), table: String(row.table_name) };
}

/** Select expressions whose JS values are plain: dates as YYYY-MM-DD, timestamps as ISO 8601 UTC. */
function selectExpression(column: ColumnDeclaration): string {
  const name = quoteName(column.name);
  if (column.type === 'date') return `CAST(t.${name} AS VARCHAR) AS ${name}`;
  if (column.type === 'timestamp') return `strftime(t.${name}, '%Y-%m-%dT%H:%M:%S.%gZ') AS ${name}`;
  return `t.${name}`;
}

function toValue(value: unknown): ColumnValue {
  // Integers are range-checked at import, so the conversion is exact.
  if (typeof value === 'bigint') return Number(value);
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  throw new GatewayError('INTERNAL', 'connector value of an unexpected type');
}

export function createViewReader(store: DataStore, purposes: () => PurposeCatalog): ViewReader {
  // Grants are only issued here: a grant object built anywhere else is refused.
  const issued = new WeakSet<ColumnGrant>();

  return {
    readViewColumns: async (name, columns, purposeId) => {
      const { view } = await store.reads.session((s) => resolveIn(s, name));
      const grant = Object.freeze(authorizeColumns(view, columns, purposeId, purposes()));
      issued.add(grant);
      return grant;
    },

    streamSubjects: async function* streamSubjects(name, chunkSize) {
      const size = checkedChunk(chunkSize);
      const subject = quoteName(SUBJECT_COLUMN);
      // One row per chunk, pseudonyms joined by ',' (they are base64url, so never contain one):
      // node-api decodes one long string far faster than thousands of short ones (~6x for 1M).
      for await (const rows of store.stream(async (s) => {
        const { view, table } = await resolveIn(s, name);
        let source = quoteGeneratedName(table);
        if (!view.isSubjectUnique) {
          await s.run(`CREATE TEMP TABLE sg_distinct AS SELECT DISTINCT ${subject} FROM ${source}`);
          source = 'sg_distinct';
        }
        return { sql: `SELECT string_agg(${subject}, ',') AS s FROM ${source} GROUP BY rowid // ${size}`, params: [] };
      }, 1)) {
        for (const row of rows) yield String(row.s).split(',');
      }
    },

    readColumnsFor: async function* readColumnsFor(grant, subjects, chunkSize) {
      if (!issued.has(grant)) throw new GatewayError('FORBIDDEN', 'column access must come from readViewColumns');
      const size = checkedChunk(chunkSize);
      if (subjects !== undefined && !subjects.every(isPseudonym))
        throw new GatewayError('BAD_INPUT', 'subjects must be pseudonyms sp_…');
      const names = grant.columns.map((c) => c.name);
      let rules: ColumnGrant['columns'] = [];
      for await (const rows of store.stream(async (s) => {
        const { view, table } = await resolveIn(s, grant.view);
        // Re-checked in the read's own snapshot: a purpose narrowed since the grant, or a column
        // reclassified by a refresh, denies now.
        rules = authorizeColumns(view, names, grant.purpose, purposes()).columns;
        const selected = rules.map((r) =>
          selectExpression(view.columns.find((c) => c.name === r.name) as ColumnDeclaration),
        );
        const columns = [`t.${quoteName(SUBJECT_COLUMN)}`, ...selected].join(', ');
        if (subjects === undefined) return { sql: `SELECT ${columns} FROM ${quoteGeneratedName(table)} t`, params: [] };
        await s.run('CREATE TEMP TABLE sg_wanted (ord BIGINT, subject VARCHAR)');
        const appender = await s.appender('sg_wanted');
        subjects.forEach((subject, i) => {
          appender.appendBigInt(BigInt(i));
          appender.appendVarchar(subject);
          appender.endRow();
        });
        appender.closeSync();
        return {
          sql: `SELECT ${columns} FROM ${quoteGeneratedName(table)} t JOIN sg_wanted w ON t.${quoteName(SUBJECT_COLUMN)} = w.subject ORDER BY w.ord`,
          params: [],
        };
      }, size)) {
        yield rows.map((row: Row) => {
          const out: ViewRow = { [SUBJECT_COLUMN]: String(row[SUBJECT_COLUMN]) };
          for (const { name, rule } of rules) {
            const value = toValue(row[name]);
            out[name] = rule === 'exact' ? value : toValue(applyPrecision(value, rule) ?? null);
          }
          return out;
        });
      }
    },
  };
}
