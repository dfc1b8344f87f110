// Orders and compute-to-data deliveries over HTTP (docs/exchange.md): the dealer binds the automotive behaviour package
// to its view, states its consent basis, lists it and puts an offer on it; a battery maker orders it for a purpose its
// subjects consented to and runs deliveries. Refusals (role, purpose, delegation, algorithm, output, quota) carry
// stable codes and leave nothing; withdrawals shrink the basis past its threshold, flag the listing, revalue the
// package, and leave the withdrawn subjects out of the next delivery; every use traces back to each subject's consent.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { grantBody } from '../fixtures/consent-bodies.ts';
import { call, removeDataDir, restartJobGateway, startJobGateway, type JobGateway } from '../mpc/jobs/job-fixture.ts';
import { automotivePackage } from '../valuation/automotive-package.ts';
import { automotiveListing } from './listing-fixture.ts';
import { BEHAVIOUR_VIEW, behaviourCsv, behaviourRows, idOf } from './behaviour-rows.ts';

const PURPOSE = 'charging-demand-forecast';
const PACKAGE = 'automotive-behaviour';
const FIELDS = ['region_code', 'purchase_intent', 'nev_acceptance', 'financing_preference'];
const SUBJECTS = 300;
/** The last ten subjects never consent; the first ten withdraw mid-test. */
const NEVER = new Set(Array.from({ length: 10 }, (_, i) => idOf(SUBJECTS - 1 - i)));
const WITHDRAWING = Array.from({ length: 10 }, (_, i) => idOf(i));

/** Four regions; R04 has five subjects, under the purpose's k = 10. */
const ROWS = behaviourRows(SUBJECTS, (i) => (i % 60 === 7 ? 'R04' : `R0${1 + (i % 3)}`));

let gw: JobGateway;
let buyerToken: string;
let otherBuyerToken: string;
let exchangeToken: string;
let officerToken: string;
const recordOf = new Map<string, string>();
let listingId: string;
let listingHash: string;
let offerId: string;
let termsHash: string;

type Reply = { status: number; body: Record<string, unknown> };
const as = (token: string, method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown): Promise<Reply> =>
  call({ gw, method, url, token, ...(payload === undefined ? {} : { payload }) });

async function settledDelivery(deliveryId: string): Promise<Record<string, unknown>> {
  await gw.ctx.deliveries.settled(deliveryId);
  const res = await as(buyerToken, 'GET', `/v1/deliveries/${deliveryId}`);
  expect(res.status).toBe(200);
  return res.body;
}

/** The aggregates computed straight from the rows, for the subjects with consent in force. */
function expectedAggregates(excluded: ReadonlySet<string>) {
  const groups = new Map<string, number[]>();
  for (const r of ROWS) {
    if (excluded.has(r.id)) continue;
    groups.set(r.region, [...(groups.get(r.region) ?? []), r.nev]);
  }
  return [...groups.entries()]
    .filter(([, v]) => v.length >= 10)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([segment, v]) => {
      const mean = v.reduce((a, x) => a + x, 0) / v.length;
      return { segment, subjects: v.length, mean };
    });
}

beforeAll(async () => {
  gw = await startJobGateway('dealer-4s');
  buyerToken = (await gw.ctx.tokens.createToken('buyer', 'battery-maker')).token;
  otherBuyerToken = (await gw.ctx.tokens.createToken('buyer', 'battery-maker')).token;
  exchangeToken = (await gw.ctx.tokens.createToken('exchange', 'test')).token;
  officerToken = (await gw.ctx.tokens.createToken('compliance-officer', 'test')).token;

  writeFileSync(join(gw.ctx.connectors.importRoots[0] as string, 'behaviour.csv'), behaviourCsv(ROWS));
  const view = await as(gw.stewardToken, 'POST', '/v1/connectors/views', BEHAVIOUR_VIEW);
  expect(view.status, JSON.stringify(view.body)).toBe(201);

  const consenting = ROWS.filter((r) => !NEVER.has(r.id));
  for (let i = 0; i < consenting.length; i += 50) {
    await Promise.all(
      consenting.slice(i, i + 50).map(async (r) => {
        const res = await as(
          gw.collectorToken,
          'POST',
          '/v1/consents',
          grantBody(r.id, {
            recipients: [{ id: 'battery-maker', role: 'third-party' }],
            purposes: [{ purpose: PURPOSE, legalBasis: 'dpv:Consent' }],
            minimization: { fieldAllowlist: FIELDS, precision: {}, localOnly: false, crossBorder: false },
          }),
        );
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        recordOf.set(r.id, String((res.body.record as { recordId: string }).recordId));
      }),
    );
  }
}, 120_000);

afterAll(async () => {
  await gw?.stop();
  if (gw !== undefined) removeDataDir(gw);
});

describe('listing a package with its computed consent basis', () => {
  it('binds the package to its view, states its basis, lists it, values it and offers it', async () => {
    expect(
      (await as(gw.stewardToken, 'PUT', `/v1/packages/${PACKAGE}/source`, { view: 'behaviour', fields: ['nope'] })).body
        .code,
    ).toBe('BAD_INPUT');
    const bound = await as(gw.stewardToken, 'PUT', `/v1/packages/${PACKAGE}/source`, {
      view: 'behaviour',
      fields: FIELDS,
      shrinkThreshold: 0.02,
    });
    expect(bound.status, JSON.stringify(bound.body)).toBe(200);
    // Only the seller's steward binds sources.
    expect((await as(buyerToken, 'GET', `/v1/packages/${PACKAGE}/source`)).status).toBe(403);

    const basis = await as(gw.stewardToken, 'GET', `/v1/packages/${PACKAGE}/consent-basis?purpose=${PURPOSE}`);
    expect(basis.body).toMatchObject({ records: 290, subjects: 290, purposes: [PURPOSE] });

    const content = automotiveListing({
      consentBasis: { ...(basis.body as { root: string; records: number; subjects: number }), purposes: [PURPOSE] },
      delivery: { modes: ['compute-to-data'], algorithms: ['segment-aggregates', 'train-model', 'score-own-subjects'] },
    });
    // A listing whose stated basis is not the package's is not approved, so never anchored.
    const inflated = await as(gw.stewardToken, 'POST', '/v1/listings', {
      ...content,
      consentBasis: { ...content.consentBasis, records: 2_900, subjects: 2_900 },
    });
    await as(gw.stewardToken, 'POST', `/v1/listings/${String(inflated.body.listingId)}/submit`, {});
    const refused = await as(exchangeToken, 'POST', `/v1/listings/${String(inflated.body.listingId)}/approve`, {});
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'CONFLICT', context: { computed: { subjects: 290, records: 290 } } });
    expect((await as(exchangeToken, 'GET', `/v1/listings/${String(inflated.body.listingId)}`)).body.state).toBe(
      'in-review',
    );

    const created = await as(gw.stewardToken, 'POST', '/v1/listings', content);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    listingId = String(created.body.listingId);
    listingHash = String(created.body.contentHash);
    await as(gw.stewardToken, 'POST', `/v1/listings/${listingId}/submit`, {});
    expect((await as(exchangeToken, 'POST', `/v1/listings/${listingId}/approve`, {})).body.state).toBe('listed');

    const input = automotivePackage();
    const valued = await as(gw.stewardToken, 'POST', '/v1/valuations', {
      ...input,
      package: {
        ...input.package,
        coverage: { subjects: 290 },
        consentBasis: { root: basis.body.root, records: 290, subjects: 290 },
      },
    });
    expect(valued.status, JSON.stringify(valued.body)).toBe(201);

    const offer = await as(gw.stewardToken, 'POST', `/v1/listings/${listingId}/offers`, {
      terms: {
        kind: 'tiers',
        tiers: [
          { name: 'trial', price: { amount: 1_000, currency: 'CNY' }, quota: { jobs: 1, subjectsTouched: 100 } },
          { name: 'standard', price: { amount: 50_000, currency: 'CNY' }, quota: { jobs: 4, subjectsTouched: 2_000 } },
        ],
      },
      validUntil: '2099-01-01T00:00:00.000Z',
    });
    expect(offer.status, JSON.stringify(offer.body)).toBe(201);
    offerId = String(offer.body.offerId);
    termsHash = String(offer.body.termsHash);
  });
});

let orderId: string;
const order = (overrides: Record<string, unknown> = {}) => ({
  offerId,
  tier: 'standard',
  purpose: PURPOSE,
  accepted: { listingHash, termsHash },
  ...overrides,
});

describe('orders', () => {
  it('are placed by buyers only, for a purpose of the basis, on the terms read, under a delegation', async () => {
    for (const token of [gw.stewardToken, gw.collectorToken, exchangeToken])
      expect((await as(token, 'POST', '/v1/orders', order())).body.code).toBe('FORBIDDEN');
    const unnamed = (await gw.ctx.tokens.createToken('buyer', 'a buyer without an id')).token;
    expect((await as(unnamed, 'POST', '/v1/orders', order())).body.code).toBe('FORBIDDEN');

    const wrongPurpose = await as(buyerToken, 'POST', '/v1/orders', order({ purpose: 'marketing' }));
    expect(wrongPurpose.status).toBe(403);
    expect(wrongPurpose.body).toMatchObject({
      code: 'CONSENT_DENIED',
      context: { reason: 'PURPOSE_NOT_IN_BASIS', purposes: [PURPOSE] },
    });
    const stale = await as(
      buyerToken,
      'POST',
      '/v1/orders',
      order({ accepted: { listingHash, termsHash: 'f'.repeat(64) } }),
    );
    expect(stale.body.code).toBe('CONFLICT');
    expect((await as(buyerToken, 'POST', '/v1/orders', order({ tier: 'gold' }))).body.code).toBe('BAD_INPUT');
    expect((await as(buyerToken, 'POST', '/v1/orders', order({ algorithms: ['lift-certificate'] }))).body.code).toBe(
      'ALGORITHM_NOT_ALLOWED',
    );

    // No delegation from the dealer to the battery maker yet: the refusal names it.
    const undelegated = await as(buyerToken, 'POST', '/v1/orders', order());
    expect(undelegated.status).toBe(403);
    expect(undelegated.body).toMatchObject({ code: 'CONSENT_DENIED', context: { reason: 'NO_DELEGATION' } });
    expect(String((undelegated.body.context as { missingBasis: string }).missingBasis)).toContain(
      'no delegation in force from dealer-4s to battery-maker',
    );

    const delegated = await as(gw.stewardToken, 'POST', '/v1/delegations', {
      partner: 'battery-maker',
      purposes: [PURPOSE],
      fieldAllowlist: FIELDS,
      expiresAt: '2030-01-01T00:00:00.000Z',
    });
    expect(delegated.status, JSON.stringify(delegated.body)).toBe(201);
    const placed = await as(buyerToken, 'POST', '/v1/orders', order());
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    expect(placed.body).toMatchObject({
      buyer: 'battery-maker',
      tier: 'standard',
      price: { amount: 50_000, currency: 'CNY' },
      quota: { jobs: 4, subjectsTouched: 2_000 },
      remaining: { jobs: 4, subjectsTouched: 2_000 },
      algorithms: ['segment-aggregates', 'train-model', 'score-own-subjects'],
      listingFlag: null,
    });
    orderId = String(placed.body.orderId);
    // Another buyer token does not see it; the seller's side does.
    expect((await as(otherBuyerToken, 'GET', `/v1/orders/${orderId}`)).status).toBe(404);
    expect((await as(officerToken, 'GET', `/v1/orders/${orderId}`)).status).toBe(200);
  });
});

describe('deliveries', () => {
  it('refuse a disallowed algorithm and a row-level output with stable codes, audited, nothing counted', async () => {
    const exported = await as(buyerToken, 'POST', `/v1/orders/${orderId}/deliveries`, { algorithm: 'export-rows' });
    expect(exported.status).toBe(403);
    expect(exported.body.code).toBe('ALGORITHM_NOT_ALLOWED');
    const rows = await as(buyerToken, 'POST', `/v1/orders/${orderId}/deliveries`, {
      algorithm: 'segment-aggregates',
      segment: 'region_code',
      measures: ['nev_acceptance'],
      outputs: ['rows'],
    });
    expect(rows.status).toBe(403);
    expect(rows.body).toMatchObject({ code: 'OUTPUT_REFUSED', context: { output: 'rows' } });
    expect(String((rows.body.context as { rule: string }).rule)).toContain('never');
    const audit = await gw.ctx.consent.listAudit({ kind: 'exchange', limit: 1000 });
    const refusals = audit.filter((e) => e.action === 'delivery-refuse' && e.refs.includes(orderId));
    expect(refusals.map((e) => e.detail.code)).toEqual(['ALGORITHM_NOT_ALLOWED', 'OUTPUT_REFUSED']);
    expect((await as(buyerToken, 'GET', `/v1/orders/${orderId}`)).body.remaining).toEqual({
      jobs: 4,
      subjectsTouched: 2_000,
    });
    expect((await as(buyerToken, 'GET', `/v1/orders/${orderId}/deliveries`)).body.deliveries).toEqual([]);
  });

  it('aggregates by segment over consenting subjects, groups under k withheld', async () => {
    const started = await as(buyerToken, 'POST', `/v1/orders/${orderId}/deliveries`, {
      algorithm: 'segment-aggregates',
      segment: 'region_code',
      measures: ['nev_acceptance'],
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const done = await settledDelivery(String(started.body.deliveryId));
    expect(done, JSON.stringify(done.failure)).toMatchObject({ state: 'completed', subjectsTouched: 290 });
    const { aggregates } = done.result as {
      aggregates: { groups: { segment: string; subjects: number; measures: Record<string, { mean: number }> }[] };
    };
    const expected = expectedAggregates(NEVER);
    expect(aggregates.groups.map((g) => g.segment)).toEqual(expected.map((g) => g.segment));
    expect(aggregates).toMatchObject({ k: 10, suppressedGroups: 1 });
    aggregates.groups.forEach((g, i) => {
      expect(g.subjects).toBe(expected[i]!.subjects);
      expect(g.measures.nev_acceptance!.mean).toBeCloseTo(expected[i]!.mean, 9);
    });
  });

  let modelDelivery: string;
  it('trains a model where the data lives and returns its weights and held-out metrics only', async () => {
    const started = await as(buyerToken, 'POST', `/v1/orders/${orderId}/deliveries`, {
      algorithm: 'train-model',
      model: 'logistic',
      label: 'purchase_intent',
      features: ['nev_acceptance', 'financing_preference'],
      epochs: 200,
      batchSize: 64,
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    modelDelivery = String(started.body.deliveryId);
    const done = await settledDelivery(modelDelivery);
    expect(done.state, JSON.stringify(done.failure)).toBe('completed');
    const { model } = done.result as {
      model: { weights: { feature: string; weight: number }[]; metrics: { auc: number }; rows: { train: number } };
    };
    expect(Object.keys(done.result as object)).toEqual(['model']);
    // The generator: intent rises with NEV acceptance (twice as strongly) and with financing preference.
    const [nev, fin] = model.weights;
    expect(nev!.weight).toBeGreaterThan(fin!.weight);
    expect(fin!.weight).toBeGreaterThan(0);
    expect(model.metrics.auc).toBeGreaterThan(0.85);
    expect(model.rows.train).toBeGreaterThan(200);
  });

  it('flags and revalues the listing when withdrawals shrink its basis past the threshold; the next delivery leaves them out', async () => {
    for (const id of WITHDRAWING) {
      const res = await as(gw.collectorToken, 'POST', `/v1/consents/${recordOf.get(id)}/withdraw`, {});
      expect(res.status).toBe(200);
    }
    // A buyer cannot trigger a check; the exchange can.
    expect((await as(buyerToken, 'POST', `/v1/listings/${listingId}/consent-basis`)).status).toBe(403);
    const check = await as(exchangeToken, 'POST', `/v1/listings/${listingId}/consent-basis`);
    expect(check.status, JSON.stringify(check.body)).toBe(200);
    expect(check.body).toMatchObject({
      flagged: true,
      listedSubjects: 290,
      basis: { subjects: 280, records: 280 },
      threshold: 0.02,
    });
    expect(check.body.shrink).toBeCloseTo(10 / 290, 12);
    expect(check.body.valuationId).toEqual(expect.any(String));

    // The buyer sees the flag on the listing and on its order.
    const listing = await as(buyerToken, 'GET', `/v1/listings/${listingId}`);
    expect(listing.body.basisFlag).toMatchObject({ flagged: true, seq: check.body.seq });
    expect((await as(buyerToken, 'GET', `/v1/orders/${orderId}`)).body.listingFlag).toMatchObject({ flagged: true });

    // The new valuation: the shrunken basis, and each segment's decisions scaled by 280 / 290.
    const revalued = await gw.ctx.valuations.get(String(check.body.valuationId));
    const input = revalued.input as {
      package: { consentBasis: { subjects: number; root: string } };
      segments: { decisionsPerPeriod: unknown }[];
    };
    expect(input.package.consentBasis).toEqual(check.body.basis);
    expect(input.segments[0]!.decisionsPerPeriod).toBeCloseTo(40 * (280 / 290), 9);
    expect(revalued.createdBy).toBe('system:consent-basis');

    // The same basis checked again changes nothing and values nothing again.
    const again = await as(gw.stewardToken, 'POST', `/v1/listings/${listingId}/consent-basis`);
    expect(again.body).toMatchObject({ flagged: true, valuationId: null, basis: check.body.basis });

    const started = await as(buyerToken, 'POST', `/v1/orders/${orderId}/deliveries`, {
      algorithm: 'segment-aggregates',
      segment: 'region_code',
      measures: ['nev_acceptance'],
    });
    const done = await settledDelivery(String(started.body.deliveryId));
    expect(done).toMatchObject({ state: 'completed', subjectsTouched: 280, consentBasis: { subjects: 280 } });
    const expected = expectedAggregates(new Set([...NEVER, ...WITHDRAWING]));
    const groups = (done.result as { aggregates: { groups: { subjects: number }[] } }).aggregates.groups;
    expect(groups.map((g) => g.subjects)).toEqual(expected.map((g) => g.subjects));

    // The trace: the delivery's consent records are exactly the records still in force, none withdrawn.
    const consents = await as(
      officerToken,
      'GET',
      `/v1/deliveries/${String(started.body.deliveryId)}/consents?limit=1000`,
    );
    const ids = (consents.body.records as { recordId: string }[]).map((r) => r.recordId);
    const inForce = ROWS.filter((r) => !NEVER.has(r.id) && !WITHDRAWING.includes(r.id)).map((r) => recordOf.get(r.id));
    expect(ids.sort()).toEqual([...inForce].sort());
    expect((await as(buyerToken, 'GET', `/v1/deliveries/${String(started.body.deliveryId)}/consents`)).status).toBe(
      403,
    );
    // Each record is one the compliance officer can read, with its subject's pseudonym.
    const record = await as(officerToken, 'GET', `/v1/consents/${ids[0]}`);
    expect(record.status).toBe(200);
    const audit = await gw.ctx.consent.listAudit({ kind: 'exchange', limit: 1000 });
    const uses = audit.filter((e) => e.refs.includes(String(started.body.deliveryId)));
    expect(uses.map((e) => e.action)).toEqual(['delivery-start', 'delivery-complete']);
    expect(uses[1]!.refs).toEqual([String(started.body.deliveryId), orderId, listingId]);
    expect(uses[1]!.detail).toMatchObject({
      consentRoot: done.consentBasis && (done.consentBasis as { root: string }).root,
    });
  });

  it("scores the buyer's own subjects only, keyed by its own identifiers", async () => {
    const sent = [idOf(20), idOf(21), idOf(22), WITHDRAWING[0]!, [...NEVER][0]!, 'someone-else'];
    const started = await as(buyerToken, 'POST', `/v1/orders/${orderId}/deliveries`, {
      algorithm: 'score-own-subjects',
      modelDelivery,
      subjects: sent,
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const done = await settledDelivery(String(started.body.deliveryId));
    expect(done, JSON.stringify(done.failure)).toMatchObject({ state: 'completed', subjectsTouched: 3 });
    const result = done.result as { scores: { subject: string; score: number }[]; sent: number; scored: number };
    expect(result.scores.map((s) => s.subject).sort()).toEqual([idOf(20), idOf(21), idOf(22)]);
    expect(result).toMatchObject({ sent: 6, scored: 3 });
    // Each score is the trained model applied to that subject's row, computed here from the model's weights.
    const trained = (await settledDelivery(modelDelivery)).result as {
      model: { weights: { feature: string; weight: number; mean: number; scale: number }[]; intercept: number };
    };
    for (const s of result.scores) {
      const row = ROWS.find((r) => r.id === s.subject)!;
      const values: Record<string, number> = { nev_acceptance: row.nev, financing_preference: row.fin };
      const z = trained.model.weights.reduce(
        (sum, w) => sum + w.weight * Math.max(-4, Math.min(4, (values[w.feature]! - w.mean) / w.scale)),
        trained.model.intercept,
      );
      expect(s.score).toBeCloseTo(1 / (1 + Math.exp(-z)), 12);
    }
  });

  it('refuses a job over the quota, with nothing run', async () => {
    const over = await as(buyerToken, 'POST', `/v1/orders/${orderId}/deliveries`, {
      algorithm: 'segment-aggregates',
      segment: 'region_code',
      measures: ['nev_acceptance'],
    });
    expect(over.status).toBe(403);
    expect(over.body).toMatchObject({ code: 'QUOTA_EXCEEDED', context: { quota: 'jobs' } });
    const now = await as(buyerToken, 'GET', `/v1/orders/${orderId}`);
    expect(now.body.remaining).toEqual({ jobs: 0, subjectsTouched: 2_000 - 290 - 290 - 280 - 3 });

    // A trial order touches at most 100 subjects: its delivery is refused after the consent filter, its job given back.
    const trial = await as(buyerToken, 'POST', '/v1/orders', order({ tier: 'trial' }));
    expect(trial.status, JSON.stringify(trial.body)).toBe(201);
    const started = await as(buyerToken, 'POST', `/v1/orders/${String(trial.body.orderId)}/deliveries`, {
      algorithm: 'segment-aggregates',
      segment: 'region_code',
      measures: ['nev_acceptance'],
    });
    const refused = await settledDelivery(String(started.body.deliveryId));
    expect(refused).toMatchObject({
      state: 'refused',
      result: null,
      failure: { code: 'QUOTA_EXCEEDED' },
      subjectsTouched: null,
    });
    expect((await as(buyerToken, 'GET', `/v1/orders/${String(trial.body.orderId)}`)).body.remaining).toEqual({
      jobs: 1,
      subjectsTouched: 100,
    });
  });
});

describe('a delivery a stop interrupted', () => {
  it('runs again at the next start and counts its job and subjects once', async () => {
    const placed = await as(buyerToken, 'POST', '/v1/orders', order());
    const id = String(placed.body.orderId);
    // The stop comes after the delivery counted its subjects and before it read a row: reading never returns.
    let reachedRead!: () => void;
    const isReading = new Promise<void>((resolve) => (reachedRead = resolve));
    vi.spyOn(gw.ctx.connectors.reader, 'readViewColumns').mockImplementation(() => {
      reachedRead();
      return new Promise(() => undefined);
    });
    const started = await as(buyerToken, 'POST', `/v1/orders/${id}/deliveries`, {
      algorithm: 'train-model',
      model: 'linear',
      label: 'nev_acceptance',
      features: ['financing_preference', 'purchase_intent'],
    });
    expect(started.status).toBe(202);
    await isReading;
    expect((await as(buyerToken, 'GET', `/v1/orders/${id}`)).body.used).toEqual({ jobs: 1, subjectsTouched: 280 });
    gw = await restartJobGateway(gw);
    const done = await settledDelivery(String(started.body.deliveryId));
    expect(done.state, JSON.stringify(done.failure)).toBe('completed');
    expect(gw.log.text()).toContain('an interrupted delivery runs again');
    const after = await as(buyerToken, 'GET', `/v1/orders/${id}`);
    expect(after.body.used).toEqual({ jobs: 1, subjectsTouched: 280 });
    const audit = await gw.ctx.consent.listAudit({ kind: 'exchange', limit: 1000 });
    expect(audit.filter((e) => e.refs.includes(String(started.body.deliveryId))).map((e) => e.action)).toEqual([
      'delivery-start',
      'delivery-complete',
    ]);
  });

  it('writes at the next start an end the audit chain missed, once', async () => {
    const [done] = (await as(buyerToken, 'GET', `/v1/orders/${orderId}/deliveries`)).body.deliveries as {
      deliveryId: string;
    }[];
    const id = done!.deliveryId;
    const ends = async () =>
      (await gw.ctx.consent.listAudit({ kind: 'exchange', limit: 1000 })).filter(
        (e) => e.refs.includes(id) && e.action === 'delivery-complete',
      ).length;
    expect(await ends()).toBe(1);
    // As a stop between the end's commit and its audit entry leaves it.
    await gw.ctx.db.transaction((tx) =>
      tx.run('UPDATE deliveries SET end_audited = false WHERE delivery_id = $1', [id]),
    );
    gw = await restartJobGateway(gw);
    await expect.poll(ends, { timeout: 10_000 }).toBe(2);
    gw = await restartJobGateway(gw);
    // Marked as written: recovering again writes nothing more.
    await gw.ctx.deliveries.recover();
    expect(await ends()).toBe(2);
  });
});
