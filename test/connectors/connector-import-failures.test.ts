// Imports are all or nothing: a malformed row or a schema mismatch fails with an error that names
// the file, row and column, no raw value is echoed, and nothing (not even part of the file) is stored.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCsvText } from '../fixtures/fate.ts';
import { bearer } from '../fixtures/gateway-fixture.ts';
import {
  FATE_GUEST,
  fateGuestView,
  makeConnectorGateway,
  queryDataFile,
  type ConnectorGateway,
} from './connector-fixture.ts';

const SMALL = (path: string, overrides: Record<string, unknown> = {}) => ({
  name: 'small',
  source: { kind: 'csv', path },
  subjectColumn: 'id',
  columns: [
    { name: 'id', type: 'string', classification: 'identifier' },
    { name: 'n', type: 'integer', classification: 'feature' },
    { name: 'x', type: 'double', classification: 'feature', isNullable: false },
  ],
  ...overrides,
});

async function register(g: ConnectorGateway, payload: unknown) {
  return g.app.inject({
    method: 'POST',
    url: '/v1/connectors/views',
    headers: bearer(g.stewardToken),
    payload: payload as object,
  });
}

async function viewTables(g: ConnectorGateway): Promise<string[]> {
  const rows = await g.connectors.views.list();
  return rows.map((r) => r.declaration.name);
}

describe('all-or-nothing imports', () => {
  it('a wrong type at a known row of the FATE file fails naming file, row and column; nothing is imported', async () => {
    await using gw = await makeConnectorGateway();
    // Row 20,000 of the guest split gets a non-number in x7; the raw id on that row must not be echoed.
    const lines = readCsvText(FATE_GUEST).split('\n');
    const cells = (lines[20_000] as string).split(',');
    const rawId = cells[0] as string;
    cells[9] = 'n/a-SECRETVALUE';
    lines[20_000] = cells.join(',');
    writeFileSync(join(gw.importsDir, 'broken.csv'), lines.join('\n'));

    const res = await register(gw, fateGuestView('broken', 'broken.csv'));
    expect(res.statusCode).toBe(422);
    const problem = res.json();
    expect(problem.code).toBe('CONNECTOR_DATA_INVALID');
    expect(problem.context).toEqual({ file: 'broken.csv', row: 20_000, column: 'x7', reason: 'not a finite number' });
    expect(problem.detail).toBe('broken.csv row 20000, column x7: not a finite number; nothing was imported');
    expect(res.body).not.toContain('SECRETVALUE');
    expect(res.body).not.toContain(rawId);
    expect(await viewTables(gw)).toEqual([]);
    // Not even a partial table survives the rollback.
    const dataPath = gw.connectors.dataPath;
    await gw.connectors.close();
    const tables = await queryDataFile(dataPath, 'SELECT table_name FROM duckdb_tables() ORDER BY table_name');
    expect(tables.map((t) => t.table_name)).toEqual(['connector_views', 'ingest_streams']);
  }, 60_000);

  it('a failed refresh keeps the previous generation intact', async () => {
    await using gw = await makeConnectorGateway();
    const file = join(gw.importsDir, 'small.csv');
    writeFileSync(file, 'id,n,x\na,1,0.5\nb,2,1.5\n');
    expect((await register(gw, SMALL('small.csv'))).statusCode).toBe(201);
    writeFileSync(file, 'id,n,x\na,1,0.5\nb,2,1.5\nc,3,\n');
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/connectors/views/small/refresh',
      headers: bearer(gw.stewardToken),
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().context).toEqual({ file: 'small.csv', row: 3, column: 'x', reason: 'a value is required' });
    expect(await gw.connectors.views.get('small')).toMatchObject({ rows: 2, generation: 1 });
    const subjects: string[] = [];
    for await (const chunk of gw.connectors.reader.streamSubjects('small')) subjects.push(...chunk);
    expect(subjects).toHaveLength(2);
  });

  it.each([
    [
      'an integer column never rounds a fraction',
      'id,n,x\na,1,0.5\nb,0.5,1.5\n',
      { row: 2, column: 'n', reason: 'not an integer within ±9007199254740991' },
    ],
    [
      'an integer beyond the exact JS range',
      'id,n,x\na,9007199254740993,0.5\n',
      { row: 1, column: 'n', reason: 'not an integer within ±9007199254740991' },
    ],
    [
      'a missing subject id',
      'id,n,x\na,1,0.5\n,2,0.5\n',
      { row: 2, column: 'id', reason: 'the subject id is missing' },
    ],
    [
      'a subject id longer than consent accepts',
      `id,n,x\na,1,0.5\n${'z'.repeat(257)},2,0.5\n`,
      { row: 2, column: 'id', reason: 'the subject id is not a valid string id of 1 to 256 characters' },
    ],
    [
      'a repeated subject id',
      'id,n,x\na,1,0.5\nb,2,0.5\na,3,0.5\n',
      { row: 3, column: 'id', reason: 'the subject id of row 1 appears again' },
    ],
    [
      'a row with too few fields',
      'id,n,x\na,1,0.5\nb,2\nc,3,0.5\n',
      { row: 2, line: 3, column: 'x', reason: 'the row has fewer fields than the header' },
    ],
    [
      'a row with too many fields',
      'id,n,x\na,1,0.5\nb,2,0.5,9\n',
      { row: 2, line: 3, column: null, reason: 'the row has more fields than the header' },
    ],
    [
      'a bad value after a quoted multi-line field',
      'id,n,x\n"a\nb",1,0.5\nc,x,0.5\n',
      { row: 2, column: 'n', reason: 'not an integer within ±9007199254740991' },
    ],
  ])('%s fails with the row named', async (_name, csv, context) => {
    await using gw = await makeConnectorGateway();
    writeFileSync(join(gw.importsDir, 'small.csv'), csv);
    const res = await register(gw, SMALL('small.csv'));
    expect(res.statusCode).toBe(422);
    expect(res.json().code).toBe('CONNECTOR_DATA_INVALID');
    expect(res.json().context).toEqual({ file: 'small.csv', ...context });
    expect(await viewTables(gw)).toEqual([]);
  });

  it('a schema mismatch names the missing column and imports nothing', async () => {
    await using gw = await makeConnectorGateway();
    gw.stage(FATE_GUEST, 'guest.csv');
    const view = fateGuestView('guest', 'guest.csv');
    view.columns.push({ name: 'income', type: 'double', classification: 'sensitive' });
    const res = await register(gw, view);
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({
      code: 'CONNECTOR_SCHEMA_MISMATCH',
      detail: 'guest.csv has no column income (declared in view guest); nothing was imported',
      context: { file: 'guest.csv', missing: ['income'] },
    });
    expect(await viewTables(gw)).toEqual([]);
  });

  it('column names match exactly; extra source columns are ignored and never stored', async () => {
    await using gw = await makeConnectorGateway();
    writeFileSync(join(gw.importsDir, 'small.csv'), 'id,N,x,phone\na,1,0.5,555-0100\n');
    const res = await register(gw, SMALL('small.csv'));
    expect(res.json()).toMatchObject({ code: 'CONNECTOR_SCHEMA_MISMATCH', context: { missing: ['n'] } });

    writeFileSync(join(gw.importsDir, 'extra.csv'), 'id,n,x,phone\na,1,0.5,555-0100\n');
    expect((await register(gw, SMALL('extra.csv', { name: 'extra' }))).statusCode).toBe(201);
    await expect(gw.connectors.reader.readViewColumns('extra', ['phone'], 'marketing')).rejects.toMatchObject({
      code: 'COLUMN_DENIED',
      detail: { denied: [{ column: 'phone', reason: 'undeclared' }] },
    });
  });

  it('rejects a declaration whose subject column is not an identifier, before touching the file', async () => {
    await using gw = await makeConnectorGateway();
    const res = await register(
      gw,
      SMALL('does-not-exist.csv', {
        columns: [
          { name: 'id', type: 'string', classification: 'feature' },
          { name: 'x', type: 'double', classification: 'feature' },
        ],
      }),
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([
      { in: 'body', pointer: '/subjectColumn', detail: 'the subject column must be classified identifier' },
    ]);
  });
});
