// Partner data connectors, assembled: the sandboxed connector database, the view catalogue and
// importer, the purpose-checked reader and the signed event ingest. The gateway opens this once at
// start-up (GatewayContext.connectors) and closes it on shutdown.
import { join } from 'node:path';
import type { Clock } from '../core/clock.ts';
import type { PurposeCatalog } from '../consent/purpose.ts';
import { openDataStore, type DataStore } from './data-store.ts';
import { openImportRoots } from './import-root.ts';
import { STREAM_CATALOG_SQL, openIngestStreams, type IngestStreams } from './ingest-store.ts';
import { VIEW_CATALOG_SQL, createViewRegistry, type ViewRegistry } from './view-registry.ts';
import { createJoinKeyReader, type JoinKeyReader } from './join-key-reader.ts';
import { createViewReader, type ViewReader } from './view-reader.ts';

export const DATA_FILE = 'data.duckdb';
export const IMPORTS_DIR = 'imports';

export type ConnectorOptions = {
  dataDir: string;
  /** Allowed import roots besides `<dataDir>/imports` (which is always first and always allowed). */
  importRoots?: readonly string[];
  /** The party's 32-byte subject key: the same key consent pseudonymizes with. */
  subjectKey: Uint8Array;
  clock: Clock;
  /** The purpose catalogue in force, read at every access decision (policy reloads apply at once). */
  purposes: () => PurposeCatalog;
  /** DuckDB memory_limit for the connector database, e.g. '1GB'. */
  memoryLimit?: string;
  ingestToleranceSeconds?: number;
};

export type Connectors = {
  readonly views: ViewRegistry;
  readonly reader: ViewReader;
  readonly streams: IngestStreams;
  /** Shared identifier columns read from a view's unchanged source at job time (PSI jobs). */
  readonly keys: JoinKeyReader;
  /** Canonical allowed roots, default first. */
  readonly importRoots: readonly string[];
  readonly dataPath: string;
  /** Waits for running imports and appends, then releases the connector database. Idempotent. */
  close(): Promise<void>;
};

export async function openConnectors(options: ConnectorOptions): Promise<Connectors> {
  const importRoots = openImportRoots(join(options.dataDir, IMPORTS_DIR), options.importRoots ?? []);
  const dataPath = join(options.dataDir, DATA_FILE);
  const store: DataStore = await openDataStore({
    path: dataPath,
    allowedDirectories: importRoots,
    subjectKey: options.subjectKey,
    ...(options.memoryLimit === undefined ? {} : { memoryLimit: options.memoryLimit }),
  });
  try {
    await store.imports.transaction(async (s) => {
      await s.run(VIEW_CATALOG_SQL);
      await s.run(STREAM_CATALOG_SQL);
    });
    const streams = await openIngestStreams(store, {
      subjectKey: options.subjectKey,
      clock: options.clock,
      ...(options.ingestToleranceSeconds === undefined ? {} : { toleranceSeconds: options.ingestToleranceSeconds }),
    });
    const views = createViewRegistry(store, importRoots, options.clock);
    return {
      views,
      keys: createJoinKeyReader(store, importRoots, views),
      reader: createViewReader(store, options.purposes),
      streams,
      importRoots,
      dataPath,
      close: () => store.close(),
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}
