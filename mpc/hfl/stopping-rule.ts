// When federated averaging stops (pure): after the agreed number of rounds, or earlier when the global weights have
// settled (the relative L2 test of mpc/vfl/linear-model.ts hasConverged) or the global held-out metric has not
// improved for `patience` rounds (early stopping, Prechelt 1998, "Early Stopping — But When?"). The coordinator
// applies it after each round to what it alone learns: the global weights and the metric from summed counts.
import { hasConverged } from '../vfl/linear-model.ts';

export type StoppingRule = {
  /** The most rounds to run (≥ 1). */
  rounds: number;
  /** Stop when ‖w_t − w_{t−1}‖ < tolerance·‖w_t‖; 0 turns the test off. */
  tolerance: number;
  /** Stop when the best metric is `patience` or more rounds old; 0 turns the test off. */
  patience: number;
};

/**
 * 20 rounds of LOCAL_TRAINING_DEFAULTS' 5 epochs give every row 100 passes, enough on breast (docs/hfl.md). The
 * decaying step still moves the global weights by about 0.6% a round at round 20 there, so a tolerance of 1e-3 stops
 * only a model that has truly settled; patience needs a held-out metric each round and is off by default.
 */
export const STOPPING_DEFAULTS = { rounds: 20, tolerance: 1e-3, patience: 0 } as const satisfies StoppingRule;

/** Why training stopped: the order is the order of precedence when several hold at one round. */
export const STOP_REASONS = ['converged', 'no-improvement', 'rounds'] as const;
export type StopReason = (typeof STOP_REASONS)[number];

export type RoundState = {
  /** Rounds completed so far (≥ 1). */
  round: number;
  /** The global weights before this round and after it. */
  previous: readonly number[];
  current: readonly number[];
  /** The global metric after each completed round, oldest first (may be empty when there is no evaluation). */
  metrics: readonly number[];
  /** true for AUC or accuracy, false for log-loss, RMSE or MAE. */
  isHigherBetter: boolean;
};

/**
 * The round (1-based) whose metric is best, the earliest on ties; a NaN never counts as best. With no usable metric,
 * the last round.
 */
export function bestRound(metrics: readonly number[], isHigherBetter: boolean): number {
  let best = -1;
  metrics.forEach((m, i) => {
    if (Number.isNaN(m)) return;
    const held = metrics[best] as number;
    if (best < 0 || (isHigherBetter ? m > held : m < held)) best = i;
  });
  return best < 0 ? metrics.length : best + 1;
}

/**
 * The reason to stop after `state.round`, or null to run another round. Throws RangeError on a rule out of range, a
 * round below 1, or weight vectors of different lengths.
 */
export function stopReason(rule: StoppingRule, state: RoundState): StopReason | null {
  if (!Number.isInteger(rule.rounds) || rule.rounds < 1) throw new RangeError('rounds must be an integer ≥ 1');
  if (!(rule.tolerance >= 0)) throw new RangeError('tolerance must be ≥ 0');
  if (!Number.isInteger(rule.patience) || rule.patience < 0) throw new RangeError('patience must be an integer ≥ 0');
  if (!Number.isInteger(state.round) || state.round < 1) throw new RangeError('round must be an integer ≥ 1');
  if (state.previous.length !== state.current.length)
    throw new RangeError('previous and current weights differ in length');
  const changeSquared = state.current.reduce((a, w, i) => a + (w - (state.previous[i] as number)) ** 2, 0);
  if (rule.tolerance > 0 && hasConverged(changeSquared, state.current, rule.tolerance)) return 'converged';
  const usable = state.metrics.filter((m) => !Number.isNaN(m)).length;
  if (rule.patience > 0 && usable > 0) {
    const sinceBest = state.metrics.length - bestRound(state.metrics, state.isHigherBetter);
    if (sinceBest >= rule.patience) return 'no-improvement';
  }
  return state.round >= rule.rounds ? 'rounds' : null;
}
