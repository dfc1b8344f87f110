// Shared set-up for connector and ingest tests: a test gateway with the connector routes, an imports
// directory to copy partner files into, the FATE declaration, and a way to inspect the connector
// database file after the gateway has let go of it.
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Clock } from '../../core/clock.ts';
import { openConnectors, type Connectors } from '../../connectors/connectors.ts';
import type { ConnectorViewInput } from '../../connectors/view.ts';
import { registerConnectorRoutes } from '../../gateway/http/routes/connector.routes.ts';
import { registerIngestRoutes } from '../../gateway/http/routes/ingest.routes.ts';
import { fateFile, readCsvText } from '../fixtures/fate.ts';
import { closeOnce, makeTestGateway, type TestGateway } from '../fixtures/gateway-fixture.ts';

/** The FATE default-credit guest split, gzip-compressed (DuckDB reads it as it is; `stage` writes it out plain). */
export const FATE_GUEST = fateFile('default_credit_hetero_guest');

export type ConnectorGateway = TestGateway & {
  connectors: Connectors;
  /** The default import root (`<dataDir>/imports`). */
  importsDir: string;
  stewardToken: string;
  /** Copies a read-only dataset file into the imports root under `name`, decompressing a `.gz` one. */
  stage(source: string, name: string): string;
};

/**
 * A test gateway with connectors. Once GatewayContext carries `connectors` (and routes/index.ts
 * registers these routes) the fixture uses those; until then it opens and registers its own.
 */
export async function makeConnectorGateway(options: { clock?: Clock } = {}): Promise<ConnectorGateway> {
  const gw = await makeTestGateway({}, options.clock === undefined ? {} : { clock: options.clock });
  const wired = (gw.ctx as { connectors?: Connectors }).connectors;
  const connectors =
    wired ??
    (await openConnectors({
      dataDir: gw.ctx.config.dataDir,
      subjectKey: gw.ctx.identity.subjectKey,
      clock: gw.ctx.clock,
      purposes: () => gw.ctx.policies.bundle.purposes,
    }));
  if (wired === undefined) {
    const ctx = { ...gw.ctx, connectors };
    registerConnectorRoutes(gw.app, ctx);
    registerIngestRoutes(gw.app, ctx);
  }
  const importsDir = connectors.importRoots[0] as string;
  const close = closeOnce(async () => {
    if (wired === undefined) await connectors.close();
    await gw.close();
  });
  return {
    ...gw,
    connectors,
    importsDir,
    stewardToken: await gw.tokenFor('data-steward'),
    stage: (source, name) => {
      const target = join(importsDir, name);
      if (source.endsWith('.gz')) writeFileSync(target, readCsvText(source));
      else copyFileSync(source, target);
      return target;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Adds (or replaces) a purpose in the policy bundle in force, as an admin's PUT /v1/policies would. */
export async function allowPurpose(
  gw: TestGateway,
  id: string,
  fieldAllowlist: string[],
  precision: Record<string, string> = {},
): Promise<void> {
  const bundle = gw.ctx.policies.bundle;
  await gw.ctx.policies.replace({
    ...bundle,
    purposes: {
      ...bundle.purposes,
      [id]: {
        description: `test purpose ${id}`,
        fieldAllowlist,
        precision,
        kThreshold: 1,
        allowedRecipients: [],
        actions: ['model'],
      },
    },
  });
}

/** FATE guest split: `id` identifies, `y` is the label, x0..x12 are features. */
export function fateGuestView(name: string, path: string): ConnectorViewInput {
  return {
    name,
    source: { kind: 'csv', path },
    subjectColumn: 'id',
    columns: [
      { name: 'id', type: 'string', classification: 'identifier' },
      { name: 'y', type: 'integer', classification: 'label' },
      ...Array.from({ length: 13 }, (_, i) => ({
        name: `x${i}`,
        type: 'double' as const,
        classification: 'feature' as const,
      })),
    ],
  };
}

/** The connector database file and its WAL, as bytes (call after the connectors are closed). */
export function readDataFileBytes(path: string): Buffer {
  return Buffer.concat([readFileSync(path), ...(existsSync(`${path}.wal`) ? [readFileSync(`${path}.wal`)] : [])]);
}

/** Opens the closed connector database read-only in a separate DuckDB instance and runs `sql`. */
export async function queryDataFile(path: string, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The FATE guest file's raw ids in file order, read independently of the importer. */
export function readFateIds(): string[] {
  return readCsvText(FATE_GUEST)
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(',')[0] as string);
}
