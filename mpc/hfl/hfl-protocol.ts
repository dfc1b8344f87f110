// Horizontal federated averaging as a job protocol (`hfl-fedavg`, docs/hfl.md): partners holding the same columns
// about different customers (dealerships of one brand) train one logistic or linear model. One step, `train`: every
// round's sum goes through secure aggregation (mpc/secagg), which survives parties dropping out (protocol.ts,
// `survivesDropouts`), and the final model goes to every party's model registry with its lineage.
import { guestOf } from '../jobs/job.ts';
import type { JobProtocol, ProtocolStep, StepContext, StepResult } from '../jobs/protocol.ts';
import { openRoundChannels, type ChannelLimits, type HostChannel } from '../secagg/secagg-channel.ts';
import { CLIENT_KINDS, SERVER_KINDS } from '../secagg/secagg-round.ts';
import { vectorBytes } from '../secagg/ring.ts';
import type { ModelStore } from '../vfl/model-store.ts';
import { coordinatorExchange, GLOBAL_KIND, hostExchange, type HflExchange } from './hfl-exchange.ts';
import { loadHflData } from './hfl-data.ts';
import { checkHflJob, featuresOf, hflQuantization, HflParams } from './hfl-params.ts';
import { trainFederated, type HflProgress } from './hfl-training.ts';
import { metricCountsLength } from './metric-counts.ts';
import { STATS_PER_FEATURE } from './global-scaler.ts';

export function createHflProtocol(options: { models: ModelStore }): JobProtocol {
  const name = 'hfl-fedavg';

  const startStep = (context: StepContext): ProtocolStep => {
    const params = HflParams.parse(context.spec.params);
    const { spec, self } = context;
    const guest = guestOf(spec).id;
    const parties = spec.parties.map((p) => p.id).sort();
    const features = featuresOf(spec.parties[0]?.columns ?? [], params.label).length;
    const quantization = hflQuantization(params);
    const largest = Math.max((features + 1) * STATS_PER_FEATURE, features + 2 + metricCountsLength(params.task));
    const limits: ChannelLimits = {
      maxMessageBytes: vectorBytes(largest, quantization.ring) + 1024 * 1024,
      // Round 0, up to `rounds` training rounds, the final evaluation, and its decision.
      maxSeq: params.rounds + 2,
      fromHost: CLIENT_KINDS,
      fromCoordinator: [...SERVER_KINDS, GLOBAL_KIND],
    };
    const exchangeOptions = {
      context,
      parties,
      quantization,
      threshold: params.threshold,
      neighbours: params.neighbours,
      phaseMs: params.phaseMs,
    };
    const isCoordinator = self === guest;
    const channels = openRoundChannels(context, guest, limits);
    const exchange: HflExchange =
      channels.coordinator !== null
        ? coordinatorExchange(exchangeOptions, channels.coordinator)
        : hostExchange(exchangeOptions, channels.host as HostChannel);
    const progress: HflProgress = { round: 0, rounds: params.rounds, metrics: {} };

    const run = async (): Promise<StepResult> => {
      const data = await loadHflData(context, params);
      const trained = await trainFederated({ exchange, data, params, progress });
      const model = await options.models.register({
        name: params.model ?? `${name}-${spec.id.slice(0, 8)}`,
        task: params.task,
        protocol: name,
        role: isCoordinator ? 'guest' : 'host',
        party: self,
        createdAt: context.now().toISOString(),
        features: data.features,
        weights: trained.weights.slice(0, -1),
        intercept: trained.weights[trained.weights.length - 1] ?? 0,
        scaler: trained.scaler,
        labelScaler: trained.label,
        lineage: {
          trainingJob: spec.id,
          psiJob: null,
          purpose: spec.purpose,
          consentBasisRoot: data.consentBasisRoot,
          customers: data.train.length,
          parties: spec.parties.map((p) => ({ id: p.id, role: p.role, view: p.view, columns: p.columns })),
          hyperParameters: {
            rounds: params.rounds,
            roundsRun: trained.rounds,
            stop: trained.stop,
            localEpochs: params.localEpochs,
            learningRate: params.learningRate,
            decayRounds: params.decayRounds,
            l2: params.l2,
            batchSize: params.batchSize,
            tolerance: params.tolerance,
            patience: params.patience,
            testPercent: params.testPercent,
            seed: params.seed,
            threshold: params.threshold,
            neighbours: params.neighbours,
            fractionBits: params.fractionBits,
          },
        },
        evaluation: { ...trained.final, rounds: trained.rounds, history: trained.history },
      });
      if (isCoordinator)
        await context.store.saveResult(spec.id, { model: model.name, version: model.version, rounds: exchange.log });
      return {
        rows: data.train.length + data.test.length,
        rowsTotal: data.subjects,
        bytesIn: exchange.bytesIn,
        bytesOut: exchange.bytesOut,
        detail: {
          read: data.subjects,
          refused: data.refused,
          missingLabel: data.missingLabel,
          rounds: trained.rounds,
          ...(isCoordinator
            ? { dropped: new Set(exchange.log.flatMap((r) => r.dropped.map((d) => d.party))).size }
            : {}),
        },
        output: {
          mode: 'model',
          isReceiver: true,
          count: trained.rounds,
          peerSizes: {},
          values: { version: model.version, ...trained.final },
        },
      };
    };

    return {
      get hasFailed() {
        return channels.hasFailed;
      },
      deliver: (sender, frame) => channels.deliver(sender, frame),
      progress: () => ({
        rows: progress.round,
        total: progress.rounds,
        bytesIn: channels.bytesIn,
        bytesOut: channels.bytesOut,
        metrics: progress.metrics,
      }),
      hostDropped: (party, code) => channels.hostDropped(party, code),
      dropped: () => channels.dropped(),
      run,
    };
  };

  return {
    name,
    params: HflParams,
    steps: ['train'],
    survivesDropouts: true,
    check: checkHflJob,
    reads: (_spec, party) => ({ view: party.view, idColumn: party.idColumn, columns: party.columns }),
    startStep,
    hasOutputRows: () => false,
    auditDetail(spec) {
      const params = HflParams.parse(spec.params);
      return {
        task: params.task,
        rounds: params.rounds,
        threshold: params.threshold,
        neighbours: params.neighbours,
      };
    },
  };
}
