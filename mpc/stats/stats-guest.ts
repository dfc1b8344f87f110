// The requester's side of a joint-statistics job: align, build one indicator vector per segment group of at least k
// customers (plus the label and "labelled" vectors for information value), encrypt them under a key made for this
// attempt, send them to every feature holder, decrypt the tile sums they return and turn them into statistics. It
// never sees a feature holder's row: only sums over groups and bins, each masked until the sum.
import { GatewayError } from '../../core/errors.ts';
import { HE_PRESETS } from '../he/he-presets.ts';
import { productCount, slotLayout } from '../he/slot-layout.ts';
import { sendMessage } from '../jobs/framed-messages.ts';
import type { StepResult } from '../jobs/protocol.ts';
import { readAlignedRows } from '../joint/aligned-rows.ts';
import { agreeOnRows, keptValues } from '../joint/alignment-exchange.ts';
import { statColumnCount } from './stat-columns.ts';
import { groupStatistics, informationValue, type ColumnStatistics, type InformationValue } from './stat-results.ts';
import { parseMeta, ReplyMeta, STATS_KINDS } from './stats-messages.ts';
import { MAX_GROUPS } from './stats-params.ts';
import type { StatsRun } from './stats-run.ts';

export type StatsResult = {
  rows: number;
  dropped: number;
  k: number;
  epsilon: number | null;
  preset: string;
  groups: { segment: string; size: number | null; suppressed: boolean }[];
  hosts: Record<
    string,
    Record<
      string,
      {
        scaleExponent: number;
        byGroup: Record<string, ColumnStatistics>;
        informationValue: InformationValue | null;
      }
    >
  >;
};

const bad = (reason: string) => new GatewayError('JOB_BAD_MESSAGE', `protocol message refused: ${reason}`, { reason });

export async function runStatsGuest(run: StatsRun): Promise<StepResult> {
  const { context, mailbox, params, pool, progress } = run;
  const { spec, self } = context;
  const purpose = context.purpose();
  if (purpose === undefined)
    throw new GatewayError('CONSENT_DENIED', `purpose ${spec.purpose} is not declared at this gateway`);
  const k = purpose.kThreshold;
  const hosts = spec.parties.filter((p) => p.id !== self);
  const ownColumns = [params.segment, params.label].filter((c): c is string => c !== undefined);

  const local = await readAlignedRows(context, params.psiJob, ownColumns);
  const agreed = await agreeOnRows(context, mailbox, local, 'compute.joint-stats');
  progress.bytesOut += agreed.bytesOut;
  const rows = agreed.kept.length;
  if (rows === 0) throw new GatewayError('JOB_ALIGNMENT_UNAVAILABLE', 'no aligned customer is left to describe');
  progress.rows = rows;

  // Groups: the segment's values among the kept customers, in order; a value absent or null is a group of its own.
  const segments =
    params.segment === undefined
      ? new Array<string>(rows).fill('all')
      : keptValues(local.values.get(params.segment) ?? [], agreed.kept).map((v) => (v === null ? '(null)' : String(v)));
  const sizes = new Map<string, number>();
  for (const s of segments) sizes.set(s, (sizes.get(s) ?? 0) + 1);
  const names = [...sizes.keys()].sort();
  const computed = names.filter((n) => (sizes.get(n) as number) >= k);
  if (computed.length > MAX_GROUPS)
    throw new GatewayError('BAD_INPUT', `segment ${params.segment} has more than ${MAX_GROUPS} groups of k or more`);
  if (computed.length === 0)
    throw new GatewayError('BAD_INPUT', `no segment group has ${k} or more customers: every group is suppressed`);

  const vectors = computed.map((name) => Float64Array.from(segments, (s) => (s === name ? 1 : 0)));
  if (params.label !== undefined) {
    const labels = keptValues(local.values.get(params.label) ?? [], agreed.kept);
    if (labels.some((y) => y !== null && y !== 0 && y !== 1 && y !== true && y !== false))
      throw new GatewayError('BAD_INPUT', `label ${params.label} must hold 0 or 1 (or be empty)`);
    vectors.push(Float64Array.from(labels, (y) => (y === 1 || y === true ? 1 : 0)));
    vectors.push(Float64Array.from(labels, (y) => (y === null ? 0 : 1)));
  }

  const preset = HE_PRESETS[params.preset];
  const layout = slotLayout(rows, preset.slots);
  const keys = await pool.generateKeys(params.preset);
  const encrypted = await pool.encryptVectors(params.preset, { keys, layout, vectors });
  const blobs = [keys.publicKey, ...encrypted.flat()];
  const meta = { groups: computed.length, hasLabel: params.label !== undefined };
  for (const host of hosts)
    progress.bytesOut += await sendMessage(
      context,
      host.id,
      { kind: STATS_KINDS.request, seq: 0, meta, blobs },
      { auditStep: `compute.joint-stats.${STATS_KINDS.request}`, isEncrypted: true },
    );

  const result: StatsResult = {
    rows,
    dropped: local.rows - rows,
    k,
    epsilon: params.epsilon ?? null,
    preset: params.preset,
    groups: names.map((name) => {
      const size = sizes.get(name) as number;
      return size >= k ? { segment: name, size, suppressed: false } : { segment: name, size: null, suppressed: true };
    }),
    hosts: {},
  };
  for (const host of hosts) {
    const reply = await mailbox.take(host.id, STATS_KINDS.reply, 0);
    const { columns } = parseMeta(ReplyMeta, reply.meta, STATS_KINDS.reply);
    if (columns.length !== host.columns.length || columns.some((c, i) => c.name !== host.columns[i]))
      throw bad('the reply describes other columns than the host declared');
    if (columns.some((c) => c.edges.length !== params.bins + 1 || c.ivCounts.length > params.bins))
      throw bad('the reply has other bins than the job asked for');
    if (columns.some((c) => c.ivCounts.some((n) => n !== null && n < k)))
      throw bad('the reply keeps an information-value bin under k');
    const perStat = statColumnCount(params.bins);
    const statCount = perStat * columns.length;
    const ivCount = columns.reduce((n, c) => n + c.ivCounts.filter((x) => x !== null).length, 0);
    const statProducts = productCount(layout, statCount);
    const ivProducts = meta.hasLabel && ivCount > 0 ? productCount(layout, ivCount) : 0;
    if (reply.blobs.length !== computed.length * statProducts + 2 * ivProducts)
      throw bad('wrong number of product ciphertexts');

    const described: StatsResult['hosts'][string] = {};
    columns.forEach((plan) => {
      described[plan.name] = { scaleExponent: plan.scaleExponent, byGroup: {}, informationValue: null };
    });
    let at = 0;
    for (const name of computed) {
      const sums = await pool.decryptSums(params.preset, {
        keys,
        layout,
        products: reply.blobs.slice(at, at + statProducts),
        columns: statCount,
      });
      at += statProducts;
      columns.forEach((plan, c) => {
        const entry = described[plan.name] as StatsResult['hosts'][string][string];
        entry.byGroup[name] = groupStatistics(plan, sums.slice(c * perStat, (c + 1) * perStat), k);
      });
    }
    if (ivProducts > 0) {
      const decrypt = async () => {
        const products = reply.blobs.slice(at, at + ivProducts);
        at += ivProducts;
        return pool.decryptSums(params.preset, { keys, layout, products, columns: ivCount });
      };
      const events = await decrypt();
      const labelled = await decrypt();
      let offset = 0;
      for (const plan of columns) {
        const kept = plan.ivCounts.filter((n) => n !== null).length;
        const entry = described[plan.name] as StatsResult['hosts'][string][string];
        entry.informationValue = informationValue(
          plan,
          events.slice(offset, offset + kept),
          labelled.slice(offset, offset + kept),
        );
        offset += kept;
      }
    }
    result.hosts[host.id] = described;
  }
  await context.store.saveResult(spec.id, result);
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
      droppedElsewhere: agreed.droppedElsewhere,
      groups: computed.length,
      suppressedGroups: names.length - computed.length,
    },
    output: { mode: 'statistics', isReceiver: true, count: rows, peerSizes: {} },
  };
}
