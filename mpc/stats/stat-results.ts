// From decrypted sums to the statistics the requester receives (pure). Counts come back as sums of 0/1 products
// with CKKS error far below one half, so they are rounded; a histogram cell under k is suppressed.
import type { ColumnPlan } from './stat-columns.ts';

export type ColumnStatistics = {
  /** Present values in the group. */
  count: number;
  sum: number | null;
  mean: number | null;
  /** Population variance. */
  variance: number | null;
  histogram: { from: number | null; to: number | null; count: number | null }[];
};

/** `sums` are one group's products in statColumns order: x', x'^2, present, histogram bins. */
export function groupStatistics(plan: ColumnPlan, sums: readonly number[], k: number): ColumnStatistics {
  const scale = 2 ** plan.scaleExponent;
  const bins = plan.edges.length - 1;
  const count = Math.max(0, Math.round(sums[2] as number));
  const sum = (sums[0] as number) * scale;
  const sumSquares = (sums[1] as number) * scale * scale;
  const mean = count > 0 ? sum / count : null;
  const variance = count > 0 && mean !== null ? Math.max(0, sumSquares / count - mean * mean) : null;
  const histogram = Array.from({ length: bins }, (_, b) => {
    const n = Math.max(0, Math.round(sums[3 + b] as number));
    return {
      from: b === 0 ? null : (plan.edges[b] as number),
      to: b === bins - 1 ? null : (plan.edges[b + 1] as number),
      count: n >= k ? n : null,
    };
  });
  if (count < k) return { count, sum: null, mean: null, variance: null, histogram };
  return { count, sum, mean, variance, histogram };
}

export type InformationValue = {
  iv: number;
  bins: { count: number | null; events: number | null; nonEvents: number | null; woe: number | null }[];
};

/**
 * Weight of evidence and information value of one column's bins against a binary label, as FATE's hetero binning
 * computes them: WOE_b = ln((events_b / events) / (nonEvents_b / nonEvents)), with 0.5 in place of an empty count,
 * and IV = Σ (events_b / events − nonEvents_b / nonEvents) · WOE_b. `events` and `labelled` are the decrypted sums
 * per kept bin, in order.
 */
export function informationValue(
  plan: ColumnPlan,
  events: readonly number[],
  labelled: readonly number[],
): InformationValue {
  const kept = plan.ivCounts.flatMap((count, b) => (count === null ? [] : [b]));
  const e = kept.map((_, j) => Math.max(0, Math.round(events[j] as number)));
  const n = kept.map((_, j) => Math.max(0, Math.round((labelled[j] as number) - (events[j] as number))));
  const totalEvents = e.reduce((a, b) => a + b, 0);
  const totalNon = n.reduce((a, b) => a + b, 0);
  let iv = 0;
  const woes = kept.map((_, j) => {
    const er = Math.max(e[j] as number, 0.5) / Math.max(totalEvents, 1);
    const nr = Math.max(n[j] as number, 0.5) / Math.max(totalNon, 1);
    const woe = Math.log(er / nr);
    iv += (er - nr) * woe;
    return woe;
  });
  let j = 0;
  const bins = plan.ivCounts.map((count) => {
    if (count === null) return { count: null, events: null, nonEvents: null, woe: null };
    const at = j++;
    return { count, events: e[at] as number, nonEvents: n[at] as number, woe: woes[at] as number };
  });
  return { iv, bins };
}
