// The API document as partners' tools read it: Redocly's recommended ruleset passes with no rule turned off, every
// operation is named, secured and lists its problem responses, and a client generated from the live document with
// openapi-typescript type-checks a program that runs the main flow through openapi-fetch, while a program that gets
// the API wrong does not compile. So a generated client is real, and the document cannot quietly drift.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestGateway, type TestGateway } from '../../fixtures/gateway-fixture.ts';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
type Operation = { operationId?: string; security?: unknown[]; responses?: Record<string, unknown> };
type Document = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

let gw: TestGateway;
let doc: Document;

beforeAll(async () => {
  gw = await makeTestGateway();
  doc = (await gw.app.inject({ method: 'GET', url: '/docs/json' })).json() as Document;
});
afterAll(() => gw?.close());

/** Type-checks `files` as the project does, in a scratch folder inside the repository so that imports resolve. */
function typeCheck(files: Record<string, string>, root: string): string[] {
  const dir = join(REPO, 'test', '.generated', `${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const config = ts.readConfigFile(join(REPO, 'tsconfig.json'), (path) => ts.sys.readFile(path));
    const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, REPO);
    const program = ts.createProgram([join(dir, root)], { ...options, noEmit: true });
    return ts
      .getPreEmitDiagnostics(program)
      .map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const GRANT = {
  subjectId: 'customer-0001',
  jurisdiction: 'CN',
  recipients: [{ id: 'insurer-a', role: 'joint-controller' }],
  purposes: [{ purpose: 'joint-modeling-clv', legalBasis: 'dpv:Consent' }],
  dataCategories: [{ category: 'dpv:Age', sensitive: false }],
  minimization: { fieldAllowlist: ['customer_age'], precision: {}, localOnly: false, crossBorder: false },
  notice: { url: 'https://dealer.example/privacy', hash: 'a'.repeat(64), version: '2026-01' },
  indication: { method: 'app', by: 'subject', at: '2026-11-01T09:00:00.000Z' },
  separateConsent: { sharing: true, sensitive: false, crossBorder: false },
  expiresAt: '2099-11-01T00:00:00.000Z',
};

const program = (grant: string) => `
import createClient from 'openapi-fetch';
import type { components, paths } from './api.ts';

const client = createClient<paths>({ baseUrl: 'http://127.0.0.1:8080', headers: { authorization: 'Bearer sgt_x' } });

export async function mainFlow(): Promise<string> {
  const granted = await client.POST('/v1/consents', { params: { header: { 'idempotency-key': 'app-req-0001' } }, body: ${grant} });
  if (granted.data === undefined) throw new Error('grant refused');
  const written: components['schemas']['ConsentWriteResult'] = granted.data;
  const id: string = written.record.recordId;
  await client.POST('/v1/consents/{id}/withdraw', { params: { path: { id } }, body: {} });
  const proof = await client.GET('/v1/consents/{id}/proof', { params: { path: { id } } });
  const receipts: components['schemas']['Receipt'][] = proof.data?.receipts ?? [];
  const job = await client.GET('/v1/jobs/{id}', { params: { path: { id } } });
  const status: string | undefined = job.data?.status;
  const card = await client.GET('/v1/models/{name}/versions/{version}', { params: { path: { name: 'churn', version: 1 } } });
  const weights: number[] = card.data?.weights ?? [];
  return [id, receipts[0]?.status ?? 'none', status ?? 'none', weights.length].join(' ');
}
`;

describe('the OpenAPI document', () => {
  it("passes Redocly's recommended ruleset with no rule turned off", async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: 'openapi.json', config });
    expect(problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message}`)).toEqual([]);
  });

  it('names every operation uniquely, states its security and lists its problem responses', () => {
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ where: `${method} ${path}`, op })),
    );
    expect(operations.length).toBeGreaterThan(50);
    const ids = operations.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(operations.length);
    for (const { where, op } of operations) {
      expect(Array.isArray(op.security), where).toBe(true);
      const problems = Object.entries(op.responses ?? {}).filter(([status]) => status.startsWith('4'));
      expect(problems.length, where).toBeGreaterThan(0);
      expect(JSON.stringify(problems), where).toContain('#/components/schemas/Problem');
    }
    for (const name of ['Problem', 'ConsentRecord', 'Receipt', 'ConsentWriteResult', 'JobView', 'ModelPart']) {
      expect(Object.keys(doc.components.schemas), name).toContain(name);
    }
  });

  it('generates a typed client that compiles a main-flow program, and refuses a program that gets the API wrong', async () => {
    const api = astToString(await openapiTS(doc as unknown as Parameters<typeof openapiTS>[0]));
    expect(typeCheck({ 'api.ts': api, 'main-flow.ts': program(JSON.stringify(GRANT)) }, 'main-flow.ts')).toEqual([]);
    // A grant without its purposes, with a number for the subject: the generated types say no.
    const { purposes: _purposes, ...withoutPurposes } = GRANT;
    const wrong = program(JSON.stringify({ ...withoutPurposes, subjectId: 42 }));
    const errors = typeCheck({ 'api.ts': api, 'main-flow.ts': wrong }, 'main-flow.ts');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.join('\n')).toContain('main-flow.ts');
  });
});
