// Importing the FATE default-credit guest split as a connector view: every row arrives, subject ids
// become exactly consent's pseudonyms, and no raw id is stored anywhere in the connector database.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pseudonymize } from '../../consent/pseudonym.ts';
import { bearer } from '../fixtures/gateway-fixture.ts';
import {
  FATE_GUEST,
  allowPurpose,
  fateGuestView,
  makeConnectorGateway,
  queryDataFile,
  readDataFileBytes,
  readFateIds,
} from './connector-fixture.ts';

describe('FATE guest split as a connector view', () => {
  it('imports all 30,000 rows; stored subjects are consent pseudonyms of the raw ids', async () => {
    await using gw = await makeConnectorGateway();
    gw.stage(FATE_GUEST, 'guest.csv');
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/connectors/views',
      headers: bearer(gw.stewardToken),
      payload: fateGuestView('credit_guest', 'guest.csv'),
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({
      rows: 30_000,
      subjects: 30_000,
      generation: 1,
      source: { file: 'guest.csv', bytes: expect.any(Number) },
    });
    expect(body.source.sha256).toMatch(/^[0-9a-f]{64}$/);
    // A description, never data.
    expect(res.body).not.toContain('sp_');

    const ids = readFateIds();
    const key = gw.ctx.identity.subjectKey;
    const streamed: string[] = [];
    for await (const chunk of gw.connectors.reader.streamSubjects('credit_guest', 7_000)) {
      expect(chunk.length).toBeLessThanOrEqual(7_000);
      streamed.push(...chunk);
    }
    expect(new Set(streamed)).toEqual(new Set(ids.map((id) => pseudonymize(key, id))));

    // Values line up with the file: the label and a feature of row 1 and of the last row.
    await allowPurpose(gw, 'fate-test', ['y', 'x0']);
    const grant = await gw.connectors.reader.readViewColumns('credit_guest', ['y', 'x0'], 'fate-test');
    const picked = [ids[0] as string, ids[29_999] as string].map((id) => pseudonymize(key, id));
    const rows = [];
    for await (const chunk of gw.connectors.reader.readColumnsFor(grant, picked)) rows.push(...chunk);
    expect(rows).toEqual([
      { subject: picked[0], y: 1, x0: -1.486041 },
      { subject: picked[1], y: 0, x0: 0.253137 },
    ]);
  }, 60_000);

  it('stores no raw identifier: not in any table, not in the file bytes (a stored quasi-identifier is the positive control)', async () => {
    await using gw = await makeConnectorGateway();
    // FATE ids are short numbers that can occur by chance in binary data, so this file uses
    // distinctive raw ids; the segment column is stored on purpose, proving the scan sees text.
    const lines = ['customer_ref,segment,score'];
    for (let i = 0; i < 2_000; i++) lines.push(`RAWID-${String(i).padStart(6, '0')},SEGMENT-MARK-${i % 17},${i / 3}`);
    writeFileSync(join(gw.importsDir, 'marked.csv'), `${lines.join('\n')}\n`);
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/connectors/views',
      headers: bearer(gw.stewardToken),
      payload: {
        name: 'marked',
        source: { kind: 'csv', path: 'marked.csv' },
        subjectColumn: 'customer_ref',
        columns: [
          { name: 'customer_ref', type: 'string', classification: 'identifier' },
          { name: 'segment', type: 'string', classification: 'quasi-identifier' },
          { name: 'score', type: 'double', classification: 'feature' },
        ],
      },
    });
    expect(res.statusCode).toBe(201);
    const dataPath = gw.connectors.dataPath;
    await gw.connectors.close();

    const bytes = readDataFileBytes(dataPath);
    expect(bytes.includes('SEGMENT-MARK-')).toBe(true);
    expect(bytes.includes('RAWID-')).toBe(false);
    expect(bytes.includes('customer_ref,')).toBe(false);

    const tables = await queryDataFile(
      dataPath,
      "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'view_%'",
    );
    expect(tables.map((t) => t.table_name)).toEqual(['view_marked_g1']);
    const columns = await queryDataFile(
      dataPath,
      "SELECT column_name FROM duckdb_columns() WHERE table_name = 'view_marked_g1' ORDER BY column_index",
    );
    expect(columns.map((c) => c.column_name)).toEqual(['subject', 'segment', 'score']);
    const leaks = await queryDataFile(
      dataPath,
      "SELECT count(*) AS n FROM view_marked_g1 WHERE subject LIKE 'RAWID-%' OR segment LIKE 'RAWID-%'",
    );
    expect(Number(leaks[0]?.n)).toBe(0);
  });

  it('lists and describes views without rows, refreshes to a new generation, and audits each change', async () => {
    await using gw = await makeConnectorGateway();
    gw.stage(FATE_GUEST, 'guest.csv');
    const auth = bearer(gw.stewardToken);
    expect(
      (
        await gw.app.inject({
          method: 'POST',
          url: '/v1/connectors/views',
          headers: auth,
          payload: fateGuestView('credit_guest', 'guest.csv'),
        })
      ).statusCode,
    ).toBe(201);

    const again = await gw.app.inject({
      method: 'POST',
      url: '/v1/connectors/views',
      headers: auth,
      payload: fateGuestView('credit_guest', 'guest.csv'),
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('CONFLICT');

    const listed = await gw.app.inject({ method: 'GET', url: '/v1/connectors/views', headers: auth });
    expect(listed.json().views.map((v: { declaration: { name: string } }) => v.declaration.name)).toEqual([
      'credit_guest',
    ]);
    const one = await gw.app.inject({ method: 'GET', url: '/v1/connectors/views/credit_guest', headers: auth });
    expect(one.json()).toMatchObject({ rows: 30_000, declaration: { subjectColumn: 'id', isSubjectUnique: true } });
    expect((await gw.app.inject({ method: 'GET', url: '/v1/connectors/views/nope', headers: auth })).statusCode).toBe(
      404,
    );

    const refreshed = await gw.app.inject({
      method: 'POST',
      url: '/v1/connectors/views/credit_guest/refresh',
      headers: auth,
    });
    expect(refreshed.statusCode).toBe(200);
    expect(refreshed.json()).toMatchObject({ rows: 30_000, generation: 2 });

    const audit = await gw.ctx.consent.listAudit({ kind: 'connector' });
    expect(audit.map((e) => [e.action, e.outcome])).toEqual([
      ['view-register', 'ok'],
      ['view-register', 'rejected'],
      ['view-refresh', 'ok'],
    ]);
    expect(audit[0]?.detail).toMatchObject({ kind: 'csv', file: 'guest.csv', rows: 30_000, generation: 1 });
    expect(audit[1]?.detail).toMatchObject({ code: 'CONFLICT' });

    // Only stewards and admins manage views.
    for (const role of ['collector', 'exchange', 'compliance-officer'] as const) {
      const res = await gw.app.inject({
        method: 'GET',
        url: '/v1/connectors/views',
        headers: bearer(await gw.tokenFor(role)),
      });
      expect(res.statusCode).toBe(403);
    }
  }, 60_000);

  it('publishes the connector and ingest routes in the OpenAPI document', async () => {
    await using gw = await makeConnectorGateway();
    const res = await gw.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const paths = Object.keys(res.json().paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/v1/connectors/views',
        '/v1/connectors/views/{name}',
        '/v1/connectors/views/{name}/refresh',
        '/v1/connectors/streams',
        '/v1/ingest/{stream}',
      ]),
    );
  });
});
