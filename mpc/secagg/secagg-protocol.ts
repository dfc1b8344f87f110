// Secure sums as a job protocol (`secagg`, docs/secagg.md): partners that hold the same kind of rows about different
// customers (dealerships of one brand) learn their joint row count and, per declared column, the total and the mean,
// while the coordinator (the guest) learns only the sum over the parties that remained and which parties those were,
// never one partner's totals. One step, `aggregate`, one round of secure aggregation that survives parties dropping
// out: the runtime goes on without a host that fails or falls silent (protocol.ts, `survivesDropouts`).
import { z } from 'zod';
import { GatewayError } from '../../core/errors.ts';
import { readConsentedRows } from '../jobs/consented-rows.ts';
import { guestOf, type JobRequestLike } from '../jobs/job.ts';
import type { JobProtocol, ProtocolStep, StepContext, StepResult } from '../jobs/protocol.ts';
import type { JobOutputSummary } from '../jobs/store.ts';
import { partyFor } from '../jobs/consent-filter.ts';
import { dequantizeSum, quantize, type Quantization } from './quantize.ts';
import { vectorBytes } from './ring.ts';
import { openRoundChannels, type ChannelLimits, type CoordinatorChannel, type HostChannel } from './secagg-channel.ts';
import type { SecAggConfig } from './secagg-config.ts';
import { checkSecAggParams, SecAggParams } from './secagg-params.ts';
import { aggregateAsCoordinator, CLIENT_KINDS, contributeAsHost, SERVER_KINDS } from './secagg-round.ts';
import { checkWithinClip, columnTotals, totalsDimension, totalsFromSum } from './column-totals.ts';

/** The job's output summary shows each column's sum and mean beside the party count: 1 + 2·15 of its 32 values. */
export const MAX_TOTAL_COLUMNS = 15;
const RESULT_KIND = 'result';

export const SecureSumParams = z.strictObject({ ...SecAggParams });
export type SecureSumParams = z.infer<typeof SecureSumParams>;

function checkSecureSumJob(job: JobRequestLike, ctx: z.RefinementCtx): void {
  const params = SecureSumParams.parse(job.params);
  checkSecAggParams(job, params, ctx);
  const [first] = job.parties;
  job.parties.forEach((party, i) => {
    if (party.columns.length === 0 || party.columns.length > MAX_TOTAL_COLUMNS)
      ctx.addIssue({
        code: 'custom',
        path: ['parties', i, 'columns'],
        message: `every party declares 1 to ${MAX_TOTAL_COLUMNS} numeric columns to total`,
      });
    else if (first !== undefined && JSON.stringify(party.columns) !== JSON.stringify(first.columns))
      ctx.addIssue({
        code: 'custom',
        path: ['parties', i, 'columns'],
        message: 'every party declares the same columns, in the same order: the sum adds them position by position',
      });
  });
}

/** The job's result document at a receiver, as the coordinator stores it and sends it to the other receivers. */
const SecureSumResult = z.strictObject({
  totals: z.strictObject({
    rows: z.int().min(0),
    columns: z.record(
      z.string().max(64),
      z.strictObject({ sum: z.number(), present: z.int().min(0), mean: z.number().nullable() }),
    ),
  }),
  contributors: z.array(z.string().max(64)).max(255),
  dropped: z.array(z.strictObject({ party: z.string().max(64), phase: z.string().max(32), code: z.string().max(64) })),
  phaseMs: z.record(z.string().max(32), z.number()),
});
export type SecureSumResult = z.infer<typeof SecureSumResult>;

/** What a receiver's job view shows of the result: the row count, and per column the sum and the mean. */
function receiverSummary(result: SecureSumResult): JobOutputSummary {
  const values: Record<string, number> = { parties: result.contributors.length };
  Object.entries(result.totals.columns).forEach(([column, t], i) => {
    // A summary key holds 64 characters; a longer column is named by its position (the result names it in full).
    const name = column.length <= 59 ? column : `column${i + 1}`;
    values[`${name}.sum`] = t.sum;
    if (t.mean !== null) values[`${name}.mean`] = t.mean;
  });
  return { mode: 'secure-sum', isReceiver: true, count: result.totals.rows, peerSizes: {}, values };
}

export function createSecureSumProtocol(): JobProtocol {
  const startStep = (context: StepContext): ProtocolStep => {
    const params = SecureSumParams.parse(context.spec.params);
    const { spec, self } = context;
    const guest = guestOf(spec).id;
    const columns = partyFor(spec, self).columns;
    const dimension = totalsDimension(columns);
    const quantization: Quantization = { ring: params.ring, clip: params.clip, fractionBits: params.fractionBits };
    const limits: ChannelLimits = {
      maxMessageBytes: vectorBytes(dimension, params.ring) + 1024 * 1024,
      maxSeq: 0,
      fromHost: CLIENT_KINDS,
      fromCoordinator: [...SERVER_KINDS, RESULT_KIND],
    };
    const parties = spec.parties.map((p) => p.id).sort();
    const config: SecAggConfig = {
      session: `${spec.id}/${context.attempt}/0`,
      parties,
      threshold: params.threshold,
      neighbours: params.neighbours,
      dimension,
      ring: params.ring,
    };
    const channels = openRoundChannels(context, guest, limits);
    let rows = 0;

    const ownTotals = async () => {
      const read = await readConsentedRows(context, columns);
      rows = read.rows.length;
      const totals = columnTotals(read.rows, columns);
      checkWithinClip(totals, columns, params.clip);
      return { vector: quantize(totals, quantization), read };
    };

    const runCoordinator = async (): Promise<StepResult> => {
      const channel = channels.coordinator as CoordinatorChannel;
      const { vector, read } = await ownTotals();
      const round = await aggregateAsCoordinator({
        channel,
        config,
        self,
        attestation: context.attestation,
        own: vector,
        phaseMs: params.phaseMs,
        round: 0,
        signal: context.signal,
      });
      const sum = dequantizeSum(round.sum, quantization, { maxParties: parties.length });
      const totals = totalsFromSum(sum, columns);
      const k = context.purpose()?.kThreshold ?? Number.POSITIVE_INFINITY;
      if (totals.rows < k)
        throw new GatewayError('OUTPUT_REFUSED', `the parties' ${totals.rows} rows are fewer than the purpose's k`, {
          output: 'totals',
          rule: 'k-threshold',
        });
      const result: SecureSumResult = {
        totals,
        contributors: round.contributors,
        dropped: round.dropped,
        phaseMs: round.phaseMs,
      };
      await context.store.saveResult(spec.id, result);
      // Hosts that receive the result get it once the round is over; one that cannot be reached misses only that.
      const by = Date.now() + params.phaseMs;
      await Promise.all(
        spec.receivers
          .filter((r) => r !== self && round.contributors.includes(r))
          .map((r) => channel.send(r, { kind: RESULT_KIND, seq: 0, meta: result, blobs: [] }, by)),
      );
      return {
        rows,
        rowsTotal: rows,
        bytesIn: channel.bytesIn,
        bytesOut: channel.bytesOut,
        detail: {
          read: read.subjects,
          refused: read.refused,
          contributors: round.contributors.length,
          dropped: round.dropped.length,
        },
        output: receiverSummary(result),
      };
    };

    const runHost = async (): Promise<StepResult> => {
      const channel = channels.host as HostChannel;
      const { vector, read } = await ownTotals();
      await contributeAsHost({
        channel,
        config,
        self,
        attestation: context.attestation,
        input: vector,
        phaseMs: params.phaseMs,
        round: 0,
      });
      const isReceiver = spec.receivers.includes(self);
      let output: StepResult['output'] = { mode: 'secure-sum', isReceiver: false, count: null, peerSizes: {} };
      if (isReceiver) {
        const message = await channel.take(RESULT_KIND, 0, Date.now() + 2 * params.phaseMs);
        const parsed = SecureSumResult.safeParse(message.meta);
        if (!parsed.success)
          throw new GatewayError('JOB_BAD_MESSAGE', 'protocol message refused: a malformed secure-sum result', {
            reason: 'malformed result',
          });
        await context.store.saveResult(spec.id, parsed.data);
        output = receiverSummary(parsed.data);
      }
      return {
        rows,
        rowsTotal: rows,
        bytesIn: channel.bytesIn,
        bytesOut: channel.bytesOut,
        detail: { read: read.subjects, refused: read.refused },
        output,
      };
    };

    return {
      get hasFailed() {
        return channels.hasFailed;
      },
      deliver: (sender, frame) => channels.deliver(sender, frame),
      progress: () => ({ rows, total: null, bytesIn: channels.bytesIn, bytesOut: channels.bytesOut }),
      hostDropped: (party, code) => channels.hostDropped(party, code),
      dropped: () => channels.dropped(),
      run: () => (channels.coordinator !== null ? runCoordinator() : runHost()),
    };
  };

  return {
    name: 'secagg',
    params: SecureSumParams,
    steps: ['aggregate'],
    survivesDropouts: true,
    check: checkSecureSumJob,
    reads: (_spec, party) => ({ view: party.view, idColumn: party.idColumn, columns: party.columns }),
    startStep,
    hasOutputRows: () => false,
    auditDetail(spec) {
      const params = SecureSumParams.parse(spec.params);
      return {
        threshold: params.threshold,
        neighbours: params.neighbours,
        ring: params.ring,
        fractionBits: params.fractionBits,
      };
    },
  };
}
