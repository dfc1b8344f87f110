// Fixed-point quantization of real vectors into the ring secure aggregation sums in (Bonawitz et al., CCS 2017, §4;
// Bell et al., CCS 2020, §6 use the same clip-scale-round scheme). Each value is clipped to [−clip, clip], scaled by
// 2^fractionBits, rounded half away from zero and stored in two's complement. Sums of such values are exact in the
// ring as long as |Σ| < 2^(ring−1); past that they wrap around and read back as garbage, so the party count a
// quantization allows is part of its contract (`quantizationRange`, `checkQuantization`).
//
// Ring 64 converts through doubles: a scaled value must stay within 2^53 to be an exact integer, so clip·2^f ≤ 2^53.
// The ring sum itself is exact; reading it back as a double rounds it once it exceeds 2^53 in magnitude.
import { z } from 'zod';
import { GatewayError } from '../../core/errors.ts';
import { lanesPerElement, signedAt, type RingVector } from './ring.ts';

export const Quantization = z.strictObject({
  ring: z.union([z.literal(32), z.literal(64)]),
  /** Values are clipped to [−clip, clip] before scaling. */
  clip: z.number().positive().finite(),
  /** Scale 2^fractionBits: the precision is 2^−fractionBits. */
  fractionBits: z.int().min(0).max(52),
});
export type Quantization = z.infer<typeof Quantization>;

/** What the round defaults to when a job names no quantization (docs/secagg.md, "Parameters"). */
export const DEFAULT_QUANTIZATION: Quantization = { ring: 32, clip: 8, fractionBits: 16 };

const MAX_EXACT = 2 ** 53;

export type QuantizationRange = {
  /** Every input value is clipped into [−clip, clip]. */
  valueRange: readonly [number, number];
  /** Distance between two representable values: 2^−fractionBits (rounding error ≤ half of it per value). */
  precision: number;
  /** The largest |quantized value|, in ring units: round(clip · 2^fractionBits). */
  maxUnits: number;
  /** The most parties whose sum cannot overflow: parties · maxUnits < 2^(ring−1). */
  maxParties: number;
  /** The sum of `parties` inputs lies in this range (real units). */
  sumRange: readonly [number, number];
  /** Whether `parties` ≤ maxParties. */
  isSafe: boolean;
};

const unitsOf = (q: Quantization) => Math.round(q.clip * 2 ** q.fractionBits);

/** The per-value range, precision and overflow limit of `q` for a sum over `parties` inputs. */
export function quantizationRange(q: Quantization, parties: number): QuantizationRange {
  const maxUnits = unitsOf(q);
  // Largest n with n · maxUnits ≤ 2^(ring−1) − 1: any sum in ±(2^(ring−1) − 1) reads back unambiguously.
  const maxParties = maxUnits === 0 ? Infinity : Math.floor((2 ** (q.ring - 1) - 1) / maxUnits);
  const sum = (parties * maxUnits) / 2 ** q.fractionBits;
  return {
    valueRange: [-q.clip, q.clip],
    precision: 2 ** -q.fractionBits,
    maxUnits,
    maxParties,
    sumRange: [-sum, sum],
    isSafe: parties <= maxParties,
  };
}

/** Throws BAD_INPUT unless `q` is well formed, exact in doubles, and `parties` inputs cannot overflow its ring. */
export function checkQuantization(q: Quantization, parties: number): QuantizationRange {
  const parsed = Quantization.safeParse(q);
  if (!parsed.success)
    throw new GatewayError('BAD_INPUT', 'quantization needs ring 32 or 64, a positive clip and 0-52 fraction bits', {
      fields: parsed.error.issues.map((issue) => issue.path.join('.')),
    });
  if (!Number.isInteger(parties) || parties < 1)
    throw new GatewayError('BAD_INPUT', 'a quantized sum needs a whole number of parties ≥ 1', { parties });
  const range = quantizationRange(q, parties);
  if (range.maxUnits > MAX_EXACT)
    throw new GatewayError(
      'BAD_INPUT',
      `clip · 2^fractionBits = ${range.maxUnits} exceeds 2^53: scaled values would no longer be exact doubles`,
      { clip: q.clip, fractionBits: q.fractionBits, limit: MAX_EXACT },
    );
  if (range.maxUnits === 0)
    throw new GatewayError('BAD_INPUT', 'clip · 2^fractionBits rounds to 0: every value would quantize to 0', {
      clip: q.clip,
      fractionBits: q.fractionBits,
    });
  if (!range.isSafe)
    throw new GatewayError(
      'BAD_INPUT',
      `a sum of ${parties} inputs clipped to ±${q.clip} at 2^-${q.fractionBits} can overflow ring 2^${q.ring}: ` +
        `at most ${range.maxParties} parties fit; lower clip or fractionBits, or use ring 64`,
      { parties, maxParties: range.maxParties, ring: q.ring, clip: q.clip, fractionBits: q.fractionBits },
    );
  return range;
}

/**
 * Clips, scales and rounds `values` into a ring vector. SECAGG_BAD_VECTOR on NaN or ±Infinity (a clip would
 * silently turn them into ±clip); BAD_INPUT on a malformed `q`. Callers check the party count with
 * `checkQuantization(q, parties)` once per round.
 */
export function quantize(values: ArrayLike<number>, q: Quantization): RingVector {
  checkQuantization(q, 1);
  const scale = 2 ** q.fractionBits;
  const lanes = lanesPerElement(q.ring);
  const out = new Uint32Array(values.length * lanes);
  for (let i = 0; i < values.length; i++) {
    const x = values[i] as number;
    if (!Number.isFinite(x))
      throw new GatewayError('SECAGG_BAD_VECTOR', `input value #${i} is not a finite number`, { index: i });
    const clipped = x > q.clip ? q.clip : x < -q.clip ? -q.clip : x;
    // Half away from zero, so that quantize(−x) = −quantize(x) and rounding biases no sign.
    const units = clipped < 0 ? -Math.round(-clipped * scale) : Math.round(clipped * scale);
    if (lanes === 1) out[i] = units;
    else {
      // Two's complement over 64 bits: floor(units / 2^32) is exact for |units| ≤ 2^53, and the stores reduce mod 2^32.
      out[2 * i] = units;
      out[2 * i + 1] = Math.floor(units / 2 ** 32);
    }
  }
  return out;
}

/**
 * A ring sum of at most `maxParties` quantized inputs read back as reals. SECAGG_BAD_VECTOR when an element lies
 * outside what `maxParties` clipped inputs can reach: some input was not quantized with `q`, or the sum wrapped.
 */
export function dequantizeSum(sum: RingVector, q: Quantization, options: { maxParties: number }): Float64Array {
  const range = checkQuantization(q, options.maxParties);
  const bound = options.maxParties * range.maxUnits;
  const dimension = sum.length / lanesPerElement(q.ring);
  const scale = 2 ** -q.fractionBits;
  const out = new Float64Array(dimension);
  for (let i = 0; i < dimension; i++) {
    const units = signedAt(sum, i, q.ring);
    if (units > bound || units < -bound)
      throw new GatewayError(
        'SECAGG_BAD_VECTOR',
        `sum element #${i} is outside the range ${options.maxParties} inputs clipped to ±${q.clip} can reach`,
        { index: i, maxParties: options.maxParties },
      );
    out[i] = units * scale;
  }
  return out;
}
