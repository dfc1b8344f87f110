// The model registry over HTTP (/v1/models): the list newest first, the card of a model's latest version or of one
// version, stable problems for an unknown or malformed name or version, the read roles only, and an audit entry for
// every card read (and none for the list, which names models and jobs only).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelPart } from '../../../mpc/vfl/model-store.ts';
import { bearer, makeTestGateway, type TestGateway } from '../../fixtures/gateway-fixture.ts';
import { guestModelPart } from '../model-part-fixture.ts';

const JOB_V1 = '0f6e2a10-5c3b-4d1e-9a7f-1b2c3d4e5f60';
const JOB_V2 = '1a7f3b21-6d4c-4e2f-8b80-2c3d4e5f6071';
const JOB_LINEAR = '2b804c32-7e5d-4f30-9c91-3d4e5f607182';

let gw: TestGateway;
let steward: string;
let v1: ModelPart;
let v2: ModelPart;
let linear: ModelPart;

beforeAll(async () => {
  gw = await makeTestGateway();
  steward = await gw.tokenFor('data-steward');
  v1 = await gw.ctx.models.register(guestModelPart('churn-model', JOB_V1, '2026-12-01T10:00:00.000Z'));
  linear = await gw.ctx.models.register(
    guestModelPart('clv-linear', JOB_LINEAR, '2026-12-02T10:00:00.000Z', {
      task: 'linear',
      protocol: 'vfl-linear',
      role: 'host',
      party: 'insurer-a',
      intercept: null,
      evaluation: null,
    }),
  );
  v2 = await gw.ctx.models.register(
    guestModelPart('churn-model', JOB_V2, '2026-12-03T10:00:00.000Z', { weights: Array(10).fill(0.5) }),
  );
});
afterAll(() => gw?.close());

const get = (url: string, token: string | null = steward) =>
  gw.app.inject({ method: 'GET', url, headers: token === null ? {} : bearer(token) });

const cardReads = async () =>
  (await gw.ctx.consent.listAudit({ kind: 'job', limit: 1000 })).filter((e) => e.action === 'model-card-read');

describe('GET /v1/models', () => {
  it('lists every part newest first, as summaries', async () => {
    const res = await get('/v1/models');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      models: [
        {
          name: 'churn-model',
          version: 2,
          task: 'logistic',
          role: 'guest',
          createdAt: '2026-12-03T10:00:00.000Z',
          job: JOB_V2,
        },
        {
          name: 'clv-linear',
          version: 1,
          task: 'linear',
          role: 'host',
          createdAt: '2026-12-02T10:00:00.000Z',
          job: JOB_LINEAR,
        },
        {
          name: 'churn-model',
          version: 1,
          task: 'logistic',
          role: 'guest',
          createdAt: '2026-12-01T10:00:00.000Z',
          job: JOB_V1,
        },
      ],
    });
    // Summaries only: no weights, scaler or metrics in the list.
    expect(res.body).not.toContain('weights');
    expect(res.body).not.toContain('auc');
  });

  it('takes a limit of 1 to 500', async () => {
    const one = await get('/v1/models?limit=1');
    expect(one.statusCode).toBe(200);
    expect(one.json().models.map((m: { job: string }) => m.job)).toEqual([JOB_V2]);
    for (const limit of ['0', '501', 'ten', '2.5']) {
      const res = await get(`/v1/models?limit=${limit}`);
      expect(res.statusCode, limit).toBe(400);
      expect(res.json()).toMatchObject({ code: 'BAD_INPUT' });
    }
  });
});

describe('GET /v1/models/{name} and /versions/{version}', () => {
  it("answers the latest version's whole card", async () => {
    const res = await get('/v1/models/churn-model');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(v2);
    expect(v2.version).toBe(2);
  });

  it("answers one version's card", async () => {
    const first = await get('/v1/models/churn-model/versions/1');
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual(v1);
    expect(first.json().lineage.trainingJob).toBe(JOB_V1);
    const host = await get('/v1/models/clv-linear/versions/1');
    expect(host.json()).toEqual(linear);
    expect(host.json()).toMatchObject({ role: 'host', intercept: null, evaluation: null });
  });

  it('answers NOT_FOUND for an unknown model or version', async () => {
    for (const [url, detail] of [
      ['/v1/models/no-such-model', 'no such model'],
      ['/v1/models/no-such-model/versions/1', 'no such model version'],
      ['/v1/models/churn-model/versions/3', 'no such model version'],
    ] as const) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type'], url).toContain('application/problem+json');
      expect(res.json(), url).toMatchObject({ code: 'NOT_FOUND', detail });
    }
    expect((await get('/v1/models/churn-model/versions/3')).json().context).toEqual({
      model: 'churn-model',
      version: 3,
    });
  });

  it('answers BAD_INPUT for a malformed name or version', async () => {
    const badNames = ['Churn-Model', 'churn_model', '1churn', `m${'x'.repeat(64)}`, '%20churn'];
    for (const name of badNames) {
      for (const url of [`/v1/models/${name}`, `/v1/models/${name}/versions/1`]) {
        const res = await get(url);
        expect(res.statusCode, url).toBe(400);
        expect(res.json(), url).toMatchObject({ code: 'BAD_INPUT' });
        expect(JSON.stringify(res.json().errors), url).toContain('/name');
      }
    }
    for (const version of ['0', '-1', 'one', '1.5', '2147483648']) {
      const res = await get(`/v1/models/churn-model/versions/${version}`);
      expect(res.statusCode, version).toBe(400);
      expect(JSON.stringify(res.json().errors), version).toContain('/version');
    }
  });
});

describe('access and audit', () => {
  it('admits data stewards, compliance officers and admins only', async () => {
    for (const url of ['/v1/models', '/v1/models/churn-model', '/v1/models/churn-model/versions/1']) {
      const anonymous = await get(url, null);
      expect(anonymous.statusCode, url).toBe(401);
      expect(anonymous.json(), url).toMatchObject({ code: 'UNAUTHENTICATED' });
      for (const role of ['exchange', 'collector'] as const) {
        const res = await get(url, await gw.tokenFor(role));
        expect(res.statusCode, `${role} ${url}`).toBe(403);
        expect(res.json()).toMatchObject({ code: 'FORBIDDEN' });
        expect(res.body).not.toContain('weights');
      }
      for (const role of ['data-steward', 'compliance-officer', 'admin'] as const) {
        expect((await get(url, await gw.tokenFor(role))).statusCode, `${role} ${url}`).toBe(200);
      }
    }
  });

  it('audits every card read under the training and PSI jobs, and neither the list nor a refused read', async () => {
    const officer = await gw.ctx.tokens.createToken('compliance-officer', 'model review');
    const before = await cardReads();
    expect((await get('/v1/models', officer.token)).statusCode).toBe(200);
    expect((await get('/v1/models/no-such-model', officer.token)).statusCode).toBe(404);
    expect((await get('/v1/models/churn-model/versions/1', await gw.tokenFor('collector'))).statusCode).toBe(403);
    expect(await cardReads()).toHaveLength(before.length);

    expect((await get('/v1/models/churn-model/versions/1', officer.token)).statusCode).toBe(200);
    const [entry] = (await gw.ctx.consent.listAudit({ kind: 'job', ref: JOB_V1, limit: 1000 })).filter(
      (e) => e.action === 'model-card-read' && e.actor === `token:${officer.id}`,
    );
    expect(entry).toMatchObject({
      kind: 'job',
      action: 'model-card-read',
      outcome: 'ok',
      actor: `token:${officer.id}`,
      refs: [JOB_V1, v1.lineage.psiJob],
      detail: { model: 'churn-model', version: 1, role: 'guest' },
    });
    expect(await cardReads()).toHaveLength(before.length + 1);
  });
});
