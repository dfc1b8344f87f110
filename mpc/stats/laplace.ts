// Laplace noise for differentially private aggregates: a draw with scale b = sensitivity / epsilon, from the
// operating system's random source. The sample is -b · sign(u) · ln(1 - 2|u|) for u uniform on (-1/2, 1/2), with u
// built from 53 random bits so that it never reaches ±1/2.
import { randomBytes } from 'node:crypto';

export function laplace(scale: number, random: () => number = uniform): number {
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError('a Laplace scale must be positive');
  const u = random() - 0.5;
  return -scale * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
}

/** Uniform on (0, 1): 53 random bits, offset by half a step so that 0 is never drawn. */
function uniform(): number {
  const bytes = randomBytes(8);
  const high = bytes.readUInt32BE(0) >>> 11;
  const low = bytes.readUInt32BE(4);
  return (high * 2 ** 32 + low + 0.5) / 2 ** 53;
}
