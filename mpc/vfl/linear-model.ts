// The linear models trained here (pure): logistic regression (a 0/1 label) and linear regression (a number, such as
// customer lifetime value), with L2 regularization and mini-batch gradient descent.
//
// Federated training cannot apply the sigmoid to a score no party sees whole, so it uses the first-order Taylor
// expansion at 0, σ(z) ≈ 1/2 + z/4 (FATE's hetero logistic regression does the same): the residual becomes linear in
// the partial scores, d = z/4 + 1/2 − y, and every party's share of it can be encrypted and summed. The plaintext
// model the tests and benchmarks compare against uses the exact sigmoid; the gap between the two is measured there.
export type Task = 'logistic' | 'linear';

/** d = slope · z + offset − y: the residual each protocol round computes in pieces. */
export const RESIDUAL: Readonly<Record<Task, { slope: number; offset: number }>> = {
  logistic: { slope: 0.25, offset: 0.5 },
  linear: { slope: 1, offset: 0 },
};

export const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** u_i = Σ_c w_c · x_ci over `rows`. */
export function partialScores(columns: readonly Float64Array[], weights: readonly number[], rows: readonly number[]) {
  const out = new Float64Array(rows.length);
  columns.forEach((column, c) => {
    const w = weights[c] as number;
    if (w === 0) return;
    rows.forEach((r, i) => {
      out[i] = (out[i] as number) + w * (column[r] as number);
    });
  });
  return out;
}

/** X^T v over `rows`: one sum per column. */
export function columnSums(columns: readonly Float64Array[], vector: ArrayLike<number>, rows: readonly number[]) {
  return columns.map((column) => {
    let sum = 0;
    rows.forEach((r, i) => {
      sum += (column[r] as number) * (vector[i] as number);
    });
    return sum;
  });
}

/**
 * One gradient step: w ← w − η (g / |B| + λ w), where g = X^T d summed over the batch. Weight `unregularized` (the
 * intercept) takes no L2 term. Returns the squared norm of the change.
 */
export function gradientStep(
  weights: number[],
  gradientSums: readonly number[],
  options: { batch: number; learningRate: number; l2: number; unregularized?: number },
): number {
  let change = 0;
  weights.forEach((w, c) => {
    const penalty = c === options.unregularized ? 0 : options.l2 * w;
    const delta = options.learningRate * ((gradientSums[c] as number) / options.batch + penalty);
    weights[c] = w - delta;
    change += delta * delta;
  });
  return change;
}

export type PlainTraining = {
  task: Task;
  /** Standardized feature columns; an intercept column of ones is added here. */
  columns: readonly Float64Array[];
  label: ArrayLike<number>;
  batches: (epoch: number) => number[][];
  epochs: number;
  learningRate: number;
  l2: number;
  tolerance: number;
  /** 'exact' sigmoid (the plaintext reference) or 'taylor' (what the federated protocol computes). */
  link: 'exact' | 'taylor';
};

/** Trains in plaintext on one party's (or the joined) columns; returns the weights, intercept last, and epochs run. */
export function trainPlain(options: PlainTraining): { weights: number[]; epochs: number } {
  const ones = new Float64Array(options.label.length).fill(1);
  const columns = [...options.columns, ones];
  const weights = new Array<number>(columns.length).fill(0);
  let epochs = 0;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    let change = 0;
    for (const rows of options.batches(epoch)) {
      const z = partialScores(columns, weights, rows);
      const d = z.map((zi, i) => {
        const y = options.label[rows[i] as number] as number;
        if (options.task === 'linear') return zi - y;
        return options.link === 'exact' ? sigmoid(zi) - y : 0.25 * zi + 0.5 - y;
      });
      change += gradientStep(weights, columnSums(columns, d, rows), {
        batch: rows.length,
        learningRate: options.learningRate,
        l2: options.l2,
        unregularized: columns.length - 1,
      });
    }
    epochs++;
    if (hasConverged(change, weights, options.tolerance)) break;
  }
  return { weights, epochs };
}

/** The convergence test: the epoch's weight change is below `tolerance` relative to the weights' norm. */
export function hasConverged(changeSquared: number, weights: readonly number[] | number, tolerance: number): boolean {
  const normSquared = typeof weights === 'number' ? weights : weights.reduce((a, w) => a + w * w, 0);
  return Math.sqrt(changeSquared) < tolerance * Math.max(Math.sqrt(normSquared), 1e-12);
}
