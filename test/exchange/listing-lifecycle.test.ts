// The listing lifecycle over HTTP (docs/exchange.md): the seller's steward writes and submits, the exchange approves,
// the approval anchors the listed revision's hash and consent root in the package registry; each role may take only
// its steps; a buyer sees listed listings only; every revision and step is kept; search filters and pages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalHash } from '../../consent/canonical.ts';
import { gatewayIdToBytes32 } from '../../contracts/ledger-values.ts';
import { bearer, makeTestGateway, type TestGateway } from '../fixtures/gateway-fixture.ts';
import { automotiveListing } from './listing-fixture.ts';
import jsonld from 'jsonld';
import { automotivePackage } from '../valuation/automotive-package.ts';

let gw: TestGateway;
const tokens: Record<string, string> = {};
beforeAll(async () => {
  gw = await makeTestGateway({ SEALGATE_LEDGER: 'local', SEALGATE_PARTY_ID: 'dealer-4s' });
  for (const role of ['data-steward', 'exchange', 'buyer', 'collector', 'compliance-officer', 'admin'] as const)
    tokens[role] = await gw.tokenFor(role);
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

type Reply = { status: number; body: Record<string, unknown> };
async function as(role: string, method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown): Promise<Reply> {
  const res = await gw.app.inject({
    method,
    url,
    headers: bearer(tokens[role]!),
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  return { status: res.statusCode, body: res.json() as Record<string, unknown> };
}

describe('the listing lifecycle', () => {
  it('draft → in review → listed, anchored; each step by its role only; a buyer sees it once listed', async () => {
    for (const role of ['collector', 'exchange', 'buyer', 'admin']) {
      const refused = await as(role, 'POST', '/v1/listings', automotiveListing());
      expect([role, refused.status, refused.body.code]).toEqual([role, 403, 'FORBIDDEN']);
    }
    const created = await as('data-steward', 'POST', '/v1/listings', automotiveListing());
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = String(created.body.listingId);
    expect(created.body).toMatchObject({
      state: 'draft',
      revision: 1,
      registrationNo: expect.stringMatching(/^SG-dealer-4s-/),
    });

    // A buyer does not see a draft, not even that it exists.
    expect((await as('buyer', 'GET', `/v1/listings/${id}`)).status).toBe(404);
    // The seller cannot approve its own listing; the exchange cannot submit one.
    expect((await as('data-steward', 'POST', `/v1/listings/${id}/approve`, {})).body.code).toBe('FORBIDDEN');
    expect((await as('exchange', 'POST', `/v1/listings/${id}/submit`, {})).body.code).toBe('FORBIDDEN');
    expect((await as('exchange', 'POST', `/v1/listings/${id}/approve`, {})).body.code).toBe('CONFLICT');

    expect((await as('data-steward', 'POST', `/v1/listings/${id}/submit`, {})).body.state).toBe('in-review');
    const approved = await as('exchange', 'POST', `/v1/listings/${id}/approve`, { reason: 'reviewed' });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body).toMatchObject({
      state: 'listed',
      anchorError: null,
      anchor: { revision: 1, listingRevision: 1 },
    });

    // On chain: the listed revision's hash and its consent root.
    const onChain = await gw.ctx.ledger.ledger!.client.getPackage(gatewayIdToBytes32('automotive-behaviour'));
    expect(onChain).toMatchObject({
      listingHash: `0x${canonicalHash((approved.body as { content: unknown }).content)}`,
      consentBasisRoot: `0x${'ab'.repeat(32)}`,
    });
    expect(approved.body.contentHash).toBe(canonicalHash((approved.body as { content: unknown }).content));

    expect((await as('buyer', 'GET', `/v1/listings/${id}/check`)).body).toMatchObject({
      anchoredRevision: 1,
      isIntact: true,
      isCurrentOnChain: true,
    });
    // A valuation of the package is a new revision on chain, and keeps the listed revision's hash.
    const valuation = await gw.app.inject({
      method: 'POST',
      url: '/v1/valuations',
      headers: bearer(tokens['data-steward']!),
      payload: automotivePackage({ monteCarlo: { draws: 200, seed: 5 } }) as object,
    });
    expect(valuation.json()).toMatchObject({ anchor: { revision: 2 } });
    expect((await as('exchange', 'GET', `/v1/listings/${id}/check`)).body.isCurrentOnChain).toBe(true);
    // One byte of the stored revision changed: it no longer hashes to what was anchored.
    await gw.ctx.db.transaction((tx) =>
      tx.run(`UPDATE listing_revisions SET content = replace(content, 'Regional', 'Regionai') WHERE listing_id = $1`, [
        id,
      ]),
    );
    expect((await as('exchange', 'GET', `/v1/listings/${id}/check`)).body).toMatchObject({
      isIntact: false,
      isCurrentOnChain: false,
    });
    await gw.ctx.db.transaction((tx) =>
      tx.run(`UPDATE listing_revisions SET content = replace(content, 'Regionai', 'Regional') WHERE listing_id = $1`, [
        id,
      ]),
    );

    const seen = await as('buyer', 'GET', `/v1/listings/${id}`);
    expect([seen.status, seen.body.state]).toEqual([200, 'listed']);
    // Content is frozen while listed.
    expect((await as('data-steward', 'PUT', `/v1/listings/${id}`, automotiveListing())).body.code).toBe('CONFLICT');
  }, 60_000);

  it('a suspended listing is revised as a new revision and reviewed again; every revision and step is kept', async () => {
    const id = String((await as('data-steward', 'POST', '/v1/listings', automotiveListing())).body.listingId);
    await as('data-steward', 'POST', `/v1/listings/${id}/submit`, {});
    await as('exchange', 'POST', `/v1/listings/${id}/approve`, {});
    expect((await as('exchange', 'POST', `/v1/listings/${id}/suspend`, { reason: 'quality check' })).body.state).toBe(
      'suspended',
    );
    expect((await as('buyer', 'GET', `/v1/listings/${id}`)).status).toBe(404);
    const revised = await as('data-steward', 'PUT', `/v1/listings/${id}`, automotiveListing({ summary: 'Refreshed.' }));
    expect(revised.body).toMatchObject({ state: 'draft', revision: 2 });
    await as('data-steward', 'POST', `/v1/listings/${id}/submit`, {});
    expect((await as('exchange', 'POST', `/v1/listings/${id}/approve`, {})).body).toMatchObject({
      state: 'listed',
      anchor: { listingRevision: 2 },
    });
    const revisions = (await as('compliance-officer', 'GET', `/v1/listings/${id}/revisions`)).body.revisions as {
      revision: number;
      contentHash: string;
    }[];
    expect(revisions.map((r) => r.revision)).toEqual([1, 2]);
    expect(new Set(revisions.map((r) => r.contentHash)).size).toBe(2);
    const history = (await as('compliance-officer', 'GET', `/v1/listings/${id}/history`)).body.history as {
      step: string;
      to: string;
      role: string;
      reason: string | null;
    }[];
    expect(history.map((h) => [h.step, h.to, h.role])).toEqual([
      ['create', 'draft', 'data-steward'],
      ['submit', 'in-review', 'data-steward'],
      ['approve', 'listed', 'exchange'],
      ['suspend', 'suspended', 'exchange'],
      ['revise', 'draft', 'data-steward'],
      ['submit', 'in-review', 'data-steward'],
      ['approve', 'listed', 'exchange'],
    ]);
    expect(history[3]!.reason).toBe('quality check');
    const audit = await gw.ctx.consent.listAudit({ afterSeq: 0, limit: 1000 });
    expect(audit.filter((e) => e.kind === 'exchange' && e.refs.includes(id)).map((e) => e.action)).toEqual([
      'listing-create',
      'listing-submit',
      'listing-approve',
      'listing-suspend',
      'listing-revise',
      'listing-submit',
      'listing-approve',
    ]);
    expect((await as('data-steward', 'POST', `/v1/listings/${id}/delist`, {})).body.state).toBe('delisted');
    expect((await as('exchange', 'POST', `/v1/listings/${id}/reinstate`, {})).body.code).toBe('CONFLICT');
  }, 60_000);

  it('refuses content that is not a listing, or a preview of real rows', async () => {
    const bad = await as('data-steward', 'POST', '/v1/listings', { ...automotiveListing(), title: '' });
    expect([bad.status, bad.body.code]).toEqual([400, 'BAD_INPUT']);
    const smallGroup = automotiveListing({
      preview: { kind: 'aggregates', k: 50, rows: [{ region: 'island', subjects: 7 }] },
    });
    const refused = await as('data-steward', 'POST', '/v1/listings', smallGroup);
    expect([refused.status, JSON.stringify(refused.body)]).toEqual([400, expect.stringContaining('fewer than k = 50')]);
  });

  it('a buyer searches listed listings by dimension, purpose, licence, price and coverage, page by page', async () => {
    const list = async (role: string, query: string) => as(role, 'GET', `/v1/listings?${query}`);
    const mine = async (over: Parameters<typeof automotiveListing>[0]) => {
      const id = String((await as('data-steward', 'POST', '/v1/listings', automotiveListing(over))).body.listingId);
      await as('data-steward', 'POST', `/v1/listings/${id}/submit`, {});
      await as('exchange', 'POST', `/v1/listings/${id}/approve`, {});
      return id;
    };
    const cheap = await mine({ packageId: 'cheap-pack', indicativePrice: { amount: 1_000, currency: 'CNY' } });
    const exclusive = await mine({
      packageId: 'exclusive-pack',
      licence: { exclusivity: 'exclusive', territory: ['SG'], permittedUses: ['research'], endDate: '2027-06-30' },
    });
    const ids = (page: Reply) => (page.body.listings as { listingId: string }[]).map((l) => l.listingId);
    expect(ids(await list('buyer', 'maxPrice=5000'))).toEqual([cheap]);
    expect(ids(await list('buyer', 'exclusivity=exclusive&territory=SG'))).toEqual([exclusive]);
    expect(ids(await list('buyer', 'purpose=marketing'))).toEqual([]);
    const all = ids(await list('buyer', 'dimension=financing&purpose=credit-risk&minSubjects=1000000'));
    expect(all).toContain(cheap);
    // Every listing a buyer sees is listed; the seller's side sees drafts too.
    const states = (page: Reply) => new Set((page.body.listings as { state: string }[]).map((l) => l.state));
    expect([...states(await list('buyer', 'limit=200'))]).toEqual(['listed']);
    expect(states(await list('data-steward', 'limit=200')).has('delisted')).toBe(true);
    // Pages of one resume after the cursor and together hold every listed listing once.
    const seen: string[] = [];
    let after = '';
    for (;;) {
      const page = await list('buyer', `limit=1${after}`);
      seen.push(...ids(page));
      if (page.body.next === null || ids(page).length === 0) break;
      after = `&after=${String(page.body.next)}`;
    }
    expect(seen).toEqual(ids(await list('buyer', 'limit=200')));
  }, 60_000);

  it('renders a listed listing as DCAT-AP JSON-LD that expands with the required properties', async () => {
    const id = String((await as('data-steward', 'POST', '/v1/listings', automotiveListing())).body.listingId);
    await as('data-steward', 'POST', `/v1/listings/${id}/submit`, {});
    await as('exchange', 'POST', `/v1/listings/${id}/approve`, {});
    const res = await gw.app.inject({ method: 'GET', url: `/v1/listings/${id}/dcat`, headers: bearer(tokens.buyer!) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('application/ld+json');
    // Expanded by a JSON-LD processor: every term is a full IRI, so the checks read what any catalogue would.
    const [dataset] = (await jsonld.expand(res.json())) as Record<string, unknown>[];
    const DCAT = 'http://www.w3.org/ns/dcat#';
    const DCT = 'http://purl.org/dc/terms/';
    const values = (node: unknown, iri: string) => (node as Record<string, { '@value'?: unknown }[]>)[iri] ?? [];
    expect(dataset!['@type']).toEqual([`${DCAT}Dataset`]);
    // DCAT-AP 3 mandatory for a Dataset: title and description; recommended here: publisher, keyword, frequency.
    expect(values(dataset, `${DCT}title`)[0]!['@value']).toContain('Automotive behaviour');
    expect(values(dataset, `${DCT}description`)).toHaveLength(1);
    expect(values(dataset, `${DCT}publisher`)).toHaveLength(1);
    expect(values(dataset, `${DCAT}keyword`)).toHaveLength(3);
    expect(values(dataset, `${DCT}accrualPeriodicity`)).toEqual([
      { '@id': 'http://publications.europa.eu/resource/authority/frequency/MONTHLY' },
    ]);
    // A distribution has an access URL (mandatory); the six quality scores are DQV measurements.
    const [distribution] = values(dataset, `${DCAT}distribution`) as Record<string, unknown>[];
    expect(distribution!['@type']).toEqual([`${DCAT}Distribution`]);
    expect(values(distribution, `${DCAT}accessURL`)).toHaveLength(1);
    expect(values(dataset, 'http://www.w3.org/ns/dqv#hasQualityMeasurement')).toHaveLength(6);
    // A draft is not there for a buyer.
    const draft = String((await as('data-steward', 'POST', '/v1/listings', automotiveListing())).body.listingId);
    expect((await as('buyer', 'GET', `/v1/listings/${draft}/dcat`)).status).toBe(404);
  });

  it('offers: the seller puts terms on a listing and withdraws them; a buyer sees the standing ones only', async () => {
    const id = String((await as('data-steward', 'POST', '/v1/listings', automotiveListing())).body.listingId);
    const money = (amount: number) => ({ amount, currency: 'CNY' });
    const quota = (jobs: number) => ({ jobs, subjectsTouched: 10_000_000 });
    const terms = {
      kind: 'tiers',
      tiers: [
        { name: 'pilot', price: money(200_000), quota: quota(5) },
        { name: 'production', price: money(900_000), quota: quota(100) },
      ],
    };
    const offer = { terms, validUntil: '2099-12-31T00:00:00Z' };
    for (const role of ['exchange', 'buyer', 'admin'])
      expect((await as(role, 'POST', `/v1/listings/${id}/offers`, offer)).status).toBe(403);
    const created = await as('data-steward', 'POST', `/v1/listings/${id}/offers`, offer);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ state: 'active', termsHash: canonicalHash(terms) });
    const perJob = {
      terms: { kind: 'per-job', pricePerJob: money(5_000), quota: quota(50) },
      validUntil: offer.validUntil,
    };
    const second = await as('data-steward', 'POST', `/v1/listings/${id}/offers`, perJob);
    // Malformed terms: tiers that shrink, a currency that is not a code, a validity already past.
    const shrinking = { ...terms, tiers: [terms.tiers[1], terms.tiers[0]] };
    for (const bad of [
      { terms: shrinking, validUntil: offer.validUntil },
      {
        terms: { kind: 'fixed', price: { amount: 1, currency: 'yuan' }, quota: quota(1) },
        validUntil: offer.validUntil,
      },
    ])
      expect((await as('data-steward', 'POST', `/v1/listings/${id}/offers`, bad)).body.code).toBe('BAD_INPUT');
    const past = await as('data-steward', 'POST', `/v1/listings/${id}/offers`, {
      ...offer,
      validUntil: '2020-01-01T00:00:00Z',
    });
    expect(past.body.code).toBe('CONFLICT');

    // A buyer sees no offer of a draft; once listed, the standing ones only.
    expect((await as('buyer', 'GET', `/v1/listings/${id}/offers`)).status).toBe(404);
    await as('data-steward', 'POST', `/v1/listings/${id}/submit`, {});
    await as('exchange', 'POST', `/v1/listings/${id}/approve`, {});
    expect(
      (await as('data-steward', 'POST', `/v1/offers/${String(second.body.offerId)}/withdraw`, {})).body.state,
    ).toBe('withdrawn');
    expect((await as('data-steward', 'POST', `/v1/offers/${String(second.body.offerId)}/withdraw`, {})).body.code).toBe(
      'CONFLICT',
    );
    const seen = (await as('buyer', 'GET', `/v1/listings/${id}/offers`)).body.offers as { offerId: string }[];
    expect(seen.map((o) => o.offerId)).toEqual([created.body.offerId]);
    const all = (await as('data-steward', 'GET', `/v1/listings/${id}/offers`)).body.offers as { state: string }[];
    expect(all.map((o) => o.state)).toEqual(['active', 'withdrawn']);
  });
});
