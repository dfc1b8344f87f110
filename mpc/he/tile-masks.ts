// Masks that hide per-slot products while keeping each tile's sum. A party that computed products x_i·v_i under the
// other party's key adds, before returning them, a random mask per slot whose sum over the tile equals a total it
// chooses: 0 when the key holder may learn the inner product (joint statistics), a random number when it must not
// (the party removes it once the key holder sends the sum back), or differential-privacy noise. The key holder then
// sees per slot only a value masked by a uniform draw 2^27 times larger than any product the protocols allow
// (|x_i·v_i| ≤ 16), and learns nothing but the tile sums (docs/he.md, "What a decryption reveals").
//
// Masks are integers in units of 2^-8, so a tile of 4096 slots sums exactly in float64 and hits its total exactly.
import { webcrypto } from 'node:crypto';
import type { SlotLayout } from './slot-layout.ts';

/** Largest mask magnitude: 2^31, below the 2^34 that q0 holds at the multiplier scale (he-presets.ts). */
export const MASK_BOUND = 2 ** 31;
/** Largest |x_i·v_i| a protocol may put in a slot. */
export const PRODUCT_BOUND = 16;
const UNITS = 256;

/**
 * A slot vector whose tile t sums to `totals[t]` (quantized to 2^-8); slots past the last tile are random too.
 * `random` fills a Uint32Array (tests pass a seeded one).
 */
export function tileMasks(
  layout: SlotLayout,
  totals: readonly number[],
  random: (into: Uint32Array) => Uint32Array = (into) => webcrypto.getRandomValues(into),
): Float64Array {
  if (totals.length > layout.tiles) throw new RangeError('more totals than tiles');
  const units = new Float64Array(layout.slots);
  const words = random(new Uint32Array(layout.slots * 2));
  for (let i = 0; i < layout.slots; i++) {
    // 40 random bits: 8 from one word, 32 from the next; centred on zero: within ±2^39 units, that is ±2^31.
    const draw = ((words[2 * i] as number) & 0xff) * 2 ** 32 + (words[2 * i + 1] as number);
    units[i] = draw - MASK_BOUND * UNITS;
  }
  totals.forEach((total, t) => {
    if (!Number.isFinite(total) || Math.abs(total) > MASK_BOUND) throw new RangeError('a mask total is out of range');
    const base = t * layout.chunk;
    let sum = 0;
    for (let i = 0; i < layout.chunk; i++) sum += units[base + i] as number;
    // Spread the difference evenly, then the remainder one unit at a time: every slot stays within range.
    const difference = Math.round(total * UNITS) - sum;
    const each = Math.trunc(difference / layout.chunk);
    let rest = difference - each * layout.chunk;
    for (let i = 0; i < layout.chunk; i++) {
      let step = each;
      if (rest !== 0) {
        step += Math.sign(rest);
        rest -= Math.sign(rest);
      }
      units[base + i] = (units[base + i] as number) + step;
    }
  });
  for (let i = 0; i < layout.slots; i++) units[i] = (units[i] as number) / UNITS;
  return units;
}
