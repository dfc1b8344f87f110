// Parquet, JSON (newline-delimited and array) and external DuckDB tables import like CSV: the same
// FATE rows, written by DuckDB COPY, give the same pseudonyms and the same values, and each kind
// reports type mismatches and malformed records by file, row and column.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import type { ViewRow } from '../../connectors/view-reader.ts';
import { bearer } from '../fixtures/gateway-fixture.ts';
import {
  FATE_GUEST,
  allowPurpose,
  fateGuestView,
  makeConnectorGateway,
  type ConnectorGateway,
} from './connector-fixture.ts';

const FEATURES = ['y', ...Array.from({ length: 13 }, (_, i) => `x${i}`)];

/** Runs statements in a throwaway DuckDB (outside the gateway) to write test sources. */
async function duckdb(path: string, ...statements: string[]): Promise<void> {
  const instance = await DuckDBInstance.create(path);
  const connection = await instance.connect();
  try {
    for (const sql of statements) await connection.run(sql);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function register(g: ConnectorGateway, payload: unknown) {
  return g.app.inject({
    method: 'POST',
    url: '/v1/connectors/views',
    headers: bearer(g.stewardToken),
    payload: payload as object,
  });
}

async function allRows(g: ConnectorGateway, view: string): Promise<Map<string, ViewRow>> {
  const grant = await g.connectors.reader.readViewColumns(view, FEATURES, 'fate-all');
  const rows = new Map<string, ViewRow>();
  for await (const chunk of g.connectors.reader.readColumnsFor(grant))
    for (const row of chunk) rows.set(row.subject as string, row);
  return rows;
}

describe('source kinds', () => {
  it("Parquet, JSON (both layouts) and a DuckDB table give the CSV import's pseudonyms and values", async () => {
    await using gw = await makeConnectorGateway();
    gw.stage(FATE_GUEST, 'guest.csv');
    await allowPurpose(gw, 'fate-all', FEATURES);
    const fate = `read_csv('${FATE_GUEST}')`;
    await duckdb(
      ':memory:',
      `COPY (SELECT * FROM ${fate}) TO '${join(gw.importsDir, 'guest.parquet')}' (FORMAT parquet)`,
      `COPY (SELECT * FROM ${fate}) TO '${join(gw.importsDir, 'guest.ndjson')}' (FORMAT json)`,
      `COPY (SELECT * FROM ${fate}) TO '${join(gw.importsDir, 'guest.json')}' (FORMAT json, ARRAY true)`,
    );
    await duckdb(join(gw.importsDir, 'partner.duckdb'), `CREATE TABLE customers AS SELECT * FROM ${fate}`);

    const csv = fateGuestView('from_csv', 'guest.csv');
    // DuckDB typed `id` as BIGINT in Parquet and the table: an integer id is pseudonymized in its
    // canonical decimal form, so it joins with the CSV's text ids.
    const typedId = (view: ReturnType<typeof fateGuestView>) => ({
      ...view,
      columns: view.columns.map((c) => (c.name === 'id' ? { ...c, type: 'integer' as const } : c)),
    });
    const views = [
      csv,
      typedId({ ...csv, name: 'from_parquet', source: { kind: 'parquet', path: 'guest.parquet' } }),
      { ...csv, name: 'from_ndjson', source: { kind: 'json', path: 'guest.ndjson' } },
      { ...csv, name: 'from_json_array', source: { kind: 'json', path: 'guest.json', format: 'array' } },
      typedId({ ...csv, name: 'from_duckdb', source: { kind: 'duckdb', path: 'partner.duckdb', table: 'customers' } }),
    ];
    for (const view of views) {
      const res = await register(gw, view);
      expect(res.statusCode, `${view.name}: ${res.body}`).toBe(201);
      expect(res.json()).toMatchObject({ rows: 30_000, subjects: 30_000 });
    }
    const reference = await allRows(gw, 'from_csv');
    for (const view of views.slice(1)) expect(await allRows(gw, view.name), view.name).toEqual(reference);
  }, 120_000);

  it('a typed source whose column cannot hold the declared type is a schema mismatch', async () => {
    await using gw = await makeConnectorGateway();
    await duckdb(
      ':memory:',
      `COPY (SELECT 'c' || range AS id, CAST(range AS VARCHAR) AS score, range > 2 AS flag FROM range(5)) TO '${join(gw.importsDir, 't.parquet')}' (FORMAT parquet)`,
    );
    const res = await register(gw, {
      name: 't',
      source: { kind: 'parquet', path: 't.parquet' },
      subjectColumn: 'id',
      columns: [
        { name: 'id', type: 'string', classification: 'identifier' },
        { name: 'score', type: 'double', classification: 'feature' },
        { name: 'flag', type: 'integer', classification: 'feature' },
      ],
    });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({
      code: 'CONNECTOR_SCHEMA_MISMATCH',
      context: {
        file: 't.parquet',
        incompatible: [
          { column: 'score', declared: 'double', found: 'VARCHAR' },
          { column: 'flag', declared: 'integer', found: 'BOOLEAN' },
        ],
      },
    });
  });

  it('names the record of a JSON value of the wrong type and of a malformed JSON line', async () => {
    await using gw = await makeConnectorGateway();
    const declaration = (path: string) => ({
      name: 'events_json',
      source: { kind: 'json', path },
      subjectColumn: 'user',
      columns: [
        { name: 'user', type: 'string', classification: 'identifier' },
        { name: 'amount', type: 'double', classification: 'feature' },
      ],
    });
    writeFileSync(
      join(gw.importsDir, 'typed.ndjson'),
      '{"user":"u1","amount":1.5}\n{"user":"u2","amount":2}\n{"user":"u3","amount":"lots"}\n',
    );
    const typed = await register(gw, declaration('typed.ndjson'));
    expect(typed.json()).toMatchObject({
      code: 'CONNECTOR_DATA_INVALID',
      context: { file: 'typed.ndjson', row: 3, column: 'amount', reason: 'not a finite number' },
    });

    writeFileSync(
      join(gw.importsDir, 'broken.ndjson'),
      '{"user":"u1","amount":1.5}\n\n{"user":"u2", amount: 2}\n{"user":"u3","amount":3}\n',
    );
    const broken = await register(gw, declaration('broken.ndjson'));
    expect(broken.json()).toMatchObject({
      code: 'CONNECTOR_DATA_INVALID',
      context: { file: 'broken.ndjson', row: 2, column: null, reason: 'the record is not a well-formed JSON object' },
    });
    expect(await gw.connectors.views.list()).toEqual([]);
  });

  it('a file that is not of its declared kind, and a missing DuckDB table, fail cleanly', async () => {
    await using gw = await makeConnectorGateway();
    gw.stage(FATE_GUEST, 'guest.csv');
    const notParquet = await register(gw, {
      ...fateGuestView('p', 'guest.csv'),
      source: { kind: 'parquet', path: 'guest.csv' },
    });
    expect(notParquet.json()).toMatchObject({
      code: 'CONNECTOR_DATA_INVALID',
      context: { file: 'guest.csv', reason: 'not a readable parquet source' },
    });

    await duckdb(join(gw.importsDir, 'partner.duckdb'), 'CREATE TABLE other (id VARCHAR)');
    const noTable = await register(gw, {
      ...fateGuestView('d', 'x'),
      source: { kind: 'duckdb', path: 'partner.duckdb', table: 'customers' },
    });
    expect(noTable.json()).toMatchObject({
      code: 'CONNECTOR_SCHEMA_MISMATCH',
      context: { file: 'partner.duckdb', table: 'main.customers' },
    });
  });
});
