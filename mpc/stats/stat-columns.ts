// What a feature holder multiplies the requester's encrypted vectors by, in a joint-statistics job (pure).
//
// For each numeric column x it builds, over the kept aligned rows:
// - x' = x / 2^e, with 2^e the smallest power of two at or above max |x|, so |x'| ≤ 1 (the HE layer's bound);
//   the requester learns e, the order of magnitude of the column;
// - x'^2 and the indicator of a present value, for the variance and the count of present values;
// - one indicator per histogram bin, equal width between the column's 1st and 99th percentiles rounded outward to two
//   significant digits (the first and last bins are open-ended, so no single customer's extreme value is an edge);
// - for information value against the requester's label, one indicator per quantile bin (equal frequency, FATE's
//   default), leaving out any bin with fewer than k customers.
export type ColumnPlan = {
  name: string;
  /** Values were divided by 2^scaleExponent. */
  scaleExponent: number;
  /** Histogram edges: bins + 1 numbers; the first and last bins take everything below and above. */
  edges: number[];
  /** Customers in each information-value bin, or null where the bin has fewer than k and is left out. */
  ivCounts: (number | null)[];
};

export type PlannedColumn = {
  plan: ColumnPlan;
  /** Multiplied by each group's indicator vector: x', x'^2, present, then one per histogram bin. */
  statColumns: Float64Array[];
  /** Multiplied by the label and labelled vectors: one per kept information-value bin. */
  ivColumns: Float64Array[];
};

/** Statistics per group of one column: the order of statColumns. */
export const statColumnCount = (bins: number): number => 3 + bins;

function quantile(sorted: Float64Array, q: number): number {
  const at = Math.min(sorted.length - 1, Math.max(0, Math.floor(q * (sorted.length - 1))));
  return sorted[at] as number;
}

/** Rounds down (or up) to two significant digits. */
export function roundOutward(value: number, direction: 'down' | 'up'): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  const step = 10 ** (Math.floor(Math.log10(Math.abs(value))) - 1);
  const rounded = direction === 'down' ? Math.floor(value / step) * step : Math.ceil(value / step) * step;
  return Number(rounded.toPrecision(12));
}

export function histogramEdges(sorted: Float64Array, bins: number): number[] {
  if (sorted.length === 0) return Array.from({ length: bins + 1 }, (_, i) => i);
  let lo = roundOutward(quantile(sorted, 0.01), 'down');
  let hi = roundOutward(quantile(sorted, 0.99), 'up');
  if (!(hi > lo)) hi = lo + (lo === 0 ? 1 : Math.abs(lo) * 0.01);
  if (!(hi > lo)) lo = hi - 1;
  const width = (hi - lo) / bins;
  return Array.from({ length: bins + 1 }, (_, i) => Number((lo + i * width).toPrecision(12)));
}

/** The bin of `value` among `edges`: 0 below the second edge, bins - 1 at or above the last inner edge. */
export function binOf(edges: readonly number[], value: number): number {
  const bins = edges.length - 1;
  let b = 0;
  while (b < bins - 1 && value >= (edges[b + 1] as number)) b++;
  return b;
}

/** Equal-frequency bins: the boundaries between them (at most bins - 1, duplicates merged). */
export function quantileBoundaries(sorted: Float64Array, bins: number): number[] {
  const out: number[] = [];
  for (let j = 1; j < bins; j++) {
    const q = quantile(sorted, j / bins);
    if (out.length === 0 || q > (out[out.length - 1] as number)) out.push(q);
  }
  return out;
}

const upperBound = (boundaries: readonly number[], value: number) => {
  let b = 0;
  while (b < boundaries.length && value >= (boundaries[b] as number)) b++;
  return b;
};

export function planColumn(name: string, values: Float64Array, bins: number, k: number): PlannedColumn {
  const rows = values.length;
  const present = values.filter((v) => !Number.isNaN(v));
  const sorted = Float64Array.from(present).sort();
  let max = 0;
  for (const v of present) max = Math.max(max, Math.abs(v));
  const scaleExponent = max === 0 ? 0 : Math.ceil(Math.log2(max));
  const scale = 2 ** scaleExponent;
  const edges = histogramEdges(sorted, bins);
  const boundaries = quantileBoundaries(sorted, bins);

  const scaled = new Float64Array(rows);
  const squared = new Float64Array(rows);
  const isPresent = new Float64Array(rows);
  const histogram = Array.from({ length: bins }, () => new Float64Array(rows));
  const ivBins = Array.from({ length: boundaries.length + 1 }, () => new Float64Array(rows));
  for (let i = 0; i < rows; i++) {
    const v = values[i] as number;
    if (Number.isNaN(v)) continue;
    const s = v / scale;
    scaled[i] = s;
    squared[i] = s * s;
    isPresent[i] = 1;
    (histogram[binOf(edges, v)] as Float64Array)[i] = 1;
    (ivBins[upperBound(boundaries, v)] as Float64Array)[i] = 1;
  }
  const ivCounts = ivBins.map((column) => {
    const count = column.reduce((a, b) => a + b, 0);
    return count >= k ? count : null;
  });
  return {
    plan: { name, scaleExponent, edges, ivCounts },
    statColumns: [scaled, squared, isPresent, ...histogram],
    ivColumns: ivBins.filter((_, b) => ivCounts[b] !== null),
  };
}
