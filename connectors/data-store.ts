// The connector database: a DuckDB file of its own (<dataDir>/data.duckdb), apart from the gateway's
// consent and audit state, so partner data never shares a file or a write queue with the hash chains.
// DuckDB is sandboxed to the import roots (enable_external_access=false + allowed_directories, locked),
// and the subject pseudonym is a scalar UDF that calls consent's own pseudonymize().
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  DuckDBInstance,
  DuckDBScalarFunction,
  VARCHAR,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBValue,
} from '@duckdb/node-api';
import { pseudonymize } from '../consent/pseudonym.ts';
import { GatewayError } from '../core/errors.ts';
import { checkedMemoryLimit } from '../core/database.ts';
import { quotePathLiteral } from './sql-name.ts';

export type Row = Record<string, unknown>;
export type SqlParam = DuckDBValue;

export type Session = {
  run(sql: string, params?: SqlParam[]): Promise<void>;
  all(sql: string, params?: SqlParam[]): Promise<Row[]>;
  appender(table: string): Promise<DuckDBAppender>;
};

/** One connection and its ordered queue: statements on one DuckDB connection must not interleave. */
export type Lane = {
  /** Exclusive use of the connection; no transaction is opened. */
  session<T>(work: (s: Session) => Promise<T>): Promise<T>;
  /** BEGIN ... COMMIT (durable on return); ROLLBACK when `work` throws. */
  transaction<T>(work: (s: Session) => Promise<T>): Promise<T>;
  all(sql: string, params?: SqlParam[]): Promise<Row[]>;
};

export type DataStore = {
  readonly path: string;
  /** View imports: long transactions, so they get a connection of their own. */
  readonly imports: Lane;
  /** Event ingest: short appends that must not wait behind an import. */
  readonly ingest: Lane;
  /** Metadata reads; MVCC gives them committed snapshots while the other lanes write. */
  readonly reads: Lane;
  /**
   * Opens a fresh connection and one read transaction (a consistent snapshot), lets `build` look up
   * metadata and stage temp tables there, then streams the query it returns in chunks of about
   * `chunkRows` rows.
   * The connection closes when iteration ends, including on break or throw.
   */
  stream(build: (s: Session) => Promise<{ sql: string; params: SqlParam[] }>, chunkRows: number): AsyncGenerator<Row[]>;
  close(): Promise<void>;
};

export type DataStoreOptions = {
  path: string;
  /** Canonical import roots: the only directories DuckDB may read besides its own files. */
  allowedDirectories: readonly string[];
  subjectKey: Uint8Array;
  /** DuckDB memory_limit, e.g. '1GB'; beyond it DuckDB spills to <path>.tmp. */
  memoryLimit?: string;
};

/** sg_pseudonym(raw VARCHAR) → the consent pseudonym, or NULL when consent would refuse the raw id. */
export const PSEUDONYM_UDF = 'sg_pseudonym';

function createSession(connection: DuckDBConnection): Session {
  return {
    run: async (sql, params) => {
      await connection.run(sql, params);
    },
    all: async (sql, params) => (await connection.runAndReadAll(sql, params)).getRowObjectsJS() as Row[],
    appender: (table) => connection.createAppender(table),
  };
}

function createLane(connection: DuckDBConnection, isClosed: () => boolean): Lane {
  let queue: Promise<unknown> = Promise.resolve();
  const session = createSession(connection);
  const serialize = <T>(work: () => Promise<T>): Promise<T> => {
    if (isClosed()) return Promise.reject(new GatewayError('STORE_UNAVAILABLE', 'connector database is closed'));
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };
  return {
    session: (work) => serialize(() => work(session)),
    transaction: (work) =>
      serialize(async () => {
        await connection.run('BEGIN TRANSACTION');
        try {
          const result = await work(session);
          await connection.run('COMMIT');
          return result;
        } catch (error) {
          await connection.run('ROLLBACK').catch(() => undefined);
          throw error;
        }
      }),
    all: (sql, params) => serialize(() => session.all(sql, params)),
  };
}

function registerPseudonymUdf(connection: DuckDBConnection, subjectKey: Uint8Array): void {
  connection.registerScalarFunction(
    DuckDBScalarFunction.create({
      name: PSEUDONYM_UDF,
      returnType: VARCHAR,
      parameterTypes: [VARCHAR],
      mainFunction: (_info, input, output) => {
        const ids = input.getColumnVector(0);
        for (let row = 0; row < input.rowCount; row++) {
          const raw = ids.getItem(row);
          let pseudonym: string | null = null;
          // Exactly consent's rule for raw ids: whatever pseudonymize refuses becomes NULL, and the
          // import turns NULL into an error that names the row.
          if (typeof raw === 'string') {
            try {
              pseudonym = pseudonymize(subjectKey, raw);
            } catch {
              pseudonym = null;
            }
          }
          output.setItem(row, pseudonym);
        }
        output.flush();
      },
    }),
  );
}

export async function openDataStore(options: DataStoreOptions): Promise<DataStore> {
  mkdirSync(dirname(options.path), { recursive: true });
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(options.path);
  } catch (cause) {
    throw new GatewayError(
      'STORE_UNAVAILABLE',
      'cannot open the connector database',
      { file: 'data.duckdb' },
      { cause },
    );
  }
  const tempDirectory = `${options.path}.tmp`;
  const setup = await instance.connect();
  try {
    const allowed = [...options.allowedDirectories, tempDirectory].map((d) =>
      quotePathLiteral(d.endsWith('/') ? d : `${d}/`),
    );
    // Order matters: the allowlist is set before external access is switched off, and the whole
    // configuration is locked last, so no later statement (ours or a bug's) can widen it.
    for (const statement of [
      `SET GLOBAL temp_directory = ${quotePathLiteral(tempDirectory)}`,
      "SET GLOBAL TimeZone = 'UTC'",
      ...(options.memoryLimit === undefined
        ? []
        : [`SET GLOBAL memory_limit = '${checkedMemoryLimit(options.memoryLimit)}'`]),
      'SET GLOBAL autoinstall_known_extensions = false',
      'SET GLOBAL autoload_known_extensions = false',
      `SET GLOBAL allowed_directories = [${allowed.join(', ')}]`,
      'SET GLOBAL enable_external_access = false',
      'SET GLOBAL lock_configuration = true',
    ])
      await setup.run(statement);
  } catch (cause) {
    setup.closeSync();
    instance.closeSync();
    throw new GatewayError('STORE_UNAVAILABLE', 'cannot configure the connector database sandbox', {}, { cause });
  }
  setup.closeSync();

  let isClosed = false;
  const closedCheck = () => isClosed;
  const importConnection = await instance.connect();
  registerPseudonymUdf(importConnection, options.subjectKey);
  const ingestConnection = await instance.connect();
  const readConnection = await instance.connect();
  const lanes = {
    imports: createLane(importConnection, closedCheck),
    ingest: createLane(ingestConnection, closedCheck),
    reads: createLane(readConnection, closedCheck),
  };
  const open = new Set<DuckDBConnection>();

  return {
    path: options.path,
    ...lanes,
    stream: async function* stream(build, chunkRows) {
      if (isClosed) throw new GatewayError('STORE_UNAVAILABLE', 'connector database is closed');
      const connection = await instance.connect();
      open.add(connection);
      try {
        await connection.run('BEGIN TRANSACTION');
        const { sql, params } = await build(createSession(connection));
        const result = await connection.stream(sql, params);
        let pending: Row[] = [];
        for await (const rows of result.yieldRowObjectJs()) {
          pending.push(...(rows as Row[]));
          if (pending.length >= chunkRows) {
            yield pending;
            pending = [];
          }
        }
        if (pending.length > 0) yield pending;
        await connection.run('COMMIT');
      } finally {
        // close() may have closed it already while this generator was suspended.
        if (open.delete(connection)) connection.closeSync();
      }
    },
    close: async () => {
      if (isClosed) return;
      // Wait for queued work on every lane, then refuse more and release the file.
      await Promise.all(Object.values(lanes).map((lane) => lane.session(async () => undefined).catch(() => undefined)));
      isClosed = true;
      for (const connection of open) connection.closeSync();
      open.clear();
      for (const connection of [importConnection, ingestConnection, readConnection]) connection.closeSync();
      instance.closeSync();
    },
  };
}
