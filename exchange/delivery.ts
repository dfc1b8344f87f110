// A delivery: one compute-to-data job a buyer runs under an order (docs/exchange.md, "Deliveries"). The request names
// an algorithm from the allowlist with its parameters, and the outputs it wants; each algorithm returns some kinds of
// output and no others (output-check.ts). Pure.
import { z } from 'zod';
import { SqlName } from '../connectors/sql-name.ts';
import { DELIVERY_ALGORITHMS, type DeliveryAlgorithm } from './listing.ts';
import type { OutputKind } from './output-check.ts';

/** The most identifiers a buyer may send to be scored in one delivery. */
export const MAX_SCORED_SUBJECTS = 10_000;

const Outputs = z.array(z.string().min(1).max(64)).min(1).max(8);

export const DeliveryRequest = z.discriminatedUnion('algorithm', [
  z.strictObject({
    algorithm: z.literal('segment-aggregates'),
    /** A package field that groups the subjects (its values are the groups). */
    segment: SqlName,
    /** Numeric package fields described per group: count, sum, mean and standard deviation. */
    measures: z.array(SqlName).min(1).max(16),
    outputs: Outputs.default(['aggregates']),
  }),
  z.strictObject({
    algorithm: z.literal('train-model'),
    model: z.enum(['logistic', 'linear']),
    /** A package field: 0/1 for logistic, a number for linear. */
    label: SqlName,
    features: z.array(SqlName).min(1).max(32),
    epochs: z.int().min(1).max(500).default(50),
    learningRate: z.number().positive().max(10).default(0.5),
    l2: z.number().min(0).max(10).default(0.001),
    batchSize: z.int().min(16).max(65_536).default(256),
    testPercent: z.int().min(1).max(50).default(20),
    seed: z
      .int()
      .min(0)
      .max(2 ** 31)
      .default(1),
    outputs: Outputs.default(['model-weights', 'error-metrics', 'row-counts']),
  }),
  z.strictObject({
    algorithm: z.literal('score-own-subjects'),
    /** A completed train-model delivery of the same order: the model to score with. */
    modelDelivery: z.uuid(),
    /** The buyer's own customers, by the identifier the package's subjects are keyed by (sent over TLS). */
    subjects: z.array(z.string().min(1).max(256)).min(1).max(MAX_SCORED_SUBJECTS),
    outputs: Outputs.default(['own-subject-scores']),
  }),
  z.strictObject({
    algorithm: z.literal('lift-certificate'),
    /** An issued lift certificate of the package: delivered as its signed statement with its receipt. */
    certificateId: z.uuid(),
    outputs: Outputs.default(['error-metrics', 'row-counts']),
  }),
]);
export type DeliveryRequest = z.infer<typeof DeliveryRequest>;

/** What each algorithm may return: anything else is refused before it runs. */
export const ALGORITHM_OUTPUTS: Readonly<Record<DeliveryAlgorithm, readonly OutputKind[]>> = {
  'segment-aggregates': ['aggregates'],
  'train-model': ['model-weights', 'error-metrics', 'row-counts'],
  'score-own-subjects': ['own-subject-scores'],
  'lift-certificate': ['error-metrics', 'row-counts'],
};

export const isDeliveryAlgorithm = (name: unknown): name is DeliveryAlgorithm =>
  typeof name === 'string' && (DELIVERY_ALGORITHMS as readonly string[]).includes(name);

/** The package fields a request reads (the label and features, the segment and measures); none for the others. */
export function fieldsRead(request: DeliveryRequest): string[] {
  switch (request.algorithm) {
    case 'segment-aggregates':
      return [request.segment, ...request.measures];
    case 'train-model':
      return [request.label, ...request.features];
    default:
      return [];
  }
}
