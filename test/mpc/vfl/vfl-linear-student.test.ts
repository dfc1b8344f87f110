// Vertical linear regression between two gateways on the FATE student split (a grade: a CLV-style number), against
// the plaintext model trained in the same run with the same split, batches and hyper-parameters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutput, stopJobMesh } from '../jobs/job-fixture.ts';
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
  it('matches the plaintext model on student within 2% RMSE, and reports the lift over the guest alone', async () => {
    const job = {
      task: 'linear' as const,
      columns: {
        dealer: ['y', ...Array.from({ length: 6 }, (_, i) => `x${i}`)],
        insurer: Array.from({ length: 7 }, (_, i) => `x${i}`),
      },
      params: { psiJob, label: 'y', epochs: 30, batchSize: 64, learningRate: 0.05, seed: 3, model: 'clv-student' },
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
  }, 300_000);
});
