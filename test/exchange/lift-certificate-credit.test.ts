// Lift certificates on the FATE default-credit split: the insurer (host) holds the package, two dimensions of its
// features; the dealer (guest) holds the label and its own features. The certificate's errors must be those of the
// same models trained in plaintext here, and a valuation may cite it only as it stands. The first 1,800 customer ids
// and 4 short epochs keep the suite's time in bounds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, restartJobGateway, stopJobMesh, type JobGateway } from '../mpc/jobs/job-fixture.ts';
import { alignParties, startJointMesh, type JointMesh } from '../mpc/joint/joint-fixture.ts';
import { alignedIds, plaintextPairs } from '../mpc/vfl/vfl-fixture.ts';
import { segmentErrorsFromCertificate, type LiftCertificateBody } from '../../exchange/lift-certificate.ts';
import { costLossErrorMetric } from '../../exchange/lift-certificate-request.ts';
import { errorFunction } from '../../mpc/vfl/error-metrics.ts';
import { metricsOf } from '../../mpc/vfl/metrics.ts';
import { showCertificate } from '../../gateway/cli/lift-certificates.ts';
import { automotivePackage } from '../valuation/automotive-package.ts';

let mesh: JointMesh;
let psiJob: string;
let dealer: JobGateway;
const keep = (id: string) => Number(id) < 1800;
const GUEST_FEATURES = Array.from({ length: 13 }, (_, i) => `x${i}`);
const TRAINING = { epochs: 4, batchSize: 256, learningRate: 0.5, seed: 3, bootstrap: 60 };
const CONSENT_BASIS = { root: `0x${'cd'.repeat(32)}`, records: 1800, subjects: 1800 };
// The buyer: a bank that declines a loan it predicts will default. Its valuation maps errors to money by cost-loss,
// so the certificate measures the same normalized expected cost.
const BANK = { name: 'cost-loss' as const, baseRate: 0.22, falsePositiveCost: 600, falseNegativeCost: 2_400 };
const METRIC = costLossErrorMetric(BANK);

const request = (overrides: Record<string, unknown> = {}) => ({
  packageId: 'credit-behaviour',
  consentBasis: CONSENT_BASIS,
  dimensions: [
    { id: 'repayment', party: 'insurer', columns: ['x0', 'x1', 'x2', 'x3', 'x4'] },
    { id: 'billing', party: 'insurer', columns: ['x5', 'x6', 'x7', 'x8', 'x9'] },
  ],
  psiJob,
  target: { label: 'y', features: GUEST_FEATURES, model: 'logistic', errorMetric: METRIC },
  training: TRAINING,
  ...overrides,
});

beforeAll(async () => {
  mesh = await startJointMesh([
    { id: 'dealer', split: 'default_credit_hetero_guest', keep },
    { id: 'insurer', split: 'default_credit_hetero_host', keep },
  ]);
  dealer = mesh.gateways[0]!;
  psiJob = await alignParties(mesh.gateways);
}, 300_000);

afterAll(async () => stopJobMesh(mesh?.gateways ?? []));

const post = (payload: unknown) =>
  call({ gw: dealer, method: 'POST', url: '/v1/lift-certificates', token: dealer.stewardToken, payload });
const get = (url: string) => call({ gw: dealer, method: 'GET', url, token: dealer.stewardToken });

describe('a lift certificate on default credit', () => {
  let body: LiftCertificateBody;
  let statementHash: string;

  it('measures every subset, and its errors are those of the same models in plaintext', async () => {
    const created = await post(request());
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    expect(created.body.status).toBe('running');
    const id = String(created.body.certificateId);
    const done = await dealer.ctx.liftCertificates.settled(id);
    expect([done.status, done.failure]).toEqual(['issued', null]);
    expect(done.jobs.map((j) => [j.dimensions, j.status])).toEqual([
      [['repayment', 'billing'], 'completed'],
      [['repayment'], 'completed'],
      [['billing'], 'completed'],
    ]);
    body = done.statement!.body as LiftCertificateBody;
    statementHash = done.statementHash!;

    // The same models in plaintext, with the same Taylor link the federated training and the guest's baseline use.
    const ids = await alignedIds(mesh, psiJob);
    const host = (columns: string[]) => ({
      task: 'logistic' as const,
      columns: { dealer: ['y', ...GUEST_FEATURES], insurer: columns },
      params: { psiJob, label: 'y', ...TRAINING },
      id: 'plain',
    });
    // A rate moves in steps of one row over the held-out class count, so CKKS noise that moved a score across the
    // threshold would show; the bound allows one such row per class.
    const rateOf = errorFunction(METRIC);
    const step = 2 / 100;
    const guestOnly = rateOf(plaintextPairs(mesh, host([]), ids, 'taylor'));
    expect(body.baseline.value).toBeCloseTo(guestOnly, 9);
    for (const m of body.measurements) {
      const columns = m.dimensions.flatMap((d) => body.dimensions.find((x) => x.id === d)!.columns);
      const plain = rateOf(plaintextPairs(mesh, host(columns), ids, 'taylor'));
      expect(Math.abs(m.error.value - plain), m.dimensions.join('+')).toBeLessThan(step);
      expect(Math.abs(m.reduction.value - (guestOnly - plain) / guestOnly)).toBeLessThan(step);
      expect(m.error.low!).toBeLessThanOrEqual(m.error.value);
      expect(m.error.high!).toBeGreaterThanOrEqual(m.error.value);
      expect(m.rows!.heldOut + m.rows!.train).toBe(ids.length);
      // Each party's data version as it read it.
      expect(m.dataVersions.map((v) => [v.party, v.generation])).toEqual(
        m.dimensions.length === 0
          ? [['dealer', 1]]
          : [
              ['dealer', 1],
              ['insurer', 1],
            ],
      );
    }
    expect(body).toMatchObject({ issuer: 'dealer', packageId: 'credit-behaviour', consentBasis: CONSENT_BASIS });

    // The whole package's model is the federated model of the vertical models issue: its AUC is the plaintext
    // model's (npm run bench:vfl runs all 30,000 customers against the exact sigmoid; the breast test bounds the
    // Taylor link's cost).
    const full = await call({
      gw: dealer,
      method: 'GET',
      url: `/v1/jobs/${body.measurements[0]!.jobId}/output`,
      token: dealer.stewardToken,
    });
    const jointAuc = (full.body.result as { metrics: { auc: number } }).metrics.auc;
    const allColumns = body.dimensions.flatMap((d) => d.columns);
    const plainAuc = metricsOf('logistic', plaintextPairs(mesh, host(allColumns), ids, 'taylor')).auc!;
    expect(Math.abs(jointAuc - plainAuc)).toBeLessThanOrEqual(0.001);

    // Nothing but metrics and counts: no array in the body is as long as a column.
    const longest = (v: unknown): number =>
      Array.isArray(v)
        ? Math.max(v.length, ...v.map(longest))
        : v !== null && typeof v === 'object'
          ? Math.max(0, ...Object.values(v).map(longest))
          : 0;
    expect(longest(body)).toBeLessThan(20);
  }, 400_000);

  it('hands out the signed certificate with the receipt of the audit entry that recorded its hash', async () => {
    const proof = await get(`/v1/lift-certificates/${body.certificateId}/proof`);
    expect(proof.status).toBe(200);
    const receipt = proof.body.receipt as { record: { entry: { action: string; detail: Record<string, unknown> } } };
    expect(receipt.record.entry.action).toBe('lift-certificate-issue');
    expect(receipt.record.entry.detail.statementHash).toBe(statementHash);
    // The CLI's table: one row per subset, the interval beside each error.
    const lines: string[] = [];
    const io = { stdout: (l: string) => lines.push(l), stderr: (l: string) => lines.push(l) };
    expect(await showCertificate(body.certificateId, { url: dealer.url, token: dealer.stewardToken, io })).toBe(0);
    expect(lines.join('\n')).toMatch(/repayment\+billing\s+0\.\d{4} \[0\.\d{4}, 0\.\d{4}\]/);
    expect(lines.join('\n')).toContain(`statement hash ${statementHash}`);
    const listed = await get('/v1/packages/credit-behaviour/lift-certificates');
    expect((listed.body.certificates as { certificateId: string }[]).map((c) => c.certificateId)).toEqual([
      body.certificateId,
    ]);
  });

  it('lets a valuation cite it as measured, and refuses one that moves its numbers or names another hash', async () => {
    const cited = segmentErrorsFromCertificate(body, statementHash);
    const pkg = automotivePackage();
    const input = {
      ...pkg,
      package: {
        ...pkg.package,
        packageId: 'credit-behaviour',
        dimensions: [
          { id: 'repayment', label: 'Repayment history', columns: ['insurer.x0'] },
          { id: 'billing', label: 'Billing amounts', columns: ['insurer.x5'] },
        ],
        consentBasis: CONSENT_BASIS,
      },
      segments: [
        {
          ...pkg.segments[1]!,
          mapping: BANK,
          ...cited,
        },
      ],
    };
    const valuate = (payload: unknown) =>
      call({ gw: dealer, method: 'POST', url: '/v1/valuations', token: dealer.stewardToken, payload });

    const valued = await valuate(input);
    expect(valued.status, JSON.stringify(valued.body)).toBe(201);
    const report = valued.body.report as { errorSources: unknown[] };
    expect(report.errorSources).toEqual([
      { segment: 'car-loan-bank', kind: 'lift-certificate', reference: body.certificateId, detail: statementHash },
    ]);

    const withSegment = (errors: object) => ({ ...input, segments: [{ ...input.segments[0], ...errors }] });
    const beyond = body.measurements[0]!.error.high! + 0.05;
    const moved = await valuate(withSegment({ errors: { ...cited.errors, e1: beyond } }));
    expect([moved.status, moved.body.code]).toEqual([400, 'BAD_INPUT']);
    expect(String(moved.body.detail)).toContain('outside the certificate');
    const otherHash = { ...cited.errors, source: { ...cited.errors.source, certificateHash: 'ee'.repeat(32) } };
    const forged = await valuate(withSegment({ errors: otherHash }));
    expect([forged.status, forged.body.code]).toEqual([400, 'BAD_INPUT']);
  });

  it('refuses an output of rows, audited with the rule, and submits no job', async () => {
    const before = (await get('/v1/jobs?limit=500')).body.jobs as unknown[];
    const refused = await post(request({ outputs: ['error-metrics', 'rows'] }));
    expect([refused.status, refused.body.code]).toEqual([403, 'OUTPUT_REFUSED']);
    expect(refused.body).toMatchObject({ context: { output: 'rows' } });
    expect(String((refused.body.context as { rule: string }).rule)).toContain('never');
    const after = (await get('/v1/jobs?limit=500')).body.jobs as unknown[];
    expect(after.length).toBe(before.length);
    const audit = await call({
      gw: dealer,
      method: 'GET',
      url: '/v1/audit?kind=valuation&limit=1000',
      token: dealer.adminToken,
    });
    const entries = audit.body.entries as { action: string; outcome: string; detail: Record<string, unknown> }[];
    expect(entries.find((e) => e.action === 'output-refused')).toMatchObject({
      outcome: 'deny',
      detail: { output: 'rows' },
    });
  });

  it('refuses a dimension held by no host of the PSI job, a metric of another model, and an unknown PSI job', async () => {
    const notHost = await post(request({ dimensions: [{ id: 'own', party: 'dealer', columns: ['x0'] }] }));
    expect([notHost.status, notHost.body.code]).toEqual([400, 'BAD_INPUT']);
    const wrongMetric = await post(
      request({ target: { label: 'y', features: [], model: 'logistic', errorMetric: { name: 'rmse' } } }),
    );
    expect([wrongMetric.status, wrongMetric.body.code]).toEqual([400, 'BAD_INPUT']);
    const unknownJob = await post(request({ psiJob: '00000000-0000-4000-8000-000000000000' }));
    expect(unknownJob.status).toBe(404);
  });

  it('submits no further job once the token that asked for it is revoked', async () => {
    const { id: tokenId, token } = await dealer.ctx.tokens.createToken('data-steward', 'revoked mid-way');
    const created = await call({
      gw: dealer,
      method: 'POST',
      url: '/v1/lift-certificates',
      token,
      payload: request({ subsets: [['billing']] }),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    await dealer.ctx.tokens.revokeToken(tokenId);
    const done = await dealer.ctx.liftCertificates.settled(String(created.body.certificateId));
    expect([done.status, done.failure?.code]).toEqual(['failed', 'FORBIDDEN']);
    expect(done.jobs[1]).toMatchObject({ dimensions: ['billing'], jobId: null });
  }, 400_000);

  it('survives a restart of its gateway mid-way: the jobs resume and the certificate is issued', async () => {
    const created = await post(request({ subsets: [] }));
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const id = String(created.body.certificateId);
    // Stopped as a crash leaves the files, while the first job runs; started again on the same port and directory.
    dealer = await restartJobGateway(dealer);
    mesh.gateways[0] = dealer;
    const done = await dealer.ctx.liftCertificates.settled(id);
    expect([done.status, done.failure]).toEqual(['issued', null]);
    expect(done.jobs.map((j) => [j.dimensions, j.status])).toEqual([[['repayment', 'billing'], 'completed']]);
  }, 400_000);
});
