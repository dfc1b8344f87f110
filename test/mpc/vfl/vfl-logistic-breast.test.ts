// Vertical logistic regression between two gateways on the FATE breast split, against the plaintext model trained in
// the same run on the joined rows with the same split, batches and hyper-parameters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutput, stopJobMesh } from '../jobs/job-fixture.ts';
import { alignParties, startJointMesh, type JointMesh } from '../joint/joint-fixture.ts';
import { alignedIds, plaintextModel, runVfl } from './vfl-fixture.ts';

let mesh: JointMesh;
let psiJob: string;
const GUEST_COLUMNS = ['y', ...Array.from({ length: 10 }, (_, i) => `x${i}`)];
const HOST_COLUMNS = Array.from({ length: 20 }, (_, i) => `x${i}`);

beforeAll(async () => {
  mesh = await startJointMesh([
    { id: 'dealer', split: 'breast_hetero_guest' },
    { id: 'insurer', split: 'breast_hetero_host' },
  ]);
  psiJob = await alignParties(mesh.gateways);
}, 240_000);

afterAll(async () => stopJobMesh(mesh?.gateways ?? []));

describe('vertical logistic regression', () => {
  it('matches the plaintext model on breast within 0.005 AUC', async () => {
    const job = {
      task: 'logistic' as const,
      columns: { dealer: GUEST_COLUMNS, insurer: HOST_COLUMNS },
      params: { psiJob, label: 'y', epochs: 10, batchSize: 64, learningRate: 0.15, seed: 7 },
    };
    // The gateway keeps answering while the job computes: CKKS and the score shuffle run on worker threads.
    let isRunning = true;
    const latencies: number[] = [];
    const probe = (async () => {
      while (isRunning) {
        const started = performance.now();
        const res = await fetch(`${mesh.gateways[0]!.url}/health`);
        latencies.push(res.status === 200 ? performance.now() - started : Infinity);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    const { id, views } = await runVfl(mesh, job).finally(() => {
      isRunning = false;
    });
    await probe;
    expect(latencies.length).toBeGreaterThan(20);
    // Generous: a blocked event loop shows as seconds (the score table alone takes about two).
    expect(Math.max(...latencies)).toBeLessThan(1000);
    expect(views.map((v) => [v.status, v.failure?.code ?? null, v.failure?.message ?? null])).toEqual([
      ['completed', null, null],
      ['completed', null, null],
    ]);
    const out = await readOutput(mesh.gateways[0]!, id);
    const result = out.body.result as { metrics: Record<string, number>; guestOnly: Record<string, number> };
    // The same algorithm in plaintext (the Taylor residual the joint training uses): only CKKS and the score
    // encoding separate them. Against the exact logistic link the gap also holds the approximation's cost, which on
    // breast's ~110 held-out rows moves with the split (it follows the PSI's alignment order; seen up to 0.015): a
    // looser bound there.
    const ids = await alignedIds(mesh, psiJob);
    const sameAlgorithm = plaintextModel(mesh, { ...job, id }, ids, 'taylor');
    const exact = plaintextModel(mesh, { ...job, id }, ids);
    expect(Math.abs(result.metrics.auc! - sameAlgorithm.auc!)).toBeLessThanOrEqual(0.005);
    expect(Math.abs(result.metrics.auc! - exact.auc!)).toBeLessThanOrEqual(0.03);
  }, 300_000);
});
