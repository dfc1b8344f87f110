// Model parts as a vertical training job registers them (mpc/vfl/vfl-protocol.ts), for the registry's route and CLI
// tests: the guest's part of a logistic model on the FATE breast split, with its lineage and held-out metrics.
import type { ModelPart } from '../../mpc/vfl/model-store.ts';

const GUEST_FEATURES = Array.from({ length: 10 }, (_, i) => `x${i}`);
const HOST_FEATURES = Array.from({ length: 20 }, (_, i) => `x${i}`);

/** The guest's part of `name`, trained by job `trainingJob` at `createdAt`; the store gives it its version. */
export function guestModelPart(
  name: string,
  trainingJob: string,
  createdAt: string,
  overrides: Partial<Omit<ModelPart, 'version'>> = {},
): Omit<ModelPart, 'version'> {
  return {
    name,
    task: 'logistic',
    protocol: 'vfl-logistic',
    role: 'guest',
    party: 'dealer-4s',
    createdAt,
    features: GUEST_FEATURES,
    weights: GUEST_FEATURES.map((_, i) => Math.round(Math.sin(i + 1) * 1e4) / 1e4),
    intercept: 0.4213,
    scaler: {
      means: GUEST_FEATURES.map((_, i) => 0.1 * i),
      scales: GUEST_FEATURES.map((_, i) => 1 + 0.05 * i),
    },
    labelScaler: null,
    lineage: {
      trainingJob,
      psiJob: '9b1c6a3e-0d47-4f3a-8f52-6c2e1d9a7b40',
      purpose: 'joint-modeling-clv',
      consentBasisRoot: 'c'.repeat(64),
      customers: 569,
      parties: [
        { id: 'dealer-4s', role: 'guest', view: 'breast_guest', columns: GUEST_FEATURES },
        { id: 'insurer-a', role: 'host', view: 'breast_host', columns: HOST_FEATURES },
      ],
      hyperParameters: {
        epochs: 20,
        batchSize: 64,
        learningRate: 0.15,
        l2: 1e-4,
        tolerance: 1e-4,
        testPercent: 20,
        seed: 7,
        preset: 'ckks-8192',
      },
    },
    evaluation: {
      metrics: { auc: 0.9871, ks: 0.8934, logLoss: 0.1412, rows: 114 },
      guestOnly: { auc: 0.9612, ks: 0.8121, logLoss: 0.2305, rows: 114 },
      lift: { error: 'logLoss', reduction: 0.3874, low: 0.1903, high: 0.5612 },
      heldOut: 114,
      evaluationMs: 812,
      epochs: 20,
    },
    ...overrides,
  };
}
