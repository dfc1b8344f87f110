// Column access by purpose: a job reads only declared columns its purpose's fieldAllowlist names,
// never an identifier, sensitive columns only when named, each at the purpose's precision, and the
// check is repeated at read time so a narrowed purpose takes effect on reads already granted.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { authorizeColumns } from '../../connectors/column-access.ts';
import { ConnectorView } from '../../connectors/view.ts';
import type { ViewRow } from '../../connectors/view-reader.ts';
import { pseudonymize } from '../../consent/pseudonym.ts';
import { allowPurpose, makeConnectorGateway, type ConnectorGateway } from './connector-fixture.ts';

const CUSTOMERS = ConnectorView.parse({
  name: 'customers',
  source: { kind: 'csv', path: 'customers.csv' },
  subjectColumn: 'cid',
  columns: [
    { name: 'cid', type: 'string', classification: 'identifier' },
    { name: 'phone', type: 'string', classification: 'identifier' },
    { name: 'age', type: 'integer', classification: 'quasi-identifier' },
    { name: 'income', type: 'double', classification: 'sensitive' },
    { name: 'segment', type: 'string', classification: 'feature' },
    { name: 'churned', type: 'boolean', classification: 'label' },
    { name: 'joined', type: 'date', classification: 'feature' },
    { name: 'last_seen', type: 'timestamp', classification: 'feature' },
  ],
});

const CSV = [
  'cid,phone,age,income,segment,churned,joined,last_seen',
  'c-1,555-0101,37,5100.5,gold,true,2021-03-04,2024-05-06T07:08:09Z',
  'c-2,555-0102,52,7200,silver,0,2019-12-31,2024-01-01 00:00:00',
  'c-3,555-0103,29,,bronze,false,2023-07-01,',
].join('\n');

const purposes = (extra: Record<string, { fieldAllowlist: string[]; precision?: Record<string, string> }>) =>
  Object.fromEntries(
    Object.entries(extra).map(([id, p]) => [
      id,
      {
        description: id,
        fieldAllowlist: p.fieldAllowlist,
        precision: p.precision ?? {},
        kThreshold: 1,
        allowedRecipients: [],
        actions: ['model'],
      },
    ]),
  );

describe('authorizeColumns', () => {
  it('denies a column outside the allowlist, naming it and why; nothing is granted', () => {
    const catalog = purposes({ scoring: { fieldAllowlist: ['age', 'segment'] } });
    expect(() => authorizeColumns(CUSTOMERS, ['age', 'segment', 'churned'], 'scoring', catalog)).toThrow(
      expect.objectContaining({
        code: 'COLUMN_DENIED',
        detail: { view: 'customers', purpose: 'scoring', denied: [{ column: 'churned', reason: 'not-in-allowlist' }] },
      }),
    );
    expect(authorizeColumns(CUSTOMERS, ['age', 'segment'], 'scoring', catalog).columns.map((c) => c.name)).toEqual([
      'age',
      'segment',
    ]);
  });

  it('never grants an identifier, even when a purpose lists it; only the pseudonym is readable', () => {
    const catalog = purposes({ careless: { fieldAllowlist: ['cid', 'phone', 'age'] } });
    expect(() => authorizeColumns(CUSTOMERS, ['phone', 'age'], 'careless', catalog)).toThrow(
      expect.objectContaining({
        detail: expect.objectContaining({ denied: [{ column: 'phone', reason: 'identifier' }] }),
      }),
    );
    expect(authorizeColumns(CUSTOMERS, ['subject'], 'careless', catalog).columns).toEqual([]);
  });

  it('grants a sensitive column only when the purpose names it, bare or qualified by this view', () => {
    const catalog = purposes({
      plain: { fieldAllowlist: ['age'] },
      bare: { fieldAllowlist: ['income'] },
      qualified: { fieldAllowlist: ['customers.income'] },
      otherView: { fieldAllowlist: ['loans.income'] },
    });
    expect(() => authorizeColumns(CUSTOMERS, ['income'], 'plain', catalog)).toThrow(
      expect.objectContaining({
        detail: expect.objectContaining({ denied: [{ column: 'income', reason: 'sensitive-not-listed' }] }),
      }),
    );
    expect(authorizeColumns(CUSTOMERS, ['income'], 'bare', catalog).columns).toEqual([
      { name: 'income', rule: 'exact' },
    ]);
    expect(authorizeColumns(CUSTOMERS, ['income'], 'qualified', catalog).columns).toEqual([
      { name: 'income', rule: 'exact' },
    ]);
    expect(() => authorizeColumns(CUSTOMERS, ['income'], 'otherView', catalog)).toThrow(
      expect.objectContaining({ code: 'COLUMN_DENIED' }),
    );
  });

  it('denies undeclared columns and unknown purposes', () => {
    const catalog = purposes({ scoring: { fieldAllowlist: ['age', 'ssn'] } });
    expect(() => authorizeColumns(CUSTOMERS, ['ssn'], 'scoring', catalog)).toThrow(
      expect.objectContaining({
        detail: expect.objectContaining({ denied: [{ column: 'ssn', reason: 'undeclared' }] }),
      }),
    );
    expect(() => authorizeColumns(CUSTOMERS, ['age'], 'constructor', catalog)).toThrow(
      expect.objectContaining({
        code: 'COLUMN_DENIED',
        detail: expect.objectContaining({ denied: [{ column: '*', reason: 'purpose-unknown' }] }),
      }),
    );
  });

  it('the coarser of a bare and a qualified precision rule applies', () => {
    const catalog = purposes({
      banded: { fieldAllowlist: ['age', 'customers.age'], precision: { 'age': 'band:5', 'customers.age': 'band:10' } },
    });
    expect(authorizeColumns(CUSTOMERS, ['age'], 'banded', catalog).columns).toEqual([{ name: 'age', rule: 'band:10' }]);
  });
});

describe('reading granted columns', () => {
  async function withCustomers(): Promise<ConnectorGateway> {
    const g = await makeConnectorGateway();
    writeFileSync(join(g.importsDir, 'customers.csv'), CSV);
    await g.connectors.views.register(CUSTOMERS);
    return g;
  }

  async function collect(iterable: AsyncIterable<ViewRow[]>): Promise<ViewRow[]> {
    const rows: ViewRow[] = [];
    for await (const chunk of iterable) rows.push(...chunk);
    return rows;
  }

  it('returns the requested subjects in request order, at the purpose precision, with plain JS values', async () => {
    await using gw = await withCustomers();
    await allowPurpose(gw, 'retention', ['age', 'segment', 'churned', 'joined', 'last_seen'], { age: 'band:10' });
    const [p1, p2, p3] = ['c-1', 'c-2', 'c-3'].map((id) =>
      pseudonymize(gw.ctx.identity.subjectKey as Uint8Array, id),
    ) as [string, string, string];
    const grant = await gw.connectors.reader.readViewColumns(
      'customers',
      ['age', 'segment', 'churned', 'joined', 'last_seen'],
      'retention',
    );
    const unknown = pseudonymize(gw.ctx.identity.subjectKey, 'not-a-customer');
    expect(await collect(gw.connectors.reader.readColumnsFor(grant, [p3, unknown, p1]))).toEqual([
      { subject: p3, age: '20-29', segment: 'bronze', churned: false, joined: '2023-07-01', last_seen: null },
      {
        subject: p1,
        age: '30-39',
        segment: 'gold',
        churned: true,
        joined: '2021-03-04',
        last_seen: '2024-05-06T07:08:09.000Z',
      },
    ]);
    const everyone = await collect(gw.connectors.reader.readColumnsFor(grant));
    expect(everyone.map((r) => r.subject).sort()).toEqual([p1, p2, p3].sort());
    await expect(collect(gw.connectors.reader.readColumnsFor(grant, ['c-1']))).rejects.toMatchObject({
      code: 'BAD_INPUT',
    });
  });

  it('a purpose narrowed after the grant denies the read; a grant not issued by the reader is refused', async () => {
    await using gw = await withCustomers();
    await allowPurpose(gw, 'retention', ['age', 'segment']);
    const grant = await gw.connectors.reader.readViewColumns('customers', ['age', 'segment'], 'retention');
    await allowPurpose(gw, 'retention', ['segment']);
    await expect(collect(gw.connectors.reader.readColumnsFor(grant))).rejects.toMatchObject({
      code: 'COLUMN_DENIED',
      detail: { denied: [{ column: 'age', reason: 'not-in-allowlist' }] },
    });
    const forged = { view: 'customers', purpose: 'retention', columns: [{ name: 'income', rule: 'exact' }] };
    await expect(collect(gw.connectors.reader.readColumnsFor(forged))).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('streams each subject once for a view with several rows per subject', async () => {
    await using gw = await makeConnectorGateway();
    writeFileSync(join(gw.importsDir, 'visits.csv'), 'cid,page\na,home\nb,home\na,cart\nc,home\na,pay\n');
    await gw.connectors.views.register({
      name: 'visits',
      source: { kind: 'csv', path: 'visits.csv' },
      subjectColumn: 'cid',
      isSubjectUnique: false,
      columns: [
        { name: 'cid', type: 'string', classification: 'identifier' },
        { name: 'page', type: 'string', classification: 'feature' },
      ],
    });
    const subjects: string[] = [];
    for await (const chunk of gw.connectors.reader.streamSubjects('visits', 2)) {
      expect(chunk.length).toBeLessThanOrEqual(2);
      subjects.push(...chunk);
    }
    expect(subjects.sort()).toEqual(
      ['a', 'b', 'c'].map((id) => pseudonymize(gw.ctx.identity.subjectKey as Uint8Array, id)).sort(),
    );
    await expect(gw.connectors.reader.streamSubjects('nope').next()).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
