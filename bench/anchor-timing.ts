// Timing statistics for the ledger benchmark: wall-clock samples from process.hrtime.bigint(), the median,
// and exact nearest-rank percentiles (no interpolation, no histogram buckets).

export type TimingSummary = {
  count: number;
  medianMs: number;
  p95Ms: number;
  minMs: number;
  maxMs: number;
  meanMs: number;
};

/** Nearest-rank percentile (q in (0, 1]) of ascending samples. */
export function nearestRank(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError('no samples');
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}

/** The median as the nearest-rank 50th percentile, so it is always a measured sample. */
export function summarizeMs(samplesMs: readonly number[]): TimingSummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const sum = sorted.reduce((s, v) => s + v, 0);
  return {
    count: sorted.length,
    medianMs: nearestRank(sorted, 0.5),
    p95Ms: nearestRank(sorted, 0.95),
    minMs: sorted[0] as number,
    maxMs: sorted[sorted.length - 1] as number,
    meanMs: sum / sorted.length,
  };
}

/** Milliseconds since `start` (a process.hrtime.bigint() reading). */
export const msSince = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

/** Runs `work` and returns its result with the wall-clock time it took. */
export async function timed<T>(work: () => T | Promise<T>): Promise<{ value: T; ms: number }> {
  const start = process.hrtime.bigint();
  const value = await work();
  return { value, ms: msSince(start) };
}
