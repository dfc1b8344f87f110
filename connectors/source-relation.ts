// How each source kind is read through DuckDB (read_csv, read_json, read_parquet, ATTACH READ_ONLY):
// the schema it exposes, and the SQL relation an import selects from. Paths arrive already confined
// and are spliced in only through quotePathLiteral; every other name goes through quoteName.
import { GatewayError } from '../core/errors.ts';
import { readCsvHeader } from './csv-header.ts';
import type { ConfinedPath } from './import-root.ts';
import type { Session } from './data-store.ts';
import { nameLiteral, quoteGeneratedName, quoteName, quotePathLiteral } from './sql-name.ts';
import type { ConnectorSource } from './view.ts';

/** A source column as DuckDB sees it; CSV columns are all text until the import parses them. */
export type SourceColumn = { name: string; type: string };

export type SourcePlan = {
  /** Whether values arrive as text to be parsed (CSV, JSON) or already typed (Parquet, DuckDB). */
  isText: boolean;
  /** The relation to select declared columns from. */
  from: string;
  /** The same rows with a 1-based row number, for locating a failure; null when it cannot be numbered. */
  numbered: { from: string; row: string } | null;
  /** SQL for the raw value of a declared column. */
  raw(column: string): string;
  /** CSV only: where DuckDB records malformed lines (rejects_table) during `from`. */
  rejectsTable: string | null;
  /** Statements to run before and after using `from` (ATTACH / DETACH). */
  setup: string[];
  teardown: string[];
};

const CSV_DELIMITER_LITERAL: Record<string, string> = { ',': "','", ';': "';'", '\t': "'\\t'", '|': "'|'" };

const ORDINALITY = 'ordinality';

/** The source's columns. Throws CONNECTOR_DATA_INVALID when the file cannot be read as its kind. */
export async function describeSource(
  session: Session,
  source: ConnectorSource,
  file: ConfinedPath,
  tag: string,
): Promise<SourceColumn[]> {
  const path = quotePathLiteral(file.path);
  const unreadable = (cause: unknown) =>
    new GatewayError(
      'CONNECTOR_DATA_INVALID',
      `${file.display} cannot be read as ${source.kind}`,
      { file: file.display, reason: `not a readable ${source.kind} source` },
      { cause: redactDuckDbError(cause) },
    );
  switch (source.kind) {
    case 'csv':
      return readCsvHeader(file.path, file.display, source.delimiter).map((name) => ({ name, type: 'VARCHAR' }));
    case 'parquet':
    case 'json': {
      const relation =
        source.kind === 'parquet' ? `read_parquet(${path})` : `read_json(${path}, format = '${source.format}')`;
      try {
        const rows = await session.all(`DESCRIBE SELECT * FROM ${relation}`);
        return rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
      } catch (cause) {
        throw unreadable(cause);
      }
    }
    case 'duckdb': {
      const alias = attachAlias(tag);
      try {
        await session.run(`ATTACH ${path} AS ${alias} (READ_ONLY)`);
      } catch (cause) {
        throw unreadable(cause);
      }
      try {
        const rows = await session.all(
          'SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = $1 AND schema_name = $2 AND table_name = $3 ORDER BY column_index',
          [alias.slice(1, -1), source.schema, source.table],
        );
        if (rows.length === 0) {
          throw new GatewayError(
            'CONNECTOR_SCHEMA_MISMATCH',
            `${file.display} has no table ${source.schema}.${source.table}`,
            { file: file.display, table: `${source.schema}.${source.table}` },
          );
        }
        return rows.map((r) => ({ name: String(r.column_name), type: String(r.data_type) }));
      } finally {
        await session.run(`DETACH ${alias}`).catch(() => undefined);
      }
    }
  }
}

const attachAlias = (tag: string) => quoteGeneratedName(`src_${tag}`);

/**
 * The relation for an import. `columns` are the source's columns (from describeSource); `declared`
 * the names the view reads. `tag` makes the generated names (rejects table, attach alias) unique.
 */
export function planSource({
  source,
  file,
  columns,
  declared,
  tag,
}: {
  source: ConnectorSource;
  file: ConfinedPath;
  columns: readonly SourceColumn[];
  declared: readonly string[];
  tag: string;
}): SourcePlan {
  const path = quotePathLiteral(file.path);
  const hasOrdinalityColumn = columns.some((c) => c.name.toLowerCase() === ORDINALITY);
  switch (source.kind) {
    case 'csv': {
      // Positional names c0, c1, ... for every header field: the header's own text never reaches SQL.
      const position = new Map<string, number>();
      columns.forEach((c, i) => {
        if (!position.has(c.name)) position.set(c.name, i);
      });
      const struct = columns.map((_c, i) => `'c${i}': 'VARCHAR'`).join(', ');
      const rejects = quoteGeneratedName(`rejects_${tag}`);
      const options = (rejectsTable: string) =>
        [
          'header = true',
          'auto_detect = false',
          `delim = ${CSV_DELIMITER_LITERAL[source.delimiter] ?? "','"}`,
          `quote = '"'`,
          `escape = '"'`,
          'strict_mode = true',
          'null_padding = false',
          `columns = {${struct}}`,
          // Rejected lines are recorded, never silently dropped: any reject fails the whole import.
          'store_rejects = true',
          `rejects_table = '${rejectsTable.slice(1, -1)}'`,
          `rejects_scan = '${rejectsTable.slice(1, -1)}_scan'`,
          'rejects_limit = 100',
        ].join(', ');
      const from = `read_csv(${path}, ${options(rejects)})`;
      const diagnosticRejects = quoteGeneratedName(`rejects_${tag}_d`);
      return {
        isText: true,
        from,
        rejectsTable: rejects,
        setup: [],
        teardown: [],
        numbered: { from: `read_csv(${path}, ${options(diagnosticRejects)}) WITH ORDINALITY`, row: ORDINALITY },
        raw: (column) => quoteGeneratedName(`c${mustFind(position, column)}`),
      };
    }
    case 'json': {
      const struct = declared.map((name) => `${nameLiteral(name)}: 'VARCHAR'`).join(', ');
      const from = `read_json(${path}, format = '${source.format}', columns = {${struct}})`;
      return {
        isText: true,
        from,
        rejectsTable: null,
        setup: [],
        teardown: [],
        numbered: declared.some((d) => d.toLowerCase() === ORDINALITY)
          ? null
          : { from: `${from} WITH ORDINALITY`, row: ORDINALITY },
        raw: quoteName,
      };
    }
    case 'parquet': {
      const from = `read_parquet(${path})`;
      return {
        isText: false,
        from,
        rejectsTable: null,
        setup: [],
        teardown: [],
        numbered: hasOrdinalityColumn ? null : { from: `${from} WITH ORDINALITY`, row: ORDINALITY },
        raw: quoteName,
      };
    }
    case 'duckdb': {
      const alias = attachAlias(tag);
      const from = `${alias}.${quoteName(source.schema)}.${quoteName(source.table)}`;
      return {
        isText: false,
        from,
        rejectsTable: null,
        setup: [`ATTACH ${path} AS ${alias} (READ_ONLY)`],
        teardown: [`DETACH ${alias}`],
        // A table has no file order; rowid is its storage order, which is insertion order for a table never updated.
        numbered: { from, row: 'rowid + 1' },
        raw: quoteName,
      };
    }
  }
}

function mustFind(position: ReadonlyMap<string, number>, column: string): number {
  const index = position.get(column);
  if (index === undefined) throw new GatewayError('INTERNAL', 'planned a column the source does not have');
  return index;
}

/**
 * DuckDB error text can quote the offending line ("Original Line: ...") or value. Causes are logged,
 * so only the first line survives, with every quoted fragment replaced.
 */
export function redactDuckDbError(error: unknown): Error {
  const text = error instanceof Error ? error.message : String(error);
  const firstLine = (text.split('\n')[0] ?? '').slice(0, 300);
  return new Error(`duckdb: ${firstLine.replace(/"[^"]*"|'[^']*'/g, '"…"')}`);
}
