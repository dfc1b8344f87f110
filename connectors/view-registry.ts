// The catalogue of connector views: register (declare + first import), refresh (re-import), list and
// describe. Each entry records the declaration, the table holding the current generation of rows,
// the row and subject counts and the SHA-256 of the source file as it was imported.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { z } from 'zod';
import type { Clock } from '../core/clock.ts';
import { GatewayError } from '../core/errors.ts';
import type { DataStore, Row, Session } from './data-store.ts';
import { confineSourcePath, type ConfinedPath } from './import-root.ts';
import { ObjectName } from './sql-name.ts';
import { ConnectorView } from './view.ts';
import { importIntoTable, type ImportCounts } from './view-import.ts';

export const ViewDescription = z.object({
  declaration: ConnectorView,
  rows: z.int().min(0),
  subjects: z.int().min(0),
  /** Increments on every successful import (1 after registration). */
  generation: z.int().min(1),
  source: z.object({ file: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.int().min(0) }),
  registeredAt: z.string(),
  importedAt: z.string(),
});
export type ViewDescription = z.infer<typeof ViewDescription>;

/** What the reader needs: the declaration and the table of the committed generation. */
export type ResolvedView = { view: ConnectorView; table: string };

export type ViewRegistry = {
  /** Declares and imports. Throws CONFLICT if the name exists, plus everything an import throws. */
  register(input: unknown): Promise<ViewDescription>;
  /** Re-reads the source under the stored declaration; the previous rows stay until COMMIT. */
  refresh(name: string): Promise<ViewDescription>;
  list(): Promise<ViewDescription[]>;
  /** Throws NOT_FOUND. */
  get(name: string): Promise<ViewDescription>;
  resolve(name: string): Promise<ResolvedView>;
};

export const VIEW_CATALOG_SQL = `CREATE TABLE IF NOT EXISTS connector_views (
  name VARCHAR PRIMARY KEY, declaration VARCHAR NOT NULL, table_name VARCHAR NOT NULL, generation INTEGER NOT NULL,
  row_count BIGINT NOT NULL, subject_count BIGINT NOT NULL, source_file VARCHAR NOT NULL, source_sha256 VARCHAR NOT NULL,
  source_bytes BIGINT NOT NULL, registered_at TIMESTAMPTZ NOT NULL, imported_at TIMESTAMPTZ NOT NULL)`;

const COLUMNS =
  'name, declaration, table_name, generation, row_count, subject_count, source_file, source_sha256, source_bytes, registered_at, imported_at';

const tableFor = (name: string, generation: number) => `view_${name}_g${generation}`;

/** SHA-256 and size of the file as it is now (streamed: constant memory for any size). */
export async function digestFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

function toDescription(row: Row): ViewDescription {
  return {
    declaration: ConnectorView.parse(JSON.parse(String(row.declaration))),
    rows: Number(row.row_count),
    subjects: Number(row.subject_count),
    generation: Number(row.generation),
    source: { file: String(row.source_file), sha256: String(row.source_sha256), bytes: Number(row.source_bytes) },
    registeredAt: new Date(row.registered_at as Date).toISOString(),
    importedAt: new Date(row.imported_at as Date).toISOString(),
  };
}

export function createViewRegistry(store: DataStore, roots: readonly string[], clock: Clock): ViewRegistry {
  const findRow = async (session: Session | DataStore['reads'], name: string): Promise<Row | undefined> =>
    (await session.all(`SELECT ${COLUMNS} FROM connector_views WHERE name = $1`, [name]))[0];

  /** One import, start to finish, holding the imports lane so register/refresh of a name cannot race. */
  const runImport = (view: ConnectorView, isNew: boolean): Promise<ViewDescription> =>
    store.imports.session(async (session) => {
      const existing = await findRow(session, view.name);
      if (isNew && existing !== undefined)
        throw new GatewayError('CONFLICT', `view ${view.name} is already registered; refresh it instead`, {
          view: view.name,
        });
      if (!isNew && existing === undefined)
        throw new GatewayError('NOT_FOUND', `no view named ${view.name}`, { view: view.name });
      const file: ConfinedPath = confineSourcePath(roots, view.source.path);
      const digest = await digestFile(file.path);
      const generation = existing === undefined ? 1 : Number(existing.generation) + 1;
      const table = tableFor(view.name, generation);
      const now = clock.now().toISOString();
      const registeredAt = existing === undefined ? now : new Date(existing.registered_at as Date).toISOString();

      const write = async (counts: ImportCounts) => {
        const values = [
          JSON.stringify(view),
          table,
          generation,
          counts.rows,
          counts.subjects,
          file.display,
          digest.sha256,
          digest.bytes,
          now,
        ];
        if (existing === undefined) {
          await session.run(
            `INSERT INTO connector_views (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::TIMESTAMPTZ, $10::TIMESTAMPTZ)`,
            [view.name, ...values],
          );
        } else {
          await session.run(
            `UPDATE connector_views SET declaration = $2, table_name = $3, generation = $4, row_count = $5, subject_count = $6,
          source_file = $7, source_sha256 = $8, source_bytes = $9, imported_at = $10::TIMESTAMPTZ WHERE name = $1`,
            [view.name, ...values],
          );
        }
      };
      const counts = await importIntoTable({
        session,
        view,
        file,
        target: { table, previousTable: existing === undefined ? null : String(existing.table_name) },
        writeMetadata: write,
      });
      return {
        declaration: view,
        rows: counts.rows,
        subjects: counts.subjects,
        generation,
        source: { file: file.display, ...digest },
        registeredAt,
        importedAt: now,
      };
    });

  const get = async (name: string): Promise<ViewDescription> => {
    const row = ObjectName.safeParse(name).success ? await findRow(store.reads, name) : undefined;
    if (row === undefined)
      throw new GatewayError('NOT_FOUND', `no view named ${String(name).slice(0, 64)}`, {
        view: String(name).slice(0, 64),
      });
    return toDescription(row);
  };

  return {
    register: (input) => runImport(ConnectorView.parse(input), true),
    refresh: async (name) => runImport((await get(name)).declaration, false),
    list: async () =>
      (await store.reads.all(`SELECT ${COLUMNS} FROM connector_views ORDER BY name`)).map(toDescription),
    get,
    resolve: async (name) => {
      const row = ObjectName.safeParse(name).success ? await findRow(store.reads, name) : undefined;
      if (row === undefined)
        throw new GatewayError('NOT_FOUND', `no view named ${String(name).slice(0, 64)}`, {
          view: String(name).slice(0, 64),
        });
      return { view: ConnectorView.parse(JSON.parse(String(row.declaration))), table: String(row.table_name) };
    },
  };
}
