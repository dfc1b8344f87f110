// Joint statistics under hostile input, on the wire, and with differential privacy: a forged request is refused by
// the host with a stable code; the captured traffic holds no segment, label or feature value; noisy aggregates spend
// the host's epsilon budget for the view and purpose, and a job that would pass it is refused and audited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  captureEgress,
  interceptPeerCalls,
  readOutput,
  stopJobMesh,
  type Exchange,
  type JobGateway,
} from '../jobs/job-fixture.ts';
import { alignParties, startJointMesh, type JointMesh } from '../joint/joint-fixture.ts';
import { buildFrame, isMessageCall, parseFrame } from '../joint/frames.ts';
import { runStats } from './stats-fixture.ts';
import type { StatsResult } from '../../../mpc/stats/stats-guest.ts';

let mesh: JointMesh;
let psiJob: string;

beforeAll(async () => {
  mesh = await startJointMesh(
    [
      { id: 'dealer', split: 'breast_hetero_guest', withSegment: true },
      { id: 'insurer', split: 'breast_hetero_host' },
    ],
    10,
  );
  psiJob = await alignParties(mesh.gateways);
}, 240_000);

afterAll(async () => stopJobMesh(mesh?.gateways ?? []));

describe('joint statistics against a hostile requester', () => {
  it('refuses a request whose ciphertexts are forged: HE_BAD_CIPHERTEXT at both parties', async () => {
    const [dealer] = mesh.gateways as [JobGateway];
    const restore = interceptPeerCalls(dealer, {
      before: (call) => {
        if (!isMessageCall(call.path)) return call.body;
        const frame = parseFrame(call.body as Uint8Array);
        if (frame.header.kind !== 'stats-request') return call.body;
        return buildFrame(
          frame.header,
          frame.blobs.map((b, i) => (i === 1 ? Buffer.from(b).fill(7, 64, 4096) : b)),
        );
      },
    });
    try {
      const { views } = await runStats(mesh.gateways, { psiJob, segment: 'segment' });
      for (const view of views) expect(view.failure).toMatchObject({ code: 'HE_BAD_CIPHERTEXT', party: 'insurer' });
    } finally {
      restore();
    }
  }, 120_000);

  it('refuses a request with more groups than it carries ciphertexts: JOB_BAD_MESSAGE', async () => {
    const [dealer] = mesh.gateways as [JobGateway];
    const restore = interceptPeerCalls(dealer, {
      before: (call) => {
        if (!isMessageCall(call.path)) return call.body;
        const frame = parseFrame(call.body as Uint8Array);
        if (frame.header.kind !== 'stats-request') return call.body;
        return buildFrame({ ...frame.header, meta: { groups: 9, hasLabel: false } }, frame.blobs);
      },
    });
    try {
      const { views } = await runStats(mesh.gateways, { psiJob, segment: 'segment' });
      for (const view of views) expect(view.failure).toMatchObject({ code: 'JOB_BAD_MESSAGE', party: 'insurer' });
    } finally {
      restore();
    }
  }, 120_000);
});

describe('what a statistics job sends', () => {
  it('holds no segment, label or feature value in the clear', async () => {
    const exchanges: Exchange[] = [];
    for (const gw of mesh.gateways) captureEgress(gw, exchanges);
    const { views } = await runStats(mesh.gateways, { psiJob, segment: 'segment', label: 'y' });
    expect(views.map((v) => v.status)).toEqual(['completed', 'completed']);
    const all = Buffer.concat(exchanges.flatMap((e) => [e.request, e.response]));
    const text = all.toString('latin1');
    for (const segment of ['north', 'south', 'east', 'island']) expect(text.includes(segment)).toBe(false);
    const floats = new Set<bigint>();
    for (const gw of mesh.gateways)
      for (const row of mesh.splits.get(gw.partyId)!.rows)
        for (const cell of row.slice(1)) {
          const value = Number(cell);
          if (value === 0 || value === 1) continue;
          const bytes = Buffer.alloc(8);
          bytes.writeDoubleLE(value);
          floats.add(bytes.readBigUInt64LE(0));
          floats.add(bytes.readBigUInt64BE(0));
        }
    let found = 0;
    for (let at = 0; at + 8 <= all.length; at++) if (floats.has(all.readBigUInt64LE(at))) found++;
    expect(found).toBe(0);
  }, 120_000);
});

describe('differential privacy', () => {
  it('adds noise, spends the host budget, and refuses the job that would pass it', async () => {
    const [dealer, insurer] = mesh.gateways as [JobGateway, JobGateway];
    const exact = await runStats(mesh.gateways, { psiJob, segment: 'segment' });
    const noisy = await runStats(mesh.gateways, { psiJob, segment: 'segment', epsilon: 0.6 });
    expect(noisy.views.map((v) => v.status)).toEqual(['completed', 'completed']);
    const a = (await readOutput(dealer, exact.id)).body.result as StatsResult;
    const b = (await readOutput(dealer, noisy.id)).body.result as StatsResult;
    expect(b.epsilon).toBe(0.6);
    const sums = (r: StatsResult) => Object.values(r.hosts.insurer!.x0!.byGroup).map((g) => g.sum as number);
    // Noise of scale 2^e / (0.6 / 3 columns / 4 parts): far above CKKS error, far below the sums' size.
    expect(sums(a).some((s, i) => Math.abs(s - sums(b)[i]!) > 0.05)).toBe(true);

    // The purpose's budget is 1: 0.6 is spent, another 0.6 would pass it.
    const refused = await runStats(mesh.gateways, { psiJob, segment: 'segment', epsilon: 0.6 });
    for (const view of refused.views)
      expect(view.failure).toMatchObject({ code: 'PRIVACY_BUDGET_EXCEEDED', party: 'insurer' });
    // The refusal is in the insurer's audit chain, with its code, referring to the job.
    const audit = await insurer.ctx.consent.listAudit({ ref: refused.id, limit: 100 });
    expect(audit.some((e) => e.action === 'job-fail' && e.detail.code === 'PRIVACY_BUDGET_EXCEEDED')).toBe(true);
    expect(await insurer.ctx.connectors.views.get('customers')).toBeDefined();
  }, 180_000);
});
