// Three parties, one model: a seeded generator draws customers whose value is a known linear function of features
// spread over a dealer, an insurer and a charging operator. Federated linear regression, with the hosts' messages to
// each other relayed by the guest, must recover the weights.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interceptPeerCalls, readOutput, stopJobMesh, type JobGateway } from '../jobs/job-fixture.ts';
import { buildFrame, isMessageCall, parseFrame } from '../joint/frames.ts';
import { relayKeyPair } from '../../../mpc/vfl/relay-seal.ts';
import { alignParties, startJointMesh, type JointMesh, type Split } from '../joint/joint-fixture.ts';
import { prng as seededRandom } from '../../fixtures/json-mutations.ts';
import { alignedIds, plaintextModel, runVfl } from './vfl-fixture.ts';

const ROWS = 600;
const WEIGHTS = { dealer: [1.5, -0.8], insurer: [0.6, 2.0], charging: [-1.2] } as const;
const INTERCEPT = 3;
let mesh: JointMesh;
let psiJob: string;
let y: number[] = [];

function generate(): Record<keyof typeof WEIGHTS, Split> {
  const random = seededRandom(2026);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const rows = { dealer: [] as string[][], insurer: [] as string[][], charging: [] as string[][] };
  y = [];
  for (let i = 0; i < ROWS; i++) {
    let value = INTERCEPT + 0.05 * gaussian();
    for (const party of ['dealer', 'insurer', 'charging'] as const) {
      const xs = WEIGHTS[party].map(() => gaussian());
      xs.forEach((x, j) => (value += WEIGHTS[party][j]! * x));
      rows[party].push([String(i), ...xs.map((x) => x.toFixed(6))]);
    }
    y.push(value);
    rows.dealer[i]!.splice(1, 0, value.toFixed(6));
  }
  return {
    dealer: { header: ['id', 'y', 'x0', 'x1'], rows: rows.dealer },
    insurer: { header: ['id', 'x0', 'x1'], rows: rows.insurer },
    charging: { header: ['id', 'x0'], rows: rows.charging },
  };
}

beforeAll(async () => {
  const splits = generate();
  mesh = await startJointMesh([
    { id: 'dealer', split: splits.dealer },
    { id: 'insurer', split: splits.insurer },
    { id: 'charging', split: splits.charging },
  ]);
  psiJob = await alignParties(mesh.gateways);
}, 240_000);

afterAll(async () => stopJobMesh(mesh?.gateways ?? []));

describe('three-party vertical model', () => {
  it('recovers the generating weights at every party, and its held-out error matches the plaintext model', async () => {
    const job = {
      task: 'linear' as const,
      columns: { dealer: ['y', 'x0', 'x1'], insurer: ['x0', 'x1'], charging: ['x0'] },
      params: {
        psiJob,
        label: 'y',
        epochs: 10,
        batchSize: 160,
        learningRate: 0.2,
        l2: 0,
        tolerance: 0,
        model: 'three',
      },
    };
    const { id, views } = await runVfl(mesh, job);
    expect(views.map((v) => [v.status, v.failure?.code ?? null])).toEqual([
      ['completed', null],
      ['completed', null],
      ['completed', null],
    ]);
    for (const gw of mesh.gateways) {
      const part = (await gw.ctx.models.get('three'))!;
      const label = part.labelScaler ?? (await mesh.gateways[0]!.ctx.models.get('three'))!.labelScaler!;
      // Back from standardized units: w = w_std · σ_y / σ_x.
      const recovered = part.weights.map((w, j) => (w * label.scale) / part.scaler.scales[j]!);
      const expected = WEIGHTS[gw.partyId as keyof typeof WEIGHTS];
      recovered.forEach((w, j) => expect(Math.abs(w - expected[j]!)).toBeLessThan(0.05));
    }
    // The held-out scores went through both hosts (the first adding in row order, the second shuffling) and match the
    // plaintext model's.
    const result = (await readOutput(mesh.gateways[0]!, id)).body.result as { metrics: Record<string, number> };
    const plain = plaintextModel(mesh, { ...job, id }, await alignedIds(mesh, psiJob));
    expect(Math.abs(result.metrics.rmse! - plain.rmse!) / plain.rmse!).toBeLessThan(0.02);
  }, 300_000);

  it('fails when the guest swaps a host key it relays: the other host finds it unsigned by that host', async () => {
    const [dealer] = mesh.gateways as [JobGateway];
    const swapped = relayKeyPair().publicKey;
    let forged = 0;
    const restore = interceptPeerCalls(dealer, {
      before: (call) => {
        if (!isMessageCall(call.path)) return call.body;
        const frame = parseFrame(call.body as Uint8Array);
        // A relayed key carries the origin's index (1 or 2) in its sequence number; the guest's own is index 0.
        if (frame.header.kind !== 'key' || frame.header.seq % 32 === 0) return call.body;
        forged++;
        return buildFrame(
          frame.header,
          frame.blobs.map((b, i) => (i === 1 ? Buffer.from(swapped) : b)),
        );
      },
    });
    try {
      const { views } = await runVfl(mesh, {
        task: 'linear',
        columns: { dealer: ['y', 'x0', 'x1'], insurer: ['x0', 'x1'], charging: ['x0'] },
        params: { psiJob, label: 'y', epochs: 1, batchSize: 160 },
      });
      expect(forged).toBeGreaterThan(0);
      for (const view of views) expect(view.failure).toMatchObject({ code: 'JOB_BAD_MESSAGE' });
      expect(views[0]!.failure?.message).toMatch(/relay key/);
    } finally {
      restore();
    }
  }, 120_000);
});
