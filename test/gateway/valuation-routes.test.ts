// Valuations over HTTP (docs/valuation.md, "Storing and anchoring"): a valuation is stored before it answers and its
// report hash is anchored in the package registry; a second valuation is the package's next revision; a stored
// report that changes by a byte no longer checks; malformed, unknown and unauthorized requests are refused as
// problem+json.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listValuations, showValuation } from '../../gateway/cli/valuations.ts';
import { bearer, makeTestGateway, type TestGateway } from '../fixtures/gateway-fixture.ts';
import { automotivePackage } from '../valuation/automotive-package.ts';

let gw: TestGateway;
let steward: string;
let officer: string;
beforeAll(async () => {
  gw = await makeTestGateway({
    SEALGATE_LEDGER: 'local',
    SEALGATE_PARTY_ID: 'dealer-4s',
    SEALGATE_CHAIN_STATE_INTERVAL_S: '1',
  });
  steward = await gw.tokenFor('data-steward');
  officer = await gw.tokenFor('compliance-officer');
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

const small = () => automotivePackage({ monteCarlo: { draws: 500, seed: 42 } });
const create = (token: string, payload: unknown) =>
  gw.app.inject({ method: 'POST', url: '/v1/valuations', headers: bearer(token), payload: payload as object });

describe('valuation routes', () => {
  it('create stores, audits and anchors; a second valuation is the next revision; a changed report fails its check', async () => {
    const first = await create(steward, small());
    expect(first.statusCode, first.body).toBe(201);
    const created = first.json();
    expect(created).toMatchObject({ packageId: 'automotive-behaviour', anchorError: null, anchor: { revision: 1 } });
    expect(created.report.monteCarlo.draws).toBe(500);

    const read = await gw.app.inject({
      method: 'GET',
      url: `/v1/valuations/${created.valuationId}`,
      headers: bearer(officer),
    });
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json().report).toEqual(created.report);
    const page = await gw.app.inject({
      method: 'GET',
      url: `/v1/valuations/${created.valuationId}?format=html`,
      headers: bearer(officer),
    });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body.match(/<svg/g)?.length).toBeGreaterThanOrEqual(4);
    expect(page.body).toContain(created.reportHash);
    const check = await gw.app.inject({
      method: 'GET',
      url: `/v1/valuations/${created.valuationId}/check`,
      headers: bearer(officer),
    });
    expect(check.json()).toMatchObject({ isIntact: true, isCurrentOnChain: true, onChainRevision: 1 });
    const audit = await gw.ctx.consent.listAudit({ afterSeq: 0, limit: 1000 });
    expect(audit.some((e) => e.kind === 'valuation' && e.refs.includes(created.valuationId))).toBe(true);

    const second = (await create(steward, automotivePackage({ monteCarlo: { draws: 500, seed: 43 } }))).json();
    expect(second.anchor).toMatchObject({ revision: 2 });
    const list = await gw.app.inject({
      method: 'GET',
      url: '/v1/packages/automotive-behaviour/valuations',
      headers: bearer(officer),
    });
    expect(
      list
        .json()
        .valuations.map((v: { valuationId: string }) => v.valuationId)
        .sort(),
    ).toEqual([created.valuationId, second.valuationId].sort());
    // The first is intact but no longer the registry's current revision.
    const older = await gw.app.inject({
      method: 'GET',
      url: `/v1/valuations/${created.valuationId}/check`,
      headers: bearer(officer),
    });
    expect(older.json()).toMatchObject({ isIntact: true, isCurrentOnChain: false, onChainRevision: 2 });

    // One byte of the stored report changed: it no longer hashes to what was anchored.
    await gw.ctx.db.transaction((tx) =>
      tx.run(`UPDATE valuations SET report = replace(report, '"draws":500', '"draws":501') WHERE valuation_id = $1`, [
        second.valuationId,
      ]),
    );
    const tampered = await gw.app.inject({
      method: 'GET',
      url: `/v1/valuations/${second.valuationId}/check`,
      headers: bearer(officer),
    });
    expect(tampered.json()).toMatchObject({ isIntact: false, isCurrentOnChain: false });
  }, 60_000);

  it('the CLI prints the list and a summary table from the API', async () => {
    const created = (await create(steward, automotivePackage({ monteCarlo: { draws: 300, seed: 9 } }))).json();
    // The gateway's API through inject, as fetch would reach it.
    const viaInject = (async (url: string, init: RequestInit) => {
      const { pathname, search } = new URL(url);
      const res = await gw.app.inject({
        method: 'GET',
        url: `${pathname}${search}`,
        headers: init.headers as Record<string, string>,
      });
      return new Response(res.body, { status: res.statusCode, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    const out: string[] = [];
    const io = { stdout: (l: string) => out.push(l), stderr: (l: string) => out.push(`ERR ${l}`) };
    const options = { url: 'http://gateway', token: officer, io, fetch: viaInject };
    expect(await showValuation(created.valuationId, options)).toBe(0);
    expect(out.join('\n')).toMatch(/NPV P5 \/ P50 \/ P95\s+-?[\d,]+ \/ -?[\d,]+ \/ -?[\d,]+/);
    expect(out.join('\n')).toContain('Shapley: Purchase intent');
    out.length = 0;
    expect(await listValuations('automotive-behaviour', options)).toBe(0);
    expect(out[0]).toMatch(/^VALUATION\s+CREATED\s+ANCHOR\s+REPORT HASH$/);
    expect(out.some((l) => l.startsWith(created.valuationId))).toBe(true);
    out.length = 0;
    expect(await listValuations('never-valued', options)).toBe(1);
    expect(out[0]).toContain('404 NOT_FOUND');
  });

  it('refuses malformed, unknown and unauthorized requests with problem+json', async () => {
    const bad = await create(steward, { ...small(), horizon: { periods: 0, periodsPerYear: 12 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toContain('application/problem+json');
    expect(bad.json()).toMatchObject({ code: 'BAD_INPUT' });
    expect((await create(steward, [1, 2])).statusCode).toBe(400);
    expect((await create(officer, small())).statusCode).toBe(403);
    const unknown = await gw.app.inject({
      method: 'GET',
      url: '/v1/valuations/00000000-0000-4000-8000-000000000000',
      headers: bearer(officer),
    });
    expect(unknown.statusCode).toBe(404);
    expect(
      (await gw.app.inject({ method: 'GET', url: '/v1/valuations/nope', headers: bearer(officer) })).statusCode,
    ).toBe(400);
    const huge = await create(steward, { ...small(), padding: 'x'.repeat(2 * 1024 * 1024) });
    expect(huge.statusCode).toBe(413);
  });
});
