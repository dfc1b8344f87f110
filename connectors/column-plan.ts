// The per-column SQL of an import: how each declared column's raw value is checked and converted,
// and how the subject id becomes its pseudonym. The import and the failure diagnosis share these
// expressions, so the row a diagnosis names is exactly the row the import refused.
import {
  DUCKDB_TYPE,
  describeTypeRule,
  textValueCheck,
  textValueConversion,
  typedValueCheck,
  typedValueConversion,
} from './column-type.ts';
import { PSEUDONYM_UDF } from './data-store.ts';
import type { SourcePlan } from './source-relation.ts';
import { quoteName } from './sql-name.ts';
import {
  SUBJECT_COLUMN,
  storedColumns,
  subjectDeclaration,
  type ColumnDeclaration,
  type ConnectorView,
} from './view.ts';

export type ColumnPlan = {
  /** The declared column name ('subject' plan carries the subject column's name). */
  name: string;
  /** True when the raw value is NULL (an empty CSV field, a missing JSON key). */
  isNull: string;
  /** Never NULL: true when the raw value is acceptable. */
  valid: string;
  /** The stored value; evaluates error() for a value `valid` rejects, which aborts the import. */
  stored: string;
  /** Why a value fails, for the error detail; never the value itself. */
  rule(isNull: boolean): string;
};

// error() aborts the statement. Its text stays inside DuckDB; what the client sees comes from the diagnosis.
const ABORT = "error('sealgate: invalid source value')";

/** The raw subject id as the text consent pseudonymizes: integers in canonical decimal form. */
export function subjectText(plan: SourcePlan, column: ColumnDeclaration): string {
  const raw = plan.raw(column.name);
  if (column.type === 'string') return plan.isText ? raw : `CAST(${raw} AS VARCHAR)`;
  // '007' and '7' are one customer: an integer id is canonicalized before it is pseudonymized.
  return plan.isText
    ? `CASE WHEN ${textValueCheck('integer', raw)} THEN CAST(CAST(trim(${raw}) AS BIGINT) AS VARCHAR) END`
    : `CASE WHEN ${typedValueCheck('integer', raw)} THEN CAST(CAST(${raw} AS BIGINT) AS VARCHAR) END`;
}

export function subjectPlan(plan: SourcePlan, view: ConnectorView): ColumnPlan {
  const column = subjectDeclaration(view);
  const pseudonym = `${PSEUDONYM_UDF}(${subjectText(plan, column)})`;
  return {
    name: column.name,
    isNull: `(${plan.raw(column.name)} IS NULL)`,
    valid: `(${pseudonym} IS NOT NULL)`,
    stored: `coalesce(${pseudonym}, ${ABORT})`,
    rule: (isNull) =>
      isNull ? 'the subject id is missing' : `the subject id is not a valid ${column.type} id of 1 to 256 characters`,
  };
}

export function valuePlan(plan: SourcePlan, column: ColumnDeclaration): ColumnPlan {
  const raw = plan.raw(column.name);
  const check = plan.isText ? textValueCheck(column.type, raw) : typedValueCheck(column.type, raw);
  const convert = plan.isText ? textValueConversion(column.type, raw) : typedValueConversion(column.type, raw);
  const ifNull = column.isNullable ? 'true' : 'false';
  return {
    name: column.name,
    isNull: `(${raw} IS NULL)`,
    valid: `(CASE WHEN ${raw} IS NULL THEN ${ifNull} ELSE ${check} END)`,
    stored: `(CASE WHEN ${raw} IS NULL THEN ${column.isNullable ? 'NULL' : ABORT} WHEN ${check} THEN ${convert} ELSE ${ABORT} END)`,
    rule: (isNull) => (isNull ? 'a value is required' : describeTypeRule(column.type)),
  };
}

/** The subject first, then the stored columns in declared order: the order a diagnosis reports. */
export function columnPlans(plan: SourcePlan, view: ConnectorView): ColumnPlan[] {
  return [subjectPlan(plan, view), ...storedColumns(view).map((c) => valuePlan(plan, c))];
}

/** CREATE TABLE for a view's stored rows: the pseudonym and the non-identifier columns. */
export function createTableSql(table: string, view: ConnectorView): string {
  const columns = storedColumns(view).map((c) => `${quoteName(c.name)} ${DUCKDB_TYPE[c.type]}`);
  return `CREATE TABLE ${table} (${quoteName(SUBJECT_COLUMN)} VARCHAR NOT NULL${columns.map((c) => `, ${c}`).join('')})`;
}
