// CKKS parameter presets (DESIGN.md §6, docs/he.md): fixed sets at 128-bit classical security under the
// HomomorphicEncryption.org standard, which SEAL enforces when it builds the context. A job names a preset, never raw
// moduli, so both ends of a protocol agree on every parameter by agreeing on one word.
//
// Each preset's modulus chain is [q0, q1 … qL, special]: q0 = 60 bits holds the result at the last level, the middle
// primes are the rescaling primes (one per multiplicative level) and the last one is SEAL's key-switching prime. The
// protocols here multiply a ciphertext by plaintexts once (depth 1) and need no rotation or relinearization, so no
// Galois or relinearization key is ever generated.
import { GatewayError } from '../../core/errors.ts';

export type HePresetName = 'ckks-8192' | 'ckks-16384';

export type HePreset = {
  readonly name: HePresetName;
  readonly polyModulusDegree: number;
  /** Bit sizes of the primes, key-switching prime last. */
  readonly coeffModulusBits: readonly number[];
  /** Scale of a fresh ciphertext: log2 of the rescaling primes, so a product rescales back to it. */
  readonly freshScaleBits: number;
  /**
   * Scale of the plaintexts a ciphertext is multiplied by. A product rescaled by one 40-bit prime lands at this scale,
   * which leaves q0 (60 bits) room for values up to 2^(60 - 30 - 1) = 2^29: the masks that hide per-slot products.
   */
  readonly multiplierScaleBits: number;
  /** Multiplicative levels: rescaling primes between q0 and the special prime. */
  readonly depth: number;
  /** Slots per ciphertext: polyModulusDegree / 2. */
  readonly slots: number;
};

function preset(name: HePresetName, polyModulusDegree: number, coeffModulusBits: number[]): HePreset {
  return {
    name,
    polyModulusDegree,
    coeffModulusBits,
    freshScaleBits: 40,
    multiplierScaleBits: 30,
    depth: coeffModulusBits.length - 2,
    slots: polyModulusDegree / 2,
  };
}

/**
 * 8192: 200 of the 218 bits SEAL allows at 128-bit security, two levels. 16384: 360 of 438 bits, six levels, twice the
 * slots per ciphertext (fewer, larger messages for large populations).
 */
export const HE_PRESETS: Readonly<Record<HePresetName, HePreset>> = {
  'ckks-8192': preset('ckks-8192', 8192, [60, 40, 40, 60]),
  'ckks-16384': preset('ckks-16384', 16384, [60, 40, 40, 40, 40, 40, 40, 60]),
};

export const HE_PRESET_NAMES = Object.keys(HE_PRESETS) as [HePresetName, ...HePresetName[]];

export const DEFAULT_HE_PRESET: HePresetName = 'ckks-8192';

/**
 * The preset, after checking that a computation of multiplicative `depth` fits it: HE_DEPTH_EXCEEDED before any key
 * is made or any row is read, rather than a wrong answer or a SEAL exception halfway through a job.
 */
export function presetFor(name: HePresetName, depth: number): HePreset {
  const chosen = HE_PRESETS[name];
  if (!Number.isInteger(depth) || depth < 0) throw new RangeError('depth must be a non-negative integer');
  if (depth > chosen.depth)
    throw new GatewayError(
      'HE_DEPTH_EXCEEDED',
      `the computation needs multiplicative depth ${depth}; preset ${name} offers ${chosen.depth}`,
      { preset: name, depth, available: chosen.depth },
    );
  // Values must stay below q0 after the last rescale, with a sign bit to spare.
  if (chosen.multiplierScaleBits + 1 >= (chosen.coeffModulusBits[0] as number))
    throw new GatewayError('INTERNAL', `preset ${name} leaves no room above its scale`);
  return chosen;
}
