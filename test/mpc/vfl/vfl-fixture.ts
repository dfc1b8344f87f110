// Vertical model jobs in tests: submit one over a mesh of joint gateways, and train the plaintext model the
// federated one must match: the joined columns of every party, the same aligned order, split, standardization,
// batches and hyper-parameters, with the exact sigmoid.
import { expect } from 'vitest';
import { JOB_PURPOSE, readOutput, settled, submitJob, type JobGateway } from '../jobs/job-fixture.ts';
import type { JointMesh } from '../joint/joint-fixture.ts';
import { partialScores, trainPlain, type Task } from '../../../mpc/vfl/linear-model.ts';
import { metricsOf, type Metrics, type Scored } from '../../../mpc/vfl/metrics.ts';
import { applyScaler, fitScaler } from '../../../mpc/vfl/standardize.ts';
import { epochBatches, splitRows } from '../../../mpc/vfl/training-plan.ts';
import { VflParams } from '../../../mpc/vfl/vfl-params.ts';

export type VflJobSpec = {
  task: Task;
  /** Columns per party id; the guest's include the label. */
  columns: Record<string, string[]>;
  params: Record<string, unknown>;
};

/** Submits the job at the guest; resolves to its id. */
export async function submitVfl(mesh: JointMesh, job: VflJobSpec, stepMs = 300_000): Promise<string> {
  const gateways = mesh.gateways;
  const guest = gateways[0] as JobGateway;
  const submitted = await submitJob(guest, {
    protocol: job.task === 'logistic' ? 'vfl-logistic' : 'vfl-linear',
    purpose: JOB_PURPOSE,
    params: job.params,
    receivers: [guest.partyId],
    parties: gateways.map((gw, i) => ({
      id: gw.partyId,
      role: i === 0 ? 'guest' : 'host',
      view: 'customers',
      idColumn: 'vin',
      columns: job.columns[gw.partyId] as string[],
    })),
    deadlines: { stepMs },
  });
  expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
  return String(submitted.body.id);
}

/** Submits the job and waits for it to end at every party. */
export async function runVfl(mesh: JointMesh, job: VflJobSpec) {
  const id = await submitVfl(mesh, job);
  const views = await Promise.all(mesh.gateways.map((gw) => settled(gw, id, 300_000)));
  return { id, views };
}

/** The aligned order of the PSI job at the guest, as raw customer ids. */
export async function alignedIds(mesh: JointMesh, psiJob: string): Promise<string[]> {
  const guest = mesh.gateways[0] as JobGateway;
  const byPseudonym = new Map(mesh.splits.get(guest.partyId)!.rows.map((r) => [guest.pseudonym(r[0] as string), r[0]]));
  const out = await readOutput(guest, psiJob);
  return (out.body.subjects as string[]).map((s) => byPseudonym.get(s) as string);
}

/** The plaintext model on the joined rows `ids` (in aligned order) and its held-out metrics. */
export const plaintextModel = (
  mesh: JointMesh,
  job: VflJobSpec & { id: string },
  ids: readonly string[],
  link: 'exact' | 'taylor' = 'exact',
): Metrics => metricsOf(job.task, plaintextPairs(mesh, job, ids, link));

/** The plaintext model's held-out (score, label) pairs: logits for logistic, label units for linear regression. */
export function plaintextPairs(
  mesh: JointMesh,
  job: VflJobSpec & { id: string },
  ids: readonly string[],
  link: 'exact' | 'taylor' = 'exact',
): Scored[] {
  const params = VflParams.parse(job.params);
  const kept = Uint32Array.from(ids.keys());
  const { train, test } = splitRows(kept, params.testPercent);
  const guestId = mesh.gateways[0]!.partyId;
  const columns: Float64Array[] = [];
  let label = new Float64Array(0);
  let labelScale = { mean: 0, scale: 1 };
  for (const gw of mesh.gateways) {
    const split = mesh.splits.get(gw.partyId)!;
    const byId = new Map(split.rows.map((r) => [r[0] as string, r]));
    const valueOf = (column: string) =>
      Float64Array.from(ids, (id) => Number(byId.get(id)![split.header.indexOf(column)]));
    const own = job.columns[gw.partyId]!.filter((c) => gw.partyId !== guestId || c !== params.label).map(valueOf);
    columns.push(...applyScaler(fitScaler(own, train), own).columns);
    if (gw.partyId === guestId) {
      label = valueOf(params.label);
      if (job.task === 'linear') {
        const s = fitScaler([label], train);
        labelScale = { mean: s.means[0]!, scale: s.scales[0]! };
        label = label.map((y) => (y - labelScale.mean) / labelScale.scale);
      }
    }
  }
  const { weights } = trainPlain({
    task: job.task,
    columns,
    label,
    batches: (epoch) => epochBatches(train, params.batchSize, { seed: params.seed, epoch }),
    epochs: params.epochs,
    learningRate: params.learningRate,
    l2: params.l2,
    tolerance: params.tolerance,
    link,
  });
  const scores = partialScores([...columns, new Float64Array(ids.length).fill(1)], weights, test);
  return test.map((r, i) => {
    const score = scores[i]!;
    const y = label[r]!;
    return job.task === 'logistic'
      ? { score, label: y }
      : { score: score * labelScale.scale + labelScale.mean, label: y * labelScale.scale + labelScale.mean };
  });
}
