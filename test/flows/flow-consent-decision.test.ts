// The main flow over the real HTTP surface (inject): grant, then decision permit; withdraw, then deny;
// bulk filter; audit listing and verification. Also idempotent writes and the supersede rule.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, makeTestGateway, type TestGateway } from '../fixtures/gateway-fixture.ts';
import { decisionBody, grantBody } from '../fixtures/consent-bodies.ts';

describe('consent flow over HTTP', () => {
  let gw: TestGateway;
  let collector: string;
  let steward: string;
  let officer: string;

  beforeAll(async () => {
    gw = await makeTestGateway({ SEALGATE_PARTY_ID: 'dealer-4s' });
    collector = await gw.tokenFor('collector');
    steward = await gw.tokenFor('data-steward');
    officer = await gw.tokenFor('compliance-officer');
  });
  afterAll(async () => {
    await gw.close();
  });

  const post = (url: string, token: string, payload: unknown, headers: Record<string, string> = {}) =>
    gw.app.inject({ method: 'POST', url, headers: { ...bearer(token), ...headers }, payload: payload as object });

  it('grant, delegate, permit; withdraw, deny; and the audit chain verifies', async () => {
    const granted = await post('/v1/consents', collector, grantBody('customer-0001'));
    expect(granted.statusCode, granted.body).toBe(201);
    const { record } = granted.json();
    expect(record.subject).toMatch(/^sp_/);
    expect(granted.body).not.toContain('customer-0001');

    const noDelegation = await post('/v1/decisions', steward, decisionBody(record.subject));
    expect(noDelegation.json().decision).toBe('deny');
    expect(noDelegation.json().reasons[0].code).toBe('NO_DELEGATION');

    const delegated = await post('/v1/delegations', steward, {
      partner: 'insurer-a',
      purposes: ['joint-modeling-clv'],
      fieldAllowlist: ['customer_age', 'vehicle_model'],
      expiresAt: '2099-06-01T00:00:00.000Z',
    });
    expect(delegated.statusCode, delegated.body).toBe(201);

    const permit = await post('/v1/decisions', steward, decisionBody(record.subject));
    expect(permit.statusCode, permit.body).toBe(200);
    expect(permit.json()).toMatchObject({
      decision: 'permit',
      consentIds: [record.recordId],
      delegationIds: [delegated.json().delegation.delegationId],
      allowedFields: ['customer_age', 'vehicle_model'],
      precision: { customer_age: 'band:10' },
    });

    const withdrawn = await post(`/v1/consents/${record.recordId}/withdraw`, collector, {});
    expect(withdrawn.statusCode, withdrawn.body).toBe(200);
    expect(withdrawn.json().current).toMatchObject({ status: 'Withdrawn', isActive: false });

    const deny = await post('/v1/decisions', steward, decisionBody(record.subject));
    expect(deny.json()).toMatchObject({ decision: 'deny', reasons: [{ code: 'NO_CONSENT' }] });

    const audit = await gw.app.inject({ method: 'GET', url: '/v1/audit?kind=decision', headers: bearer(officer) });
    expect(audit.statusCode, audit.body).toBe(200);
    expect(audit.json().entries.map((e: { outcome: string }) => e.outcome)).toEqual(['deny', 'permit', 'deny']);

    const verify = await gw.app.inject({ method: 'GET', url: '/v1/audit/verify', headers: bearer(officer) });
    expect(verify.json()).toMatchObject({ ok: true });
    expect(verify.json().events).toBeGreaterThanOrEqual(3);
  });

  it('the bulk filter keeps exactly the covered subjects', async () => {
    const ids = ['f-1', 'f-2', 'f-3', 'f-4'];
    const records = [];
    for (const id of ids) records.push((await post('/v1/consents', collector, grantBody(id))).json().record);
    await post(`/v1/consents/${records[1].recordId}/withdraw`, collector, {});
    const {
      subjects: [stranger],
    } = (await post('/v1/subjects/pseudonyms', collector, { subjectIds: ['never-consented'] })).json();

    const filtered = await post('/v1/consents/filter', steward, {
      subjects: [...records.map((r) => r.subject), stranger],
      purpose: 'joint-modeling-clv',
      recipient: 'insurer-a',
    });
    expect(filtered.statusCode, filtered.body).toBe(200);
    expect(new Set(filtered.json().subjects)).toEqual(
      new Set([records[0].subject, records[2].subject, records[3].subject]),
    );
    const otherRecipient = await post('/v1/consents/filter', steward, {
      subjects: [records[0].subject],
      purpose: 'joint-modeling-clv',
      recipient: 'battery-maker',
    });
    expect(otherRecipient.json().subjects).toEqual([]);
  });

  it('a repeated idempotency key returns the same answer and writes one event', async () => {
    const key = { 'idempotency-key': 'grant-req-42' };
    const first = await post('/v1/consents', collector, grantBody('idem-1'), key);
    const second = await post('/v1/consents', collector, grantBody('idem-1'), key);
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.json()).toEqual(first.json());
    const history = await gw.app.inject({
      method: 'GET',
      url: `/v1/subjects/${first.json().record.subject}/consents`,
      headers: bearer(officer),
    });
    expect(history.json().records).toHaveLength(1);
    const clash = await post('/v1/consents', collector, grantBody('idem-2'), key);
    expect(clash.statusCode).toBe(409);
    expect(clash.json().code).toBe('IDEMPOTENCY_MISMATCH');
  });

  it('a purpose change through renew is refused; supersede makes a new record and ends the old one', async () => {
    const { record } = (await post('/v1/consents', collector, grantBody('super-1'))).json();
    const renew = await post(`/v1/consents/${record.recordId}/renew`, collector, {
      expiresAt: '2028-01-01T00:00:00.000Z',
      purposes: [{ purpose: 'marketing', legalBasis: 'dpv:Consent' }],
    });
    expect(renew.statusCode).toBe(409);
    const next = await post(
      `/v1/consents/${record.recordId}/supersede`,
      collector,
      grantBody('super-1', {
        purposes: [{ purpose: 'marketing', legalBasis: 'dpv:Consent' }],
      }),
    );
    expect(next.statusCode, next.body).toBe(201);
    const old = await gw.app.inject({
      method: 'GET',
      url: `/v1/consents/${record.recordId}`,
      headers: bearer(officer),
    });
    expect(old.json().current).toMatchObject({
      isActive: false,
      terminalReason: 'superseded',
      supersededBy: next.json().record.recordId,
    });
  });

  it('roles are enforced per route', async () => {
    const asExchange = await post('/v1/consents', await gw.tokenFor('exchange'), grantBody('x'));
    expect(asExchange.statusCode).toBe(403);
    expect(asExchange.headers['content-type']).toContain('application/problem+json');
    const audit = await gw.app.inject({ method: 'GET', url: '/v1/audit', headers: bearer(collector) });
    expect(audit.statusCode).toBe(403);
    const anonymous = await gw.app.inject({
      method: 'POST',
      url: '/v1/decisions',
      payload: decisionBody('sp_' + 'A'.repeat(43)),
    });
    expect(anonymous.statusCode).toBe(401);
  });

  it('an invalid policy upload is refused and the bundle in force keeps deciding', async () => {
    const before = (await gw.app.inject({ method: 'GET', url: '/v1/policies', headers: bearer(gw.adminToken) })).json();
    const bad = await gw.app.inject({
      method: 'PUT',
      url: '/v1/policies',
      headers: bearer(gw.adminToken),
      payload: {
        ...before.bundle,
        policies: '@id("x") permit (principal, action, resource) when { resource.nope == 1 };',
      },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().code).toBe('POLICY_INVALID');
    const after = (await gw.app.inject({ method: 'GET', url: '/v1/policies', headers: bearer(gw.adminToken) })).json();
    expect(after.version).toBe(before.version);
  });
});
