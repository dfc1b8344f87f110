// The shared identifier a PSI job aligns on is read from the view's own source at job time
// (connectors/join-key-reader.ts): in source order, with each row's subject id as consent pseudonymizes it, never from
// a stored column (identifiers are never stored). A source changed since its import, a non-identifier column, or a
// value that would break the chunk encoding is refused rather than read wrongly.
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeConnectorGateway, type ConnectorGateway } from '../../connectors/connector-fixture.ts';

let gw: ConnectorGateway;
beforeEach(async () => {
  gw = await makeConnectorGateway();
});
afterEach(async () => {
  await gw.close();
});

const declaration = (name: string, file: string) => ({
  name,
  source: { kind: 'csv', path: file },
  subjectColumn: 'id',
  columns: [
    { name: 'id', type: 'integer', classification: 'identifier' },
    { name: 'vin', type: 'string', classification: 'identifier' },
    { name: 'x0', type: 'double', classification: 'feature' },
  ],
});

async function register(name: string, lines: string[]): Promise<string> {
  const file = `${name}.csv`;
  writeFileSync(join(gw.importsDir, file), `id,vin,x0\n${lines.join('\n')}\n`);
  await gw.connectors.views.register(declaration(name, file));
  return join(gw.importsDir, file);
}

async function readAll(name: string, column: string, chunkRows?: number) {
  const keys: (string | null)[] = [];
  const subjects: string[] = [];
  for await (const chunk of gw.connectors.keys.stream(name, column, chunkRows)) {
    keys.push(...chunk.keys);
    subjects.push(...chunk.subjectIds);
  }
  return { keys, subjects };
}

describe('join keys for PSI', () => {
  it('streams the identifier column in source order with canonical subject ids, across chunks', async () => {
    const rows = Array.from(
      { length: 2500 },
      (_, i) => `${String(i * 7).padStart(i % 3 === 0 ? 5 : 1, '0')},${i % 500 === 7 ? '' : `LSV${i}`},1.5`,
    );
    await register('customers', rows);
    const { keys, subjects } = await readAll('customers', 'vin', 1000);
    expect(keys).toHaveLength(2500);
    expect(keys[0]).toBe('LSV0');
    expect(keys[7]).toBeNull();
    expect(keys[2499]).toBe('LSV2499');
    // '00021' and '21' are one customer: integer ids are read as consent pseudonymizes them, in canonical form.
    expect(subjects[3]).toBe('21');
    expect(subjects).toEqual(Array.from({ length: 2500 }, (_, i) => String(i * 7)));
    // The subject column can be the key itself.
    expect((await readAll('customers', 'id')).keys.slice(0, 4)).toEqual(['0', '7', '14', '21']);
  });

  it('refuses a source changed since its import, a column that is not an identifier, and an unknown view', async () => {
    const path = await register('drivers', ['1,LSV1,0.5', '2,LSV2,0.7']);
    await expect(gw.connectors.keys.joinColumn('drivers', 'x0')).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(gw.connectors.keys.joinColumn('nobody', 'vin')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    appendFileSync(path, '3,LSV3,0.9\n');
    await expect(readAll('drivers', 'vin')).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('refuses a key holding the chunk separator instead of misaligning rows', async () => {
    await register('tricky', ['1,LSV1,0.5', '2,LSV\u001f2,0.7']);
    await expect(readAll('tricky', 'vin')).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });
});
