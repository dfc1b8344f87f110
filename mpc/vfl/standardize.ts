// Standardization of one party's own features (pure). In a vertical split every party holds every aligned row of its
// own columns, so the means and standard deviations over the training rows are computed where the data is: no value
// or statistic leaves the party. Standardized values are clipped to ±4, the bound the HE layer's masks are sized for
// (he-engine.ts COLUMN_BOUND); the count of clipped cells is reported.
import { COLUMN_BOUND } from '../he/he-engine.ts';

export type Scaler = { means: number[]; scales: number[] };

export function fitScaler(columns: readonly Float64Array[], rows: readonly number[]): Scaler {
  const means: number[] = [];
  const scales: number[] = [];
  for (const column of columns) {
    let sum = 0;
    let n = 0;
    for (const r of rows) {
      const v = column[r] as number;
      if (Number.isNaN(v)) continue;
      sum += v;
      n++;
    }
    const mean = n > 0 ? sum / n : 0;
    let squares = 0;
    for (const r of rows) {
      const v = column[r] as number;
      if (!Number.isNaN(v)) squares += (v - mean) ** 2;
    }
    const sd = n > 1 ? Math.sqrt(squares / n) : 0;
    means.push(mean);
    scales.push(sd > 1e-12 ? sd : 1);
  }
  return { means, scales };
}

/** Standardized columns (a missing value becomes the mean, 0), clipped to ±4; and how many cells were clipped. */
export function applyScaler(
  scaler: Scaler,
  columns: readonly Float64Array[],
): { columns: Float64Array[]; clipped: number } {
  let clipped = 0;
  const out = columns.map((column, c) =>
    Float64Array.from(column, (v) => {
      if (Number.isNaN(v)) return 0;
      const z = (v - (scaler.means[c] as number)) / (scaler.scales[c] as number);
      if (Math.abs(z) > COLUMN_BOUND) {
        clipped++;
        return Math.sign(z) * COLUMN_BOUND;
      }
      return z;
    }),
  );
  return { columns: out, clipped };
}
