// What a party contributes to a `secagg` job, and what the sum means (pure): for its consented rows, the row count
// and, per declared column, the sum of the values present and how many are present. Only the sum over the parties
// that remained is ever seen, so the receiver learns totals and means across partners, never one partner's.
import { GatewayError } from '../../core/errors.ts';
import type { ViewRow } from '../../connectors/view-reader.ts';

/** Vector layout: [rows, sum(c1), present(c1), sum(c2), present(c2), …]. */
export const totalsDimension = (columns: readonly string[]): number => 1 + 2 * columns.length;

export function columnTotals(rows: readonly ViewRow[], columns: readonly string[]): Float64Array {
  const out = new Float64Array(totalsDimension(columns));
  out[0] = rows.length;
  columns.forEach((column, c) => {
    let sum = 0;
    let present = 0;
    for (const row of rows) {
      const value = row[column];
      if (value === null || value === undefined) continue;
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw new GatewayError('BAD_INPUT', `column ${column} is not numeric: a secure sum adds numbers`, { column });
      sum += value;
      present++;
    }
    out[1 + 2 * c] = sum;
    out[2 + 2 * c] = present;
  });
  return out;
}

/**
 * A party refuses to contribute a total the job's clip would cut: a silently clipped total is a wrong answer, where a
 * model update (hfl-fedavg) is clipped on purpose.
 */
export function checkWithinClip(totals: Float64Array, columns: readonly string[], clip: number): void {
  totals.forEach((value, i) => {
    if (Math.abs(value) <= clip) return;
    const what = i === 0 ? 'the row count' : `column ${columns[Math.floor((i - 1) / 2)] ?? '?'}`;
    throw new GatewayError('BAD_INPUT', `${what} of this party is beyond the job's clip: raise params.clip`, {
      reason: 'beyond clip',
    });
  });
}

export type Totals = { rows: number; columns: Record<string, { sum: number; present: number; mean: number | null }> };

export function totalsFromSum(sum: Float64Array, columns: readonly string[]): Totals {
  const out: Totals = { rows: Math.round(sum[0] ?? 0), columns: {} };
  columns.forEach((column, c) => {
    const total = sum[1 + 2 * c] ?? 0;
    const present = Math.round(sum[2 + 2 * c] ?? 0);
    out.columns[column] = { sum: total, present, mean: present === 0 ? null : total / present };
  });
  return out;
}
