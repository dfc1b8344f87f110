// Join keys for private set intersection: a view's shared identifier column (a phone number, a VIN), read from the
// view's own source at job time, because identifier columns are never stored (view.ts). The source must still be
// byte-identical to what was imported (SHA-256 as recorded), so every key lines up with the stored pseudonyms.
import { GatewayError } from '../core/errors.ts';
import { subjectText } from './column-plan.ts';
import type { DataStore } from './data-store.ts';
import { confineSourcePath } from './import-root.ts';
import { describeSource, planSource } from './source-relation.ts';
import type { ViewRegistry } from './view-registry.ts';
import { digestFile } from './view-registry.ts';
import { subjectDeclaration, type ColumnDeclaration } from './view.ts';

/**
 * One chunk of source rows in source order: `keys[i]` is row i's join key as text (integers in canonical decimal
 * form, exactly as pseudonymization reads them), null when the row has none; `subjectIds[i]` is the row's raw
 * subject id as consent pseudonymizes it. Both are personal data: use them inside the gateway only.
 */
export type JoinKeyChunk = { keys: (string | null)[]; subjectIds: string[] };

export type JoinKeyReader = {
  /**
   * Streams the join key column of `view` with each row's subject id. Throws NOT_FOUND (no view, or the source
   * is gone), BAD_INPUT (the column is not a string or integer identifier of the view), CONFLICT (the source
   * changed since its last import: refresh the view first).
   */
  stream(view: string, column: string, chunkRows?: number): AsyncGenerator<JoinKeyChunk>;
  /** The identifier declaration a job may align on, with the same checks as stream() but without reading rows. */
  joinColumn(view: string, column: string): Promise<ColumnDeclaration>;
};

const DEFAULT_CHUNK = 65_536;

export function createJoinKeyReader(store: DataStore, roots: readonly string[], views: ViewRegistry): JoinKeyReader {
  const joinColumn = async (name: string, column: string): Promise<ColumnDeclaration> => {
    const { declaration } = await views.get(name);
    const declared = declaration.columns.find((c) => c.name === column);
    if (
      declared === undefined ||
      declared.classification !== 'identifier' ||
      (declared.type !== 'string' && declared.type !== 'integer')
    ) {
      throw new GatewayError(
        'BAD_INPUT',
        `column ${String(column).slice(0, 64)} of view ${name} is not a string or integer identifier column`,
        { view: name, column: String(column).slice(0, 64) },
      );
    }
    if (!declaration.isSubjectUnique)
      throw new GatewayError(
        'BAD_INPUT',
        `view ${name} may list a subject more than once; align on a one-row-per-subject view`,
        { view: name },
      );
    return declared;
  };

  return {
    joinColumn,
    stream: async function* stream(name, column, chunkRows = DEFAULT_CHUNK) {
      const keyColumn = await joinColumn(name, column);
      const description = await views.get(name);
      const view = description.declaration;
      const file = confineSourcePath(roots, view.source.path);
      const digest = await digestFile(file.path);
      if (digest.sha256 !== description.source.sha256) {
        throw new GatewayError(
          'CONFLICT',
          `the source of view ${name} changed since it was imported; refresh the view first`,
          { view: name, file: file.display },
        );
      }
      const tag = `jk_${Math.random().toString(36).slice(2, 10)}`;
      let keys: (string | null)[] = [];
      let subjectIds: string[] = [];
      // One row per chunk, each column's values joined by U+001F: node-api decodes one long string far faster
      // than thousands of short ones. A value holding U+001F itself shows up as a wrong count and is refused.
      for await (const rows of store.stream(async (s) => {
        const header = await describeSource(s, view.source, file, tag);
        const plan = planSource({
          source: view.source,
          file,
          columns: header,
          declared: view.columns.map((c) => c.name),
          tag,
        });
        for (const statement of plan.setup) await s.run(statement);
        const columns = `${subjectText(plan, subjectDeclaration(view))} AS s, ${subjectText(plan, keyColumn)} AS k`;
        if (plan.numbered === null) return { sql: `SELECT ${columns} FROM ${plan.from}`, params: [] };
        return {
          sql: `SELECT (o - 1) // ${Math.floor(chunkRows)} AS g, count(*) AS n,
              string_agg(coalesce(s, ''), chr(31) ORDER BY o) AS s, string_agg(coalesce(k, ''), chr(31) ORDER BY o) AS k
            FROM (SELECT ${columns}, ${plan.numbered.row} AS o FROM ${plan.numbered.from}) GROUP BY g ORDER BY g`,
          params: [],
        };
      }, 1)) {
        for (const row of rows) {
          if (row.n === undefined) {
            subjectIds.push(String(row.s));
            keys.push(row.k === null || row.k === undefined || row.k === '' ? null : String(row.k));
            continue;
          }
          const n = Number(row.n);
          const s = String(row.s).split('\x1f');
          const k = String(row.k).split('\x1f');
          if (s.length !== n || k.length !== n)
            throw new GatewayError('BAD_INPUT', `view ${name} has an identifier holding the control character U+001F`, {
              view: name,
            });
          for (let i = 0; i < n; i++) {
            subjectIds.push(s[i] as string);
            keys.push(k[i] === '' ? null : (k[i] as string));
          }
        }
        if (keys.length >= chunkRows) {
          yield { keys, subjectIds };
          keys = [];
          subjectIds = [];
        }
      }
      if (keys.length > 0) yield { keys, subjectIds };
    },
  };
}
