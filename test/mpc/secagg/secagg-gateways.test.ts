// Secure aggregation between five real gateways (docs/secagg.md, docs/hfl.md): five dealerships hold the FATE breast
// rows dealt out horizontally. A `secagg` job sums their columns exactly, and no party's vector crosses the wire
// unmasked; an `hfl-fedavg` job trains one logistic model whose AUC on rows no gateway holds matches a model trained
// on the pooled rows in the same run; and a gateway that dies mid-round leaves a round that completes without it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  captureEgress,
  getJob,
  interceptPeerCalls,
  readOutput,
  restartJobGateway,
  settled,
  stopJobMesh,
  submitJob,
  withdrawConsent,
  type Exchange,
  type JobGateway,
} from '../jobs/job-fixture.ts';
import { startJointMesh, type JointMesh, type Split } from '../joint/joint-fixture.ts';
import { buildFrame, parseFrame } from '../joint/frames.ts';
import { FEATURES, loadBreast, splitHorizontal, type HorizontalParty, type Table } from '../hfl/breast-horizontal.ts';
import { epochBatches, isHeldOut } from '../../../mpc/vfl/training-plan.ts';
import { partialScores, trainPlain } from '../../../mpc/vfl/linear-model.ts';
import { auc } from '../../../mpc/vfl/metrics.ts';
import { applyScaler, fitScaler } from '../../../mpc/vfl/standardize.ts';
import { quantize } from '../../../mpc/secagg/quantize.ts';
import { totalsDimension } from '../../../mpc/secagg/column-totals.ts';
import { vectorToBytes } from '../../../mpc/secagg/ring.ts';
import { LOCAL_TRAINING_DEFAULTS } from '../../../mpc/hfl/local-training.ts';
import { scalerFromSum, scalerStats } from '../../../mpc/hfl/global-scaler.ts';
import { hflQuantization } from '../../../mpc/hfl/hfl-params.ts';

const PARTIES = ['dealer-1', 'dealer-2', 'dealer-3', 'dealer-4', 'dealer-5'];
const TOTALLED = ['y', 'x0', 'x1'];
const SUM_PARAMS = { threshold: 3, ring: 64, fractionBits: 16, clip: 1_000_000, phaseMs: 10_000 } as const;
let mesh: JointMesh;
let parties: HorizontalParty[] = [];
let heldOut: Table;
const egress: Exchange[] = [];

const subset = (table: Table, keep: (i: number) => boolean): Table => {
  const rows = table.ids.flatMap((_, i) => (keep(i) ? [i] : []));
  return {
    ids: rows.map((r) => table.ids[r]!),
    y: Float64Array.from(rows, (r) => table.y[r]!),
    columns: table.columns.map((c) => Float64Array.from(rows, (r) => c[r]!)),
  };
};
const splitOf = (table: Table): Split => ({
  header: ['id', 'y', ...FEATURES],
  rows: table.ids.map((id, r) => [id, String(table.y[r]), ...table.columns.map((c) => String(c[r]))]),
});
const valueOf = (table: Table, column: string, r: number) =>
  column === 'y' ? table.y[r]! : table.columns[FEATURES.indexOf(column)]![r]!;

beforeAll(async () => {
  const breast = loadBreast();
  // Rows no gateway holds: the federated and the pooled model are both judged on them.
  heldOut = subset(breast, (i) => isHeldOut(i, 20));
  const rest = subset(breast, (i) => !isHeldOut(i, 20));
  parties = splitHorizontal({ parties: PARTIES.length, seed: 7, table: rest });
  mesh = await startJointMesh(PARTIES.map((id, i) => ({ id, split: splitOf(parties[i]!) })));
  for (const gw of mesh.gateways) captureEgress(gw, egress);
}, 240_000);

afterAll(async () => stopJobMesh(mesh?.gateways ?? []));

const jobParties = (columns: readonly string[], ids: readonly string[] = PARTIES) =>
  ids.map((id, i) => ({
    id,
    role: i === 0 ? ('guest' as const) : ('host' as const),
    view: 'customers',
    idColumn: 'vin',
    columns: [...columns],
  }));

/** Submits at the coordinator and waits for the job to end at `gateways`; `progress` gets what the job view shows. */
async function runJob(
  request: Parameters<typeof submitJob>[1],
  gateways: readonly JobGateway[],
  options: { ms?: number; progress?: Record<string, number>[] } = {},
) {
  const submitted = await submitJob(mesh.gateways[0]!, request);
  expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
  const id = String(submitted.body.id);
  let isOver = false;
  const watching = (async () => {
    while (!isOver && options.progress !== undefined) {
      const metrics = (await getJob(mesh.gateways[0]!, id)).progress?.metrics;
      if (metrics !== undefined) options.progress.push(metrics);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const views = await Promise.all(gateways.map((gw) => settled(gw, id, options.ms ?? 120_000)));
  isOver = true;
  await watching;
  return { id, views };
}

describe('secure sums between five gateways', () => {
  it('sums every party’s column totals exactly, and no party’s vector crosses the wire unmasked', async () => {
    egress.length = 0;
    const { id, views } = await runJob(
      {
        protocol: 'secagg',
        purpose: 'customer-alignment',
        params: SUM_PARAMS,
        receivers: PARTIES,
        parties: jobParties(TOTALLED),
        deadlines: { stepMs: 120_000 },
      },
      mesh.gateways,
    );
    expect(views.map((v) => [v.status, v.failure?.code ?? null])).toEqual(PARTIES.map(() => ['completed', null]));
    const rows = parties.reduce((n, p) => n + p.ids.length, 0);
    for (const gw of mesh.gateways) {
      const result = (await readOutput(gw, id)).body.result as {
        totals: { rows: number; columns: Record<string, { sum: number; present: number }> };
        contributors: string[];
      };
      expect(result.totals.rows).toBe(rows);
      expect(result.contributors).toEqual(PARTIES);
      for (const column of TOTALLED) {
        const plain = parties.reduce((s, p) => s + p.ids.reduce((t, _, r) => t + valueOf(p, column, r), 0), 0);
        expect(result.totals.columns[column]!.sum).toBeCloseTo(plain, 3);
        expect(result.totals.columns[column]!.present).toBe(rows);
      }
    }
    // Each party's own vector, quantized as it was sent into the round: its bytes appear in no request or response.
    for (const party of parties) {
      const totals = new Float64Array(totalsDimension(TOTALLED));
      totals[0] = party.ids.length;
      TOTALLED.forEach((column, c) => {
        totals[1 + 2 * c] = party.ids.reduce((t, _, r) => t + valueOf(party, column, r), 0);
        totals[2 + 2 * c] = party.ids.length;
      });
      const bytes = Buffer.from(
        vectorToBytes(
          quantize(totals, { ring: SUM_PARAMS.ring, clip: SUM_PARAMS.clip, fractionBits: SUM_PARAMS.fractionBits }),
        ),
      );
      for (const e of egress) {
        expect(e.request.includes(bytes)).toBe(false);
        expect(e.response.includes(bytes)).toBe(false);
      }
    }
    const messages = egress.filter((e) => e.url.includes('/peer/v1/jobs/messages'));
    expect(messages.length).toBeGreaterThan(PARTIES.length * 5);
    // Hosts talk only to the coordinator.
    expect(messages.filter((e) => e.from !== PARTIES[0] && !e.url.startsWith(mesh.gateways[0]!.url))).toEqual([]);
  });
});

describe('job requests', () => {
  it('refuses, before any party is asked, a threshold that cannot hold, mismatched columns and a model kept from a party', async () => {
    const base = {
      protocol: 'secagg',
      purpose: 'customer-alignment',
      receivers: [PARTIES[0]!],
      parties: jobParties(TOTALLED),
      deadlines: { stepMs: 60_000 },
    };
    const refusals: [unknown, string][] = [
      // With two contributors the coordinator, one of them, would learn the other's vector.
      [{ ...base, params: { ...SUM_PARAMS, threshold: 2 } }, '/params/threshold'],
      // More than the holders of each secret: no secret could ever be rebuilt.
      [{ ...base, params: { ...SUM_PARAMS, threshold: 6 } }, '/params/threshold'],
      // 10^6 · 2^40 is past 2^53: the scaled values would not be exact.
      [{ ...base, params: { ...SUM_PARAMS, fractionBits: 40 } }, '/params/clip'],
      [{ ...base, params: SUM_PARAMS, parties: jobParties(['x0', ...FEATURES.slice(1, 16)]) }, '/parties/0/columns'],
      [
        {
          ...base,
          params: SUM_PARAMS,
          parties: jobParties(TOTALLED).map((p, i) => (i === 2 ? { ...p, columns: ['y', 'x1', 'x0'] } : p)),
        },
        '/parties/2/columns',
      ],
      [
        {
          ...base,
          protocol: 'hfl-fedavg',
          params: { task: 'logistic', label: 'y', threshold: 3 },
          parties: jobParties(['y', 'x0']),
        },
        '/receivers',
      ],
    ];
    for (const [request, pointer] of refusals) {
      const res = await submitJob(mesh.gateways[0]!, request as Parameters<typeof submitJob>[1]);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('BAD_INPUT');
      expect((res.body.errors as { pointer: string }[]).map((e) => e.pointer)).toContain(pointer);
    }
  });
});

describe('federated averaging between five gateways', () => {
  it('trains one model whose AUC on rows no gateway holds is within 0.01 of the pooled model’s', async () => {
    const progress: Record<string, number>[] = [];
    const { id, views } = await runJob(
      {
        protocol: 'hfl-fedavg',
        purpose: 'customer-alignment',
        params: { task: 'logistic', label: 'y', threshold: 3, phaseMs: 10_000, model: 'breast-hfl' },
        receivers: PARTIES,
        parties: jobParties(['y', ...FEATURES]),
        deadlines: { stepMs: 300_000 },
      },
      mesh.gateways,
      { ms: 300_000, progress },
    );
    // While it ran, the job view showed the round and the global metric the coordinator learned from summed counts.
    expect(progress.some((m) => m.round! >= 2 && m.auc! > 0.9)).toBe(true);
    expect(views.map((v) => [v.status, v.failure?.code ?? null])).toEqual(PARTIES.map(() => ['completed', null]));
    const parts = await Promise.all(mesh.gateways.map((gw) => gw.ctx.models.get('breast-hfl')));
    for (const part of parts) {
      expect(part?.weights).toEqual(parts[0]?.weights);
      expect(part?.lineage.trainingJob).toBe(id);
      expect(part?.lineage.psiJob).toBeNull();
    }
    const model = parts[0]!;

    // Round 0's vectors, as each party computed them over its own training rows: their sum is the scaler every
    // gateway registered (so these are the vectors the parties sent into the round), and none crossed the wire.
    const contributions = parties.map((p) => scalerStats(p.columns, p.train));
    const summed = scalerFromSum(contributions.reduce((a, v) => a.map((x, i) => x + v[i]!)));
    model.scaler.means.forEach((m, j) => expect(m).toBeCloseTo(summed.means[j]!, 6));
    model.scaler.scales.forEach((m, j) => expect(m).toBeCloseTo(summed.scales[j]!, 6));
    for (const vector of contributions) {
      const bytes = Buffer.from(vectorToBytes(quantize(vector, hflQuantization({ fractionBits: 16 }))));
      expect(egress.some((e) => e.request.includes(bytes) || e.response.includes(bytes))).toBe(false);
    }
    const score = (table: Table, scaler: { means: number[]; scales: number[] }, weights: readonly number[]) => {
      const columns = applyScaler(scaler, table.columns).columns;
      const rows = table.ids.map((_, r) => r);
      const z = partialScores([...columns, new Float64Array(rows.length).fill(1)], weights, rows);
      return auc(rows.map((r) => ({ score: z[r]!, label: table.y[r]! })));
    };
    const federated = score(heldOut, model.scaler, [...model.weights, model.intercept!]);

    // The pooled baseline, in the same run: every gateway's rows in one place, the same standardization and penalty.
    const pooled: Table = {
      ids: parties.flatMap((p) => p.ids),
      y: Float64Array.from(parties.flatMap((p) => [...p.y])),
      columns: FEATURES.map((_, c) => Float64Array.from(parties.flatMap((p) => [...p.columns[c]!]))),
    };
    const all = pooled.ids.map((_, r) => r);
    const scaler = fitScaler(pooled.columns, all);
    const standardized = applyScaler(scaler, pooled.columns).columns;
    const plain = trainPlain({
      task: 'logistic',
      columns: standardized,
      label: pooled.y,
      batches: (epoch) => epochBatches(all, LOCAL_TRAINING_DEFAULTS.batchSize, { seed: 1, epoch }),
      epochs: 100,
      learningRate: LOCAL_TRAINING_DEFAULTS.learningRate,
      l2: LOCAL_TRAINING_DEFAULTS.l2,
      tolerance: 0,
      link: 'exact',
    });
    const baseline = score(heldOut, scaler, plain.weights);
    console.log(
      `hfl-fedavg AUC ${federated.toFixed(4)} vs pooled ${baseline.toFixed(4)} on ${heldOut.ids.length} rows`,
    );
    expect(Math.abs(federated - baseline)).toBeLessThanOrEqual(0.01);
    const view = await getJob(mesh.gateways[0]!, id);
    expect(view.output?.values?.auc).toBeGreaterThan(0.9);
  });
});

describe('hostile and vanishing parties', () => {
  it('a host whose masked vector has the wrong length is refused with SECAGG_BAD_VECTOR and left out of the sum', async () => {
    const hostile = mesh.gateways[1]!;
    const restore = interceptPeerCalls(hostile, {
      before: (call) => {
        if (frameKind(call.body) !== 'masked-input') return call.body;
        const frame = parseFrame(call.body as Uint8Array);
        return buildFrame(
          frame.header,
          frame.blobs.map((blob) => blob.subarray(0, blob.length - 8)),
        );
      },
    });
    try {
      const honest = mesh.gateways.filter((gw) => gw !== hostile);
      const { id, views } = await runJob(
        {
          protocol: 'secagg',
          purpose: 'customer-alignment',
          params: { ...SUM_PARAMS, phaseMs: 3_000 },
          receivers: [PARTIES[0]!],
          parties: jobParties(TOTALLED),
          deadlines: { stepMs: 60_000 },
        },
        honest,
      );
      expect(views.map((v) => v.status)).toEqual(honest.map(() => 'completed'));
      const result = (await readOutput(mesh.gateways[0]!, id)).body.result as {
        contributors: string[];
        dropped: { party: string; phase: string; code: string }[];
        totals: { rows: number };
      };
      expect(result.contributors).toEqual(PARTIES.filter((p) => p !== hostile.partyId));
      expect(result.dropped).toEqual([{ party: hostile.partyId, phase: 'masked-input', code: 'SECAGG_BAD_VECTOR' }]);
      // Operators see it too: the coordinator counts the drop by protocol, party and code.
      const counted = await mesh.gateways[0]!.ctx.metrics.partiesDropped.get();
      expect(counted.values).toContainEqual(
        expect.objectContaining({
          labels: { protocol: 'secagg', peer: hostile.partyId, code: 'SECAGG_BAD_VECTOR' },
          value: 1,
        }),
      );
      expect(result.totals.rows).toBe(parties.filter((_, i) => i !== 1).reduce((n, p) => n + p.ids.length, 0));
      // The hostile host hears nothing more of the round; the coordinator's last word says it went on without it.
      expect((await settled(hostile, id, 10_000)).failure?.code).toBe('JOB_DROPPED_OUT');
    } finally {
      restore();
    }
  });

  it('fails the round with SECAGG_TOO_FEW_PARTIES naming the party and phase once fewer than t remain', async () => {
    const slow = mesh.gateways[2]!;
    // The slow host's seed shares arrive after the phase has closed: with t = 5 of 5, the round cannot go on.
    const restore = interceptPeerCalls(slow, {
      before: async (call) => {
        if (frameKind(call.body) === 'shares') await new Promise((resolve) => setTimeout(resolve, 3_000));
        return call.body;
      },
    });
    try {
      const { views } = await runJob(
        {
          protocol: 'secagg',
          purpose: 'customer-alignment',
          params: { ...SUM_PARAMS, threshold: 5, phaseMs: 1_500 },
          receivers: [PARTIES[0]!],
          parties: jobParties(TOTALLED),
          deadlines: { stepMs: 60_000 },
        },
        mesh.gateways,
      );
      const coordinator = views[0]!;
      expect(coordinator.status).toBe('failed');
      expect(coordinator.failure?.code).toBe('SECAGG_TOO_FEW_PARTIES');
      expect(coordinator.failure?.message).toContain(slow.partyId);
      expect(coordinator.failure?.message).toContain('share');
      for (const view of views) expect(view.failure?.code).toBe('SECAGG_TOO_FEW_PARTIES');
    } finally {
      restore();
    }
  });
});

describe('a gateway that dies mid-round', () => {
  it('is dropped in the phase it missed, and the round completes with the sum of the four others', async () => {
    const [coordinator] = mesh.gateways as [JobGateway];
    const victim = mesh.gateways[3]!;
    let killing: Promise<void> | null = null;
    // The victim has dealt its seed shares; it dies as the coordinator hands it the shares addressed to it, so it
    // never sends its masked vector and its pairwise masks must be rebuilt from the others' shares of its key.
    const restore = interceptPeerCalls(coordinator, {
      before: (call) => {
        if (killing === null && call.peer === victim.partyId && frameKind(call.body) === 'inbox')
          killing = victim.stop();
        return call.body;
      },
    });
    try {
      const survivors = mesh.gateways.filter((gw) => gw !== victim);
      const { id, views } = await runJob(
        {
          protocol: 'secagg',
          purpose: 'customer-alignment',
          params: SUM_PARAMS,
          receivers: [PARTIES[0]!],
          parties: jobParties(TOTALLED),
          deadlines: { stepMs: 120_000, acceptMs: 10_000 },
        },
        survivors,
      );
      await killing;
      expect(views.map((v) => [v.status, v.failure?.code ?? null])).toEqual(survivors.map(() => ['completed', null]));
      const result = (await readOutput(coordinator, id)).body.result as {
        totals: { rows: number };
        contributors: string[];
        dropped: { party: string; phase: string }[];
      };
      const kept = parties.filter((_, i) => i !== 3);
      expect(result.contributors).toEqual(PARTIES.filter((p) => p !== victim.partyId));
      expect(result.dropped.map((d) => [d.party, d.phase])).toEqual([[victim.partyId, 'masked-input']]);
      expect(result.totals.rows).toBe(kept.reduce((n, p) => n + p.ids.length, 0));
    } finally {
      restore();
    }
  });
});

describe('a coordinator restarted mid-round', () => {
  it('resumes the job on its own with a fresh attempt, and the sum is exact', async () => {
    const alive = mesh.gateways.filter((_, i) => i !== 3);
    const ids = alive.map((gw) => gw.partyId);
    const coordinator = alive[0]!;
    let stopping: Promise<void> | null = null;
    interceptPeerCalls(coordinator, {
      before: (call) => {
        if (stopping === null && frameKind(call.body) === 'inbox') stopping = coordinator.stop();
        return call.body;
      },
    });
    const submitted = await submitJob(coordinator, {
      protocol: 'secagg',
      purpose: 'customer-alignment',
      params: { ...SUM_PARAMS, phaseMs: 5_000 },
      receivers: [ids[0]!],
      parties: jobParties(TOTALLED, ids),
      deadlines: { stepMs: 60_000, acceptMs: 10_000 },
    });
    const id = String(submitted.body.id);
    for (let i = 0; i < 200 && stopping === null; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    await stopping;
    const restarted = await restartJobGateway(coordinator);
    mesh.gateways[0] = restarted;
    const views = await Promise.all([restarted, ...alive.slice(1)].map((gw) => settled(gw, id, 60_000)));
    expect(views.map((v) => [v.self, v.status, v.failure?.code ?? null])).toEqual(
      ids.map((p) => [p, 'completed', null]),
    );
    expect(views[0]?.steps[0]?.attempt).toBeGreaterThan(1);
    const result = (await readOutput(restarted, id)).body.result as {
      totals: { rows: number };
      contributors: string[];
    };
    expect(result.contributors).toEqual(ids);
    expect(result.totals.rows).toBe(parties.filter((_, i) => i !== 3).reduce((n, p) => n + p.ids.length, 0));
  });
});

describe('consent', () => {
  it('leaves out the customers whose consent was withdrawn: only consented rows are summed', async () => {
    const alive = mesh.gateways.filter((_, i) => i !== 3);
    const ids = alive.map((gw) => gw.partyId);
    const insurer = mesh.gateways[1]!;
    const withdrawn = parties[1]!.ids.slice(0, 5);
    const records = mesh.consents.get(insurer.partyId)!;
    for (const customer of withdrawn) await withdrawConsent(insurer, records.get(customer)!);
    const { id, views } = await runJob(
      {
        protocol: 'secagg',
        purpose: 'customer-alignment',
        params: SUM_PARAMS,
        receivers: [ids[0]!],
        parties: jobParties(TOTALLED, ids),
        deadlines: { stepMs: 60_000 },
      },
      alive,
    );
    expect(views.map((v) => v.status)).toEqual(alive.map(() => 'completed'));
    const result = (await readOutput(alive[0]!, id)).body.result as {
      totals: { rows: number; columns: Record<string, { sum: number }> };
    };
    const kept = parties.filter((_, i) => i !== 3);
    const isWithdrawn = (p: Table, r: number) => p === parties[1] && withdrawn.includes(p.ids[r]!);
    const plain = kept.reduce((s, p) => s + p.ids.reduce((t, _, r) => t + (isWithdrawn(p, r) ? 0 : p.y[r]!), 0), 0);
    expect(result.totals.rows).toBe(kept.reduce((n, p) => n + p.ids.length, 0) - withdrawn.length);
    expect(result.totals.columns.y!.sum).toBeCloseTo(plain, 3);
  });
});

describe('federated averaging when a dealership goes offline mid-training', () => {
  it('goes on with the others from the round it left, and every other party registers the same model', async () => {
    const alive = mesh.gateways.filter((_, i) => i !== 3);
    const ids = alive.map((gw) => gw.partyId);
    const leaving = alive[2]!;
    const phaseMs = 1_500;
    // From round 3 on, the leaving dealership's key advertisement arrives after the phase has closed.
    const restore = interceptPeerCalls(leaving, {
      before: async (call) => {
        const header = frameHeader(call.body);
        if (header?.kind === 'advertise' && header.seq >= 3) await new Promise((r) => setTimeout(r, phaseMs + 1_000));
        return call.body;
      },
    });
    try {
      const { id, views } = await runJob(
        {
          protocol: 'hfl-fedavg',
          purpose: 'customer-alignment',
          params: { task: 'logistic', label: 'y', threshold: 3, phaseMs, rounds: 6, tolerance: 0, model: 'left' },
          receivers: ids,
          parties: jobParties(['y', ...FEATURES], ids),
          deadlines: { stepMs: 120_000 },
        },
        alive,
      );
      const stayed = alive.filter((gw) => gw !== leaving);
      expect(views.map((v) => [v.self, v.status])).toEqual(
        ids.map((p) => [p, p === leaving.partyId ? 'failed' : 'completed']),
      );
      const rounds = (
        (await readOutput(alive[0]!, id)).body.result as {
          rounds: { round: number; contributors: number; dropped: { party: string; phase: string }[] }[];
        }
      ).rounds;
      expect(rounds.filter((r) => r.round < 3).every((r) => r.contributors === 4)).toBe(true);
      expect(rounds.filter((r) => r.round >= 3).every((r) => r.contributors === 3)).toBe(true);
      expect(rounds.find((r) => r.round === 3)?.dropped).toEqual([
        expect.objectContaining({ party: leaving.partyId, phase: 'advertise' }),
      ]);
      const models = await Promise.all(stayed.map((gw) => gw.ctx.models.get('left')));
      for (const model of models) expect(model?.weights).toEqual(models[0]?.weights);
      expect(models[0]?.evaluation?.auc).toBeGreaterThan(0.9);
      expect(await leaving.ctx.models.get('left')).toBeUndefined();
    } finally {
      restore();
    }
  });
});

/** The kind and round of a framed protocol message in a peer call's body (mpc/jobs/framed-messages.ts), or null. */
function frameHeader(body: unknown): { kind: string; seq: number } | null {
  if (!(body instanceof Uint8Array) || body.length < 4) return null;
  const length = Buffer.from(body).readUInt32BE(0);
  try {
    return JSON.parse(Buffer.from(body.subarray(4, 4 + length)).toString('utf8')) as { kind: string; seq: number };
  } catch {
    return null;
  }
}
const frameKind = (body: unknown): string | null => frameHeader(body)?.kind ?? null;
