import { describe, expect, it } from 'vitest';
import { slotLayout, tileSums } from '../../../mpc/he/slot-layout.ts';
import { MASK_BOUND, tileMasks } from '../../../mpc/he/tile-masks.ts';

describe('tile masks', () => {
  it('sum exactly to each total, stay in bounds and differ between draws', () => {
    const layout = slotLayout(1000, 4096);
    const totals = [0, -3.25, 123456.5, MASK_BOUND / 2];
    const a = tileMasks(layout, totals);
    const b = tileMasks(layout, totals);
    expect(tileSums(layout, a, 0, 4)).toEqual(totals);
    expect(a.every((m) => Math.abs(m) <= 2 * MASK_BOUND)).toBe(true);
    expect(a.filter((m, i) => m === b[i]).length).toBeLessThan(5);
    // Spread: the masks of a tile look like uniform draws over ±2^31, not like the totals.
    const spread = Math.max(...a.subarray(0, 1000)) - Math.min(...a.subarray(0, 1000));
    expect(spread).toBeGreaterThan(MASK_BOUND);
  });

  it('refuses more totals than tiles and totals out of range', () => {
    const layout = slotLayout(4096, 4096);
    expect(() => tileMasks(layout, [0, 0])).toThrow(RangeError);
    expect(() => tileMasks(layout, [Number.NaN])).toThrow(RangeError);
    expect(() => tileMasks(layout, [MASK_BOUND * 2])).toThrow(RangeError);
  });
});
