// Per-call latency sampling for in-process benchmarks: one process.hrtime.bigint() pair around every call,
// and exact nearest-rank percentiles from the sorted samples (no histogram buckets, no interpolation).

export type LatencySummary = {
  count: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
  maxUs: number;
};

/** Nearest-rank percentile (q in (0, 1]) of ascending samples. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) throw new RangeError('no samples');
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}

export function summarize(samplesNs: Float64Array): LatencySummary {
  const sorted = Float64Array.from(samplesNs).sort();
  let sum = 0;
  for (const s of sorted) sum += s;
  return {
    count: sorted.length,
    p50Us: percentile(sorted, 0.5) / 1000,
    p99Us: percentile(sorted, 0.99) / 1000,
    meanUs: sum / sorted.length / 1000,
    maxUs: (sorted[sorted.length - 1] as number) / 1000,
  };
}

/**
 * Times `count` calls of `run(i)` one by one. The result of each call is kept in a sink the caller can
 * read, so the engine cannot drop a call whose result looks unused.
 */
export function measure(count: number, run: (i: number) => unknown): { summary: LatencySummary; sink: unknown[] } {
  const samples = new Float64Array(count);
  const sink: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const start = process.hrtime.bigint();
    const out = run(i);
    samples[i] = Number(process.hrtime.bigint() - start);
    if ((i & 1023) === 0) sink.push(out);
  }
  return { summary: summarize(samples), sink };
}
