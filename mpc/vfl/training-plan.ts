// What every party of a vertical model derives alike from the job, without talking (pure): which aligned rows are
// held out for evaluation, and the order of the training rows in each epoch. Both depend only on the agreed kept
// positions and the job's parameters, so position k and batch b mean the same customers everywhere.
import { createHash } from 'node:crypto';

/** Row k of the aligned order is held out when (k · 2654435761) mod 100 < testPercent (datasets/README.md). */
export const isHeldOut = (position: number, testPercent: number): boolean =>
  (position * 2654435761) % 100 < testPercent;

/** Indexes into the kept rows: the training rows and the held-out rows, each ascending. */
export function splitRows(kept: Uint32Array, testPercent: number): { train: number[]; test: number[] } {
  const train: number[] = [];
  const test: number[] = [];
  kept.forEach((position, i) => (isHeldOut(position, testPercent) ? test : train).push(i));
  return { train, test };
}

/** A deterministic stream of 32-bit numbers from a label: SHA-256 in counter mode. */
function stream(label: string): () => number {
  let block = Buffer.alloc(0);
  let at = 0;
  let counter = 0;
  return () => {
    if (at + 4 > block.length) {
      block = createHash('sha256').update(`${label}/${counter++}`).digest();
      at = 0;
    }
    const value = block.readUInt32BE(at);
    at += 4;
    return value;
  };
}

/**
 * The training rows of `epoch`, shuffled (Fisher–Yates with an unbiased draw), cut into batches. The order depends on
 * the job's seed and the epoch only, so a resumed job, or another job with the same seed over the same rows, trains
 * on the same batches.
 */
export function epochBatches(
  train: readonly number[],
  batchSize: number,
  key: { seed: number; epoch: number },
): number[][] {
  const order = [...train];
  const next = stream(`sealgate/vfl-batches/${key.seed}/${key.epoch}`);
  for (let i = order.length - 1; i > 0; i--) {
    const bound = i + 1;
    const limit = Math.floor(2 ** 32 / bound) * bound;
    let draw = next();
    while (draw >= limit) draw = next();
    const j = draw % bound;
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const batches: number[][] = [];
  for (let from = 0; from < order.length; from += batchSize) batches.push(order.slice(from, from + batchSize));
  return batches;
}
