// A feature holder's side of a joint-statistics job: align, wait for the requester's encrypted indicator vectors,
// multiply them by its own columns under encryption, mask each product's slots (with Laplace noise in the tile sums
// when the job asks for differential privacy), and send the products back. It never sees a segment or a label: only
// ciphertexts under the requester's key.
import { GatewayError } from '../../core/errors.ts';
import { productCount, slotLayout } from '../he/slot-layout.ts';
import { tileMasks } from '../he/tile-masks.ts';
import { HE_PRESETS } from '../he/he-presets.ts';
import { sendMessage } from '../jobs/framed-messages.ts';
import { guestOf } from '../jobs/job.ts';
import type { StepResult } from '../jobs/protocol.ts';
import { partyFor } from '../jobs/consent-filter.ts';
import { readAlignedRows } from '../joint/aligned-rows.ts';
import { agreeOnRows, keptValues } from '../joint/alignment-exchange.ts';
import { laplace } from './laplace.ts';
import { planColumn, type PlannedColumn } from './stat-columns.ts';
import { parseMeta, RequestMeta, STATS_KINDS } from './stats-messages.ts';
import type { StatsRun } from './stats-run.ts';

/** Tile totals for `count` products: zero, or Laplace noise of scale 1/epsilon (every product has sensitivity 1). */
function noiseTotals(count: number, epsilonPerPart: number | null): number[] {
  return Array.from({ length: count }, () => (epsilonPerPart === null ? 0 : laplace(1 / epsilonPerPart)));
}

export async function runStatsHost(run: StatsRun): Promise<StepResult> {
  const { context, mailbox, params, progress } = run;
  const { spec, self } = context;
  const party = partyFor(spec, self);
  const guest = guestOf(spec).id;
  const purpose = context.purpose();
  if (purpose === undefined)
    throw new GatewayError('CONSENT_DENIED', `purpose ${spec.purpose} is not declared at this gateway`);
  const k = purpose.kThreshold;

  const local = await readAlignedRows(context, params.psiJob, party.columns);
  const agreed = await agreeOnRows(context, mailbox, local, 'compute.joint-stats');
  progress.bytesOut += agreed.bytesOut;
  const rows = agreed.kept.length;
  if (rows === 0) throw new GatewayError('JOB_ALIGNMENT_UNAVAILABLE', 'no aligned customer is left to describe');

  const planned: PlannedColumn[] = party.columns.map((name) => {
    const values = keptValues(local.values.get(name) ?? [], agreed.kept);
    const numeric = Float64Array.from(values, (v) => {
      if (v === null) return Number.NaN;
      if (typeof v !== 'number')
        throw new GatewayError('BAD_INPUT', `column ${name} is not numeric: joint statistics describe numbers`);
      return v;
    });
    return planColumn(name, numeric, params.bins, k);
  });
  progress.rows = rows;

  const request = await mailbox.take(guest, STATS_KINDS.request, 0);
  const meta = parseMeta(RequestMeta, request.meta, STATS_KINDS.request);
  const preset = HE_PRESETS[params.preset];
  const layout = slotLayout(rows, preset.slots);
  const vectors = meta.groups + (meta.hasLabel ? 2 : 0);
  if (request.blobs.length !== 1 + vectors * layout.chunks)
    throw new GatewayError('JOB_BAD_MESSAGE', 'protocol message refused: wrong number of ciphertexts', {
      reason: 'wrong number of ciphertexts',
    });
  const [publicKey, ...chunks] = request.blobs as [Uint8Array, ...Uint8Array[]];

  // Differential privacy: the job's epsilon is split evenly over the columns and, in each, over the released
  // aggregates (sum, sum of squares, present count, histogram; with a label, the event and labelled histograms).
  // Groups are disjoint, so they compose in parallel.
  let epsilonPerPart: number | null = null;
  if (params.epsilon !== undefined) {
    if (run.budget === null) throw new GatewayError('INTERNAL', 'no privacy budget store');
    await run.budget.spend(
      { view: party.view, purpose: spec.purpose, job: spec.id, attempt: context.attempt, epsilon: params.epsilon },
      purpose.epsilonBudget ?? 0,
      context.now(),
    );
    const parts = meta.hasLabel ? 6 : 4;
    epsilonPerPart = params.epsilon / party.columns.length / parts;
  }

  const statColumns = planned.flatMap((p) => p.statColumns);
  const ivColumns = planned.flatMap((p) => p.ivColumns);
  const products: Uint8Array[] = [];
  const multiply = async (vector: number, columns: Float64Array[]) => {
    const groups = productCount(layout, columns.length);
    const totals = noiseTotals(columns.length, epsilonPerPart);
    const masks = Array.from({ length: groups }, (_, g) =>
      tileMasks(layout, totals.slice(g * layout.tiles, (g + 1) * layout.tiles)),
    );
    const vectorChunks = chunks.slice(vector * layout.chunks, (vector + 1) * layout.chunks);
    products.push(
      ...(await run.pool.maskedProducts(params.preset, { publicKey, layout, chunks: vectorChunks, columns, masks })),
    );
  };
  for (let g = 0; g < meta.groups; g++) {
    context.signal.throwIfAborted();
    await multiply(g, statColumns);
  }
  if (meta.hasLabel && ivColumns.length > 0) {
    await multiply(meta.groups, ivColumns);
    await multiply(meta.groups + 1, ivColumns);
  }
  progress.bytesOut += await sendMessage(
    context,
    guest,
    { kind: STATS_KINDS.reply, seq: 0, meta: { columns: planned.map((p) => p.plan) }, blobs: products },
    { auditStep: `compute.joint-stats.${STATS_KINDS.reply}`, isEncrypted: true },
  );
  return {
    rows,
    rowsTotal: rows,
    bytesIn: mailbox.bytesIn,
    bytesOut: progress.bytesOut,
    detail: {
      aligned: local.rows,
      kept: rows,
      withdrawn: local.withdrawn,
      missing: local.missing,
      columns: planned.length,
      vectors,
      products: products.length,
      noisy: epsilonPerPart !== null,
    },
    output: { mode: 'statistics', isReceiver: false, count: null, peerSizes: {} },
  };
}
