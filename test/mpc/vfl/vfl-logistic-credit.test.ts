// Vertical logistic regression on the FATE default-credit split, against the plaintext model in the same run. The
// first 6,000 customer ids keep the suite's time in bounds; `npm run bench:vfl` runs all 30,000 the same way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutput, stopJobMesh } from '../jobs/job-fixture.ts';
import { alignParties, startJointMesh, type JointMesh } from '../joint/joint-fixture.ts';
import { alignedIds, plaintextModel, runVfl } from './vfl-fixture.ts';

let mesh: JointMesh;
let psiJob: string;
const keep = (id: string) => Number(id) < 6000;

beforeAll(async () => {
  mesh = await startJointMesh([
    { id: 'dealer', split: 'default_credit_hetero_guest', keep },
    { id: 'insurer', split: 'default_credit_hetero_host', keep },
  ]);
  psiJob = await alignParties(mesh.gateways);
}, 300_000);

afterAll(async () => stopJobMesh(mesh?.gateways ?? []));

describe('vertical logistic regression on default credit', () => {
  it('is within 0.005 AUC of the plaintext model', async () => {
    const job = {
      task: 'logistic' as const,
      columns: {
        dealer: ['y', ...Array.from({ length: 13 }, (_, i) => `x${i}`)],
        insurer: Array.from({ length: 10 }, (_, i) => `x${i}`),
      },
      params: { psiJob, label: 'y', epochs: 5, batchSize: 1024, learningRate: 0.15, seed: 2, bootstrap: 50 },
    };
    const { id, views } = await runVfl(mesh, job);
    expect(views.map((v) => [v.status, v.failure?.code ?? null])).toEqual([
      ['completed', null],
      ['completed', null],
    ]);
    const result = (await readOutput(mesh.gateways[0]!, id)).body.result as { metrics: Record<string, number> };
    const plain = plaintextModel(mesh, { ...job, id }, await alignedIds(mesh, psiJob));
    expect(result.metrics.rows).toBeGreaterThan(1000);
    expect(Math.abs(result.metrics.auc! - plain.auc!)).toBeLessThanOrEqual(0.005);
  }, 300_000);
});
