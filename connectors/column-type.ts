// Declared column types and how each is checked and converted in DuckDB SQL. Text sources (CSV,
// JSON) are parsed strictly here rather than by DuckDB's lenient casts: DuckDB turns '0.5' into the
// integer 1, and an import must never round a value silently.
import { z } from 'zod';

export const ColumnType = z.enum(['string', 'integer', 'double', 'boolean', 'date', 'timestamp']);
export type ColumnType = z.infer<typeof ColumnType>;

/** Storage type in the connector database. Timestamps are instants (UTC session time zone). */
export const DUCKDB_TYPE = {
  string: 'VARCHAR',
  integer: 'BIGINT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  date: 'DATE',
  timestamp: 'TIMESTAMPTZ',
} as const satisfies Record<ColumnType, string>;

/** Integers must survive the trip to a JS number exactly (Number.MAX_SAFE_INTEGER). */
export const MAX_SAFE = '9007199254740991';

const INTEGER_TYPES = [
  'TINYINT',
  'SMALLINT',
  'INTEGER',
  'BIGINT',
  'HUGEINT',
  'UTINYINT',
  'USMALLINT',
  'UINTEGER',
  'UBIGINT',
  'UHUGEINT',
];

/**
 * Source types (as DuckDB names them) that hold each declared type without loss. Anything else is a
 * schema mismatch at registration, before a row is read.
 */
const COMPATIBLE: Record<ColumnType, (sourceType: string) => boolean> = {
  string: (t) => t === 'VARCHAR' || t === 'UUID' || INTEGER_TYPES.includes(t),
  integer: (t) => INTEGER_TYPES.includes(t),
  double: (t) => t === 'DOUBLE' || t === 'FLOAT' || t.startsWith('DECIMAL') || INTEGER_TYPES.includes(t),
  boolean: (t) => t === 'BOOLEAN',
  date: (t) => t === 'DATE',
  timestamp: (t) => t === 'DATE' || t.startsWith('TIMESTAMP'),
};

export function isCompatibleSourceType(declared: ColumnType, sourceType: string): boolean {
  return COMPATIBLE[declared](sourceType.toUpperCase());
}

/** Whether `raw` holds an acceptable value of `type`. Never NULL: NULL handling is the caller's. */
export function textValueCheck(type: ColumnType, raw: string): string {
  switch (type) {
    case 'string':
      return 'true';
    // Digits only (no exponent, no fraction), and small enough to be an exact JS number.
    case 'integer':
      return `coalesce(regexp_full_match(${raw}, '\\s*[+-]?[0-9]{1,16}\\s*') AND abs(TRY_CAST(${raw} AS BIGINT)) <= ${MAX_SAFE}, false)`;
    case 'double':
      return `coalesce(isfinite(TRY_CAST(${raw} AS DOUBLE)), false)`;
    case 'boolean':
      return `coalesce(lower(trim(${raw})) IN ('true', 'false', '1', '0'), false)`;
    case 'date':
      return `(TRY_CAST(${raw} AS DATE) IS NOT NULL)`;
    case 'timestamp':
      return `(TRY_CAST(${raw} AS TIMESTAMPTZ) IS NOT NULL)`;
  }
}

export function textValueConversion(type: ColumnType, raw: string): string {
  switch (type) {
    case 'string':
      return raw;
    case 'integer':
      return `CAST(trim(${raw}) AS BIGINT)`;
    case 'boolean':
      return `(lower(trim(${raw})) IN ('true', '1'))`;
    default:
      return `CAST(${raw} AS ${DUCKDB_TYPE[type]})`;
  }
}

/** For typed sources (Parquet, DuckDB) whose column type already passed isCompatibleSourceType. */
export function typedValueCheck(type: ColumnType, raw: string): string {
  switch (type) {
    case 'integer':
      return `coalesce(${raw} BETWEEN -${MAX_SAFE} AND ${MAX_SAFE}, false)`;
    case 'double':
      return `coalesce(isfinite(CAST(${raw} AS DOUBLE)), false)`;
    default:
      return 'true';
  }
}

export function typedValueConversion(type: ColumnType, raw: string): string {
  return `CAST(${raw} AS ${DUCKDB_TYPE[type]})`;
}

/** What a failed check means, in words that name the rule and never the value. */
export function describeTypeRule(type: ColumnType): string {
  switch (type) {
    case 'string':
      return 'not text';
    case 'integer':
      return `not an integer within ±${MAX_SAFE}`;
    case 'double':
      return 'not a finite number';
    case 'boolean':
      return 'not a boolean (true, false, 1 or 0)';
    case 'date':
      return 'not a date (YYYY-MM-DD)';
    case 'timestamp':
      return 'not a timestamp (ISO 8601)';
  }
}
