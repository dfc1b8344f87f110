// Evaluation on the held-out rows (docs/joint-modeling.md, "Evaluation"): the full scores reach the guest shuffled
// (score-shuffle.ts), the guest computes the metrics, trains a model on its own features alone on the same split and
// reports the lift of the joint model over it. Only the guest learns anything here, and only (score, label) pairs it
// cannot link to its rows; for linear regression the pairs are residuals, score − label.
import { GatewayError } from '../../core/errors.ts';
import { guestOf } from '../jobs/job.ts';
import type { HePool } from '../he/he-pool.ts';
import type { StepContext } from '../jobs/protocol.ts';
import { partialScores, trainPlain, type Task } from './linear-model.ts';
import { liftWithInterval, metricsOf, type Lift, type Metrics, type Scored } from './metrics.ts';
import { defaultErrorMetric, errorFunction } from './error-metrics.ts';
import { shuffleKey } from '../he/elgamal-shuffle.ts';
import { epochBatches } from './training-plan.ts';
import type { PartyData } from './vfl-data.ts';
import type { VflParams } from './vfl-params.ts';
import type { VflTransport } from './vfl-transport.ts';

export type Evaluation = {
  metrics: Metrics;
  guestOnly: Metrics;
  /** The lift in the job's error metric (`error`, its name): the reduction and both errors with their intervals. */
  lift: Lift & { error: string };
  heldOut: number;
  evaluationMs: number;
};

/** Scores and labels in label units: a linear model's standardized pairs are scaled back. */
function inLabelUnits(pairs: readonly Scored[], data: PartyData): Scored[] {
  const s = data.labelScaler;
  return s === null
    ? [...pairs]
    : pairs.map((p) => ({ score: p.score * s.scale + s.mean, label: p.label * s.scale + s.mean }));
}

export async function evaluate(
  run: { context: StepContext; transport: VflTransport; pool: HePool; params: VflParams; task: Task; data: PartyData },
  weights: readonly number[],
): Promise<Evaluation | null> {
  const { context, transport, pool, params, task, data } = run;
  const { spec, self } = context;
  const guest = guestOf(spec).id;
  const hosts = spec.parties.map((p) => p.id).filter((id) => id !== guest);
  const started = Date.now();
  const partial = partialScores(data.columns, weights, data.test);

  if (self !== guest) {
    // A host adds its partial scores in row order and re-randomizes every pair; the last host also shuffles. The legs
    // between hosts are sealed end to end, so the guest never holds a row-ordered list it could decrypt.
    const at = hosts.indexOf(self);
    const from = at === 0 ? guest : (hosts[at - 1] as string);
    const message = await transport.take(from, 'scores', 0);
    const [publicKey, scores] = message.blobs;
    if (publicKey === undefined || scores === undefined)
      throw new GatewayError('JOB_BAD_MESSAGE', 'score ciphertexts refused: malformed', { reason: 'malformed' });
    const isLast = at === hosts.length - 1;
    const added = await pool.addAndShuffle(publicKey, scores, partial, isLast);
    await transport.send(isLast ? guest : (hosts[at + 1] as string), 'scores', 0, { blobs: [publicKey, added] });
    return null;
  }

  // Between hosts the chain goes through the guest (vfl-transport.ts): the forwards wait beside the guest's own part.
  const relays = hosts
    .slice(0, -1)
    .map((from, i) =>
      transport.relay(from, hosts[i + 1] as string, 'scores', 0).catch((error: unknown) => transport.abort(error)),
    );
  const label = data.label as Float64Array;
  const key = shuffleKey();
  // Linear regression: the guest folds its label into its share, so the pairs it gets back are residuals.
  const own = task === 'logistic' ? partial : partial.map((a, i) => a - (label[data.test[i] as number] as number));
  const labels = Float64Array.from(data.test, (r) => (task === 'logistic' ? (label[r] as number) : 0));
  const encrypted = await pool.encryptScores(key, Float64Array.from(own), labels);
  await transport.send(hosts[0] as string, 'scores', 0, { blobs: [key.publicKey, encrypted] });
  const back = await transport.take(hosts[hosts.length - 1] as string, 'scores', 0);
  await Promise.all(relays);
  const pairs = await pool.decryptScores(key, back.blobs[1] ?? new Uint8Array(0), data.test.length);
  const joint = task === 'logistic' ? pairs : pairs.map((p) => ({ score: p.score, label: 0 }));

  // The guest-only model: the guest's own features, the same split, batches, hyper-parameters and Taylor residual as
  // the joint model, so the lift measures what the partners' features add, not a difference in training.
  const ownFeatures = data.columns.slice(0, -1);
  const alone = trainPlain({
    task,
    columns: ownFeatures,
    label,
    batches: (epoch) => epochBatches(data.train, params.batchSize, { seed: params.seed, epoch }),
    epochs: params.epochs,
    learningRate: params.learningRate,
    l2: params.l2,
    tolerance: params.tolerance,
    link: 'taylor',
  });
  const aloneScores = partialScores([...ownFeatures, new Float64Array(label.length).fill(1)], alone.weights, data.test);
  const aloneLogistic: Scored[] = data.test.map((r, i) => ({
    score: aloneScores[i] as number,
    label: label[r] as number,
  }));
  // Residual pairs (score = residual, label = 0) for linear regression, in label units.
  const toResiduals = (scored: readonly Scored[]) => scored.map((p) => ({ score: p.score - p.label, label: 0 }));
  const jointPairs = task === 'logistic' ? joint : inLabelUnits(joint, data);
  const alonePairs = task === 'logistic' ? aloneLogistic : toResiduals(inLabelUnits(aloneLogistic, data));
  const metric = params.errorMetric ?? defaultErrorMetric(task);
  const lift = liftWithInterval(errorFunction(metric), jointPairs, alonePairs, {
    rounds: params.bootstrap,
    seed: `sealgate/vfl-lift/${params.seed}`,
  });
  return {
    metrics: metricsOf(task, jointPairs),
    guestOnly: metricsOf(task, alonePairs),
    lift: { error: metric.name, ...lift },
    heldOut: data.test.length,
    evaluationMs: Date.now() - started,
  };
}
