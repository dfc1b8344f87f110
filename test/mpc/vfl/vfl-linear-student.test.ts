// Vertical linear regression between two gateways on the FATE student split (a grade: a CLV-style number), against
// the plaintext model trained in the same run with the same split, batches and hyper-parameters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_PURPOSE, readOutput, settled, stopJobMesh, submitJob } from '../jobs/job-fixture.ts';
import { alignParties, startJointMesh, type JointMesh } from '../joint/joint-fixture.ts';
import { alignedIds, plaintextModel, runVfl } from './vfl-fixture.ts';

let mesh: JointMesh;
let psiJob: string;

beforeAll(async () => {
  mesh = await startJointMesh([
    { id: 'dealer', split: 'student_hetero_guest' },
    { id: 'insurer', split: 'student_hetero_host' },
  ]);
  psiJob = await alignParties(mesh.gateways);
}, 240_000);

afterAll(async () => stopJobMesh(mesh?.gateways ?? []));

describe('vertical linear regression', () => {
  it('matches the plaintext model on student within 2% RMSE, reports the lift over the guest alone, and scores', async () => {
    const job = {
      task: 'linear' as const,
      columns: {
        dealer: ['y', ...Array.from({ length: 6 }, (_, i) => `x${i}`)],
        insurer: Array.from({ length: 7 }, (_, i) => `x${i}`),
      },
      params: { psiJob, label: 'y', epochs: 8, batchSize: 64, learningRate: 0.1, seed: 3, model: 'clv-student' },
    };
    const { id, views } = await runVfl(mesh, job);
    expect(views.map((v) => [v.status, v.failure?.code ?? null])).toEqual([
      ['completed', null],
      ['completed', null],
    ]);
    const out = await readOutput(mesh.gateways[0]!, id);
    const result = out.body.result as {
      metrics: Record<string, number>;
      guestOnly: Record<string, number>;
      lift: { reduction: number; low: number; high: number };
      model: { name: string; version: number };
    };
    const plain = plaintextModel(mesh, { ...job, id }, await alignedIds(mesh, psiJob));
    expect(Math.abs(result.metrics.rmse! - plain.rmse!) / plain.rmse!).toBeLessThanOrEqual(0.02);
    expect(result.metrics.mae).toBeGreaterThan(0);
    expect(result.lift.low).toBeLessThanOrEqual(result.lift.reduction);
    expect(result.lift.high).toBeGreaterThanOrEqual(result.lift.reduction);
    expect(result.model).toEqual({ name: 'clv-student', version: 1 });

    // Each party keeps only its own part: its own features and weights, no one else's.
    const [dealer, insurer] = mesh.gateways;
    const guestPart = await dealer!.ctx.models.get('clv-student');
    const hostPart = await insurer!.ctx.models.get('clv-student');
    expect(guestPart?.features).toEqual(job.columns.dealer.slice(1));
    expect(guestPart?.weights).toHaveLength(6);
    expect(guestPart?.intercept).not.toBeNull();
    expect(guestPart?.evaluation).not.toBeNull();
    expect(hostPart?.features).toEqual(job.columns.insurer);
    expect(hostPart?.weights).toHaveLength(7);
    expect(hostPart?.evaluation).toBeNull();
    expect(hostPart?.lineage).toMatchObject({ trainingJob: id, psiJob, customers: 395 });

    // Scoring: every party scores with its own part; only the guest receives the scores, one per customer, equal to
    // the model applied to the joined rows (within the score resolution, 2^-12 per party in standardized units).
    const scoring = await submitJob(dealer!, {
      protocol: 'vfl-score',
      purpose: JOB_PURPOSE,
      params: { psiJob, trainingJob: id },
      receivers: ['dealer'],
      parties: [
        { id: 'dealer', role: 'guest', view: 'customers', idColumn: 'vin', columns: guestPart!.features },
        { id: 'insurer', role: 'host', view: 'customers', idColumn: 'vin', columns: hostPart!.features },
      ],
    });
    expect(scoring.status, JSON.stringify(scoring.body)).toBe(201);
    const scoringId = String(scoring.body.id);
    const scored = await Promise.all(mesh.gateways.map((gw) => settled(gw, scoringId, 120_000)));
    expect(scored.map((v) => [v.status, v.failure?.code ?? null])).toEqual([
      ['completed', null],
      ['completed', null],
    ]);
    const scores = (
      (await readOutput(dealer!, scoringId)).body.result as { scores: { subject: string; score: number }[] }
    ).scores;
    expect(scores).toHaveLength(395);
    const atHost = await readOutput(insurer!, scoringId);
    expect(atHost.status).toBe(404);
    const byPseudonym = new Map(mesh.splits.get('dealer')!.rows.map((r) => [dealer!.pseudonym(r[0]!), r[0]!]));
    const rowsOf = (party: string) => {
      const split = mesh.splits.get(party)!;
      return { split, byId: new Map(split.rows.map((r) => [r[0]!, r])) };
    };
    const guestRows = rowsOf('dealer');
    const hostRows = rowsOf('insurer');
    const partial = (part: typeof guestPart, rows: ReturnType<typeof rowsOf>, rawId: string) =>
      part!.features.reduce((sum, feature, j) => {
        const value = Number(rows.byId.get(rawId)![rows.split.header.indexOf(feature)]);
        const z = Math.max(-4, Math.min(4, (value - part!.scaler.means[j]!) / part!.scaler.scales[j]!));
        return sum + part!.weights[j]! * z;
      }, part!.intercept ?? 0);
    for (const { subject, score } of scores) {
      const rawId = byPseudonym.get(subject)!;
      const standardized = partial(guestPart, guestRows, rawId) + partial(hostPart, hostRows, rawId);
      const expected = standardized * guestPart!.labelScaler!.scale + guestPart!.labelScaler!.mean;
      expect(Math.abs(score - expected)).toBeLessThan(0.01);
    }
  }, 300_000);
});
