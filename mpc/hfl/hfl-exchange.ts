// How a horizontal model's rounds travel (docs/hfl.md): in round r every party hands a vector to secure aggregation
// (mpc/secagg); the coordinator alone learns the sum, decides what follows from it (the global scaler, the averaged
// weights, the metric, whether to stop) and sends that decision, and nothing else, to the parties whose vectors were
// in the sum. The training loop (hfl-training.ts) is the same code at every party: only this exchange differs.
import { z } from 'zod';
import { GatewayError } from '../../core/errors.ts';
import type { StepContext } from '../jobs/protocol.ts';
import { dequantizeSum, quantize, type Quantization } from '../secagg/quantize.ts';
import type { CoordinatorChannel, HostChannel } from '../secagg/secagg-channel.ts';
import type { SecAggConfig } from '../secagg/secagg-config.ts';
import { aggregateAsCoordinator, contributeAsHost, type RoundDeparture } from '../secagg/secagg-round.ts';
import { STOP_REASONS } from './stopping-rule.ts';

export const GLOBAL_KIND = 'global';

const Numbers = z.array(z.number()).max(100_000);
/** What the coordinator sends after round r (as message #r+1): decided from the round's sum alone. */
export const GlobalMessage = z.strictObject({
  kind: z.enum(['scaler', 'weights', 'final']),
  round: z.int().min(0),
  means: Numbers.optional(),
  scales: Numbers.optional(),
  label: z.strictObject({ mean: z.number(), scale: z.number() }).nullable().optional(),
  weights: Numbers.optional(),
  /** The global metric of the weights the round started from (NaN-free: a metric the rows cannot give is left out). */
  metrics: z.record(z.string().max(32), z.number()).optional(),
  stop: z.enum(STOP_REASONS).nullable().optional(),
  contributors: z.array(z.string().max(64)).max(255),
});
export type GlobalMessage = z.infer<typeof GlobalMessage>;

export type RoundLog = { round: number; contributors: number; dropped: RoundDeparture[] };

export type HflExchange = {
  /**
   * Round `round`: contributes `values` to the secure sum; at the coordinator `decide` turns the sum into the
   * decision every contributor receives. Resolves to that decision.
   */
  round(
    round: number,
    values: Float64Array,
    decide: (sum: Float64Array, contributors: string[]) => GlobalMessage,
  ): Promise<GlobalMessage>;
  /** Rounds so far and who dropped in each (the coordinator's record). */
  readonly log: readonly RoundLog[];
  readonly bytesIn: number;
  readonly bytesOut: number;
};

type ExchangeOptions = {
  context: StepContext;
  parties: readonly string[];
  quantization: Quantization;
  threshold: number;
  neighbours: number | null;
  phaseMs: number;
};

const configFor = (options: ExchangeOptions, round: number, dimension: number): SecAggConfig => ({
  session: `${options.context.spec.id}/${options.context.attempt}/${round}`,
  parties: options.parties,
  threshold: options.threshold,
  neighbours: options.neighbours,
  dimension,
  ring: options.quantization.ring,
});

export function coordinatorExchange(options: ExchangeOptions, channel: CoordinatorChannel): HflExchange {
  const { context, quantization } = options;
  const log: RoundLog[] = [];
  return {
    log,
    get bytesIn() {
      return channel.bytesIn;
    },
    get bytesOut() {
      return channel.bytesOut;
    },
    async round(round, values, decide) {
      const result = await aggregateAsCoordinator({
        channel,
        config: configFor(options, round, values.length),
        self: context.self,
        attestation: context.attestation,
        own: quantize(values, quantization),
        phaseMs: options.phaseMs,
        round,
        signal: context.signal,
      });
      log.push({ round, contributors: result.contributors.length, dropped: result.dropped });
      const sum = dequantizeSum(result.sum, quantization, { maxParties: options.parties.length });
      const decision = decide(sum, result.contributors);
      const by = Date.now() + options.phaseMs;
      await Promise.all(
        result.contributors
          .filter((p) => p !== context.self)
          .map((p) => channel.send(p, { kind: GLOBAL_KIND, seq: round + 1, meta: decision, blobs: [] }, by)),
      );
      return decision;
    },
  };
}

export function hostExchange(options: ExchangeOptions, channel: HostChannel): HflExchange {
  const { context, quantization } = options;
  return {
    log: [],
    get bytesIn() {
      return channel.bytesIn;
    },
    get bytesOut() {
      return channel.bytesOut;
    },
    async round(round, values) {
      await contributeAsHost({
        channel,
        config: configFor(options, round, values.length),
        self: context.self,
        attestation: context.attestation,
        input: quantize(values, quantization),
        phaseMs: options.phaseMs,
        round,
      });
      const message = await channel.take(GLOBAL_KIND, round + 1, Date.now() + 2 * options.phaseMs);
      const parsed = GlobalMessage.safeParse(message.meta);
      if (!parsed.success || parsed.data.round !== round)
        throw new GatewayError('JOB_BAD_MESSAGE', 'protocol message refused: a malformed global model message', {
          reason: 'malformed global message',
        });
      return parsed.data;
    },
  };
}
