// Vertical federated models as job protocols (docs/joint-modeling.md): `vfl-logistic` and `vfl-linear`, one step,
// `train`: agree on the aligned rows, standardize locally, train in rounds of encrypted exchanges, evaluate on the
// held-out rows with shuffled scores, and register each party's own part of the model. The guest holds the label and
// alone receives the metrics; no party sees another's features, label, residuals, weights or per-row scores.
import { presetFor } from '../he/he-presets.ts';
import type { SharedHePool } from '../he/shared-he-pool.ts';
import { createMailbox } from '../jobs/framed-messages.ts';
import { guestOf } from '../jobs/job.ts';
import type { JobProtocol, ProtocolStep, StepContext } from '../jobs/protocol.ts';
import { acceptsAlignment } from '../joint/alignment-exchange.ts';
import { jointPeerRefusal } from '../joint/joint-refusal.ts';
import type { Task } from './linear-model.ts';
import type { ModelStore } from './model-store.ts';
import { loadPartyData } from './vfl-data.ts';
import { evaluate } from './vfl-evaluation.ts';
import { featuresOf, VflParams, checkVflJob } from './vfl-params.ts';
import { trainRounds } from './vfl-training.ts';
import { acceptsVfl, createVflTransport, MAX_PARTIES } from './vfl-transport.ts';

/** Plaintext multiplications of fresh ciphertexts only. */
const DEPTH = 1;
const MAX_MESSAGE_BYTES = 128 * 1024 * 1024;

export function createVflProtocol(options: { task: Task; pool: SharedHePool; models: ModelStore }): JobProtocol {
  const name = options.task === 'logistic' ? 'vfl-logistic' : 'vfl-linear';

  const trainStep = (context: StepContext): ProtocolStep => {
    const params = VflParams.parse(context.spec.params);
    const mailbox = createMailbox(context, {
      accepts: (kind, sender) => acceptsAlignment(context, kind, sender) || acceptsVfl(context, kind, sender),
      maxMessageBytes: MAX_MESSAGE_BYTES,
      maxSeq: (params.epochs * Math.ceil(1_000_000 / params.batchSize) + 1) * MAX_PARTIES,
    });
    const transport = createVflTransport(context, mailbox, `train.${name}`);
    const progress = { rounds: 0, totalRounds: 0 };
    return {
      get hasFailed() {
        return mailbox.hasFailed;
      },
      deliver: (sender, frame) => mailbox.deliver(sender, frame),
      progress: () => ({
        rows: progress.rounds,
        total: progress.totalRounds === 0 ? null : progress.totalRounds,
        bytesIn: mailbox.bytesIn,
        bytesOut: transport.bytesOut,
      }),
      async run() {
        presetFor(params.preset, DEPTH);
        const { spec, self } = context;
        const pool = options.pool.get();
        const data = await loadPartyData(context, mailbox, params, options.task);
        progress.totalRounds = params.epochs * Math.ceil(data.train.length / params.batchSize);
        const run = { context, transport, pool, params, task: options.task, data, progress };
        const trained = await trainRounds(run);
        const evaluation = await evaluate(run, trained.weights);
        const modelName = params.model ?? `${name}-${spec.id.slice(0, 8)}`;
        const isGuest = guestOf(spec).id === self;
        const part = await options.models.register({
          name: modelName,
          task: options.task,
          protocol: name,
          role: isGuest ? 'guest' : 'host',
          party: self,
          createdAt: context.now().toISOString(),
          features: data.features,
          weights: isGuest ? trained.weights.slice(0, -1) : trained.weights,
          intercept: isGuest ? (trained.weights[trained.weights.length - 1] as number) : null,
          scaler: data.scaler,
          labelScaler: data.labelScaler,
          lineage: {
            trainingJob: spec.id,
            psiJob: params.psiJob,
            purpose: spec.purpose,
            consentBasisRoot: data.consentBasisRoot,
            customers: data.kept,
            parties: spec.parties.map((p) => ({
              id: p.id,
              role: p.role,
              view: p.view,
              columns: featuresOf(p.columns, p.role, params.label),
            })),
            hyperParameters: {
              epochs: params.epochs,
              batchSize: params.batchSize,
              learningRate: params.learningRate,
              l2: params.l2,
              tolerance: params.tolerance,
              testPercent: params.testPercent,
              seed: params.seed,
              preset: params.preset,
            },
          },
          evaluation: evaluation === null ? null : { ...evaluation, epochs: trained.epochs },
        });
        const detail = {
          aligned: data.detail.aligned,
          kept: data.kept,
          withdrawn: data.detail.withdrawn,
          missing: data.detail.missing,
          droppedElsewhere: data.detail.droppedElsewhere,
          viewGeneration: data.detail.viewGeneration,
          viewSha256: data.detail.viewSha256,
          train: data.train.length,
          heldOut: data.test.length,
          epochs: trained.epochs,
          rounds: trained.rounds,
          clippedCells: data.clipped,
          clippedShares: trained.clippedShares,
          trainMs: trained.trainMs,
          heMs: trained.heMs,
          modelVersion: part.version,
        };
        const common = {
          rows: trained.rounds,
          rowsTotal: trained.rounds,
          bytesIn: mailbox.bytesIn,
          bytesOut: transport.bytesOut,
          detail,
        };
        if (evaluation === null)
          return { ...common, output: { mode: 'model', isReceiver: false, count: null, peerSizes: {} } };
        await context.store.saveResult(spec.id, {
          model: { name: modelName, version: part.version },
          task: options.task,
          metrics: evaluation.metrics,
          guestOnly: evaluation.guestOnly,
          lift: evaluation.lift,
          heldOut: evaluation.heldOut,
          train: data.train.length,
          consentBasisRoot: data.consentBasisRoot,
          epochs: trained.epochs,
          rounds: trained.rounds,
          trainMs: trained.trainMs,
          heMs: trained.heMs,
          evaluationMs: evaluation.evaluationMs,
        });
        const values: Record<string, number> = {};
        for (const [key, value] of Object.entries(evaluation.metrics)) if (Number.isFinite(value)) values[key] = value;
        return {
          ...common,
          output: { mode: 'model', isReceiver: true, count: evaluation.heldOut, peerSizes: {}, values },
        };
      },
    };
  };

  return {
    name,
    params: VflParams,
    steps: ['train'],
    check: checkVflJob,
    reads(spec, party) {
      const params = VflParams.parse(spec.params);
      const features = featuresOf(party.columns, party.role, params.label);
      return {
        view: party.view,
        idColumn: party.idColumn,
        columns: party.role === 'guest' ? [params.label, ...features] : features,
      };
    },
    startStep: trainStep,
    hasOutputRows: () => false,
    auditDetail(spec) {
      const params = VflParams.parse(spec.params);
      return { psiJob: params.psiJob, preset: params.preset, epochs: params.epochs, batchSize: params.batchSize };
    },
    peerRefusal: jointPeerRefusal,
    close: () => options.pool.close(),
  };
}
