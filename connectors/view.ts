// A connector view declaration: which partner file or table it reads, which columns it imports,
// each column's type and privacy classification (ISO/IEC 20889 §3 terms: direct identifier,
// quasi-identifier, sensitive attribute), and which column identifies the data subject.
import { z } from 'zod';
import { ColumnType } from './column-type.ts';
import { ObjectName, SqlName } from './sql-name.ts';

/**
 * identifier: names a person directly; never stored (the subject id becomes a pseudonym, others are dropped).
 * quasi-identifier: identifies in combination (age, postcode); stored, readable only when a purpose lists it.
 * sensitive: special-category data (GDPR Art. 9, PIPL Art. 28); readable only when a purpose lists it.
 * feature / label: model inputs and the target.
 */
export const Classification = z.enum(['identifier', 'quasi-identifier', 'sensitive', 'feature', 'label']);
export type Classification = z.infer<typeof Classification>;

/** The stored pseudonym column of every view and stream table. */
export const SUBJECT_COLUMN = 'subject';

export const ColumnDeclaration = z.strictObject({
  name: SqlName,
  type: ColumnType,
  classification: Classification,
  /** When false, an empty value fails the import with the row named. */
  isNullable: z.boolean().default(true),
  description: z.string().max(500).optional(),
});
export type ColumnDeclaration = z.infer<typeof ColumnDeclaration>;

/** Relative to the default import root, or absolute inside an allowed root. */
const SourcePath = z.string().min(1).max(1024);

export const ConnectorSource = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('csv'), path: SourcePath, delimiter: z.enum([',', ';', '\t', '|']).default(',') }),
  z.strictObject({ kind: z.literal('parquet'), path: SourcePath }),
  z.strictObject({
    kind: z.literal('json'),
    path: SourcePath,
    format: z.enum(['newline_delimited', 'array']).default('newline_delimited'),
  }),
  z.strictObject({ kind: z.literal('duckdb'), path: SourcePath, schema: SqlName.default('main'), table: SqlName }),
]);
export type ConnectorSource = z.infer<typeof ConnectorSource>;

export const ConnectorView = z
  .strictObject({
    name: ObjectName,
    description: z.string().max(1000).optional(),
    source: ConnectorSource,
    /** The column holding the raw subject id; it must be declared with classification `identifier`. */
    subjectColumn: SqlName,
    /** One row per subject (a customer table) unless false (an event log). */
    isSubjectUnique: z.boolean().default(true),
    columns: z.array(ColumnDeclaration).min(1).max(512),
  })
  .superRefine((view, ctx) => {
    const seen = new Set<string>();
    view.columns.forEach((column, i) => {
      // DuckDB folds identifier case, so X0 and x0 would be one column there.
      const folded = column.name.toLowerCase();
      if (seen.has(folded))
        ctx.addIssue({
          code: 'custom',
          path: ['columns', i, 'name'],
          message: 'duplicate column name (names are case-insensitive)',
        });
      seen.add(folded);
      if (folded === SUBJECT_COLUMN && column.classification !== 'identifier') {
        ctx.addIssue({
          code: 'custom',
          path: ['columns', i, 'name'],
          message: `"${SUBJECT_COLUMN}" is reserved for the stored pseudonym`,
        });
      }
    });
    const subject = view.columns.find((c) => c.name === view.subjectColumn);
    if (subject === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['subjectColumn'],
        message: 'subjectColumn must be one of the declared columns',
      });
    } else if (subject.classification !== 'identifier') {
      ctx.addIssue({
        code: 'custom',
        path: ['subjectColumn'],
        message: 'the subject column must be classified identifier',
      });
    } else if (subject.type !== 'string' && subject.type !== 'integer') {
      ctx.addIssue({
        code: 'custom',
        path: ['subjectColumn'],
        message: 'the subject column must be a string or integer',
      });
    }
  });
export type ConnectorView = z.infer<typeof ConnectorView>;
export type ConnectorViewInput = z.input<typeof ConnectorView>;

/** The columns a view stores besides the pseudonym: every declared column that is not an identifier. */
export function storedColumns(view: ConnectorView): ColumnDeclaration[] {
  return view.columns.filter((c) => c.classification !== 'identifier');
}

/** The subject column's declaration; the schema guarantees it exists. */
export function subjectDeclaration(view: ConnectorView): ColumnDeclaration {
  const column = view.columns.find((c) => c.name === view.subjectColumn);
  if (column === undefined) throw new Error('unreachable: ConnectorView guarantees the subject column');
  return column;
}
