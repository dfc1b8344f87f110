// The mask generator of secure aggregation: the PRG that stretches a 32-byte seed into a ring vector (Bonawitz et al.,
// CCS 2017, §4 "PRG"). HKDF-SHA256 (RFC 5869) turns the seed into an AES-256 key bound to the round's session and
// the mask's purpose; AES-256-CTR (NIST SP 800-38A) over zeros gives the keystream, read as little-endian ring lanes.
//
// Why this construction: AES-CTR is a PRF-based PRG that node:crypto runs at gigabytes per second, so a 100,000
// element mask costs well under a millisecond; the HKDF step means one seed never keys AES in two sessions or for
// two purposes (a self mask and a pairwise mask from the same bytes would otherwise cancel or repeat). The counter
// starts at zero: each derived key is used for exactly one keystream.
import { createCipheriv, hkdfSync } from 'node:crypto';
import { vectorBytes, type Ring, type RingVector } from './ring.ts';

export type MaskPurpose = 'self' | 'pair';

const SALT = 'sealgate/secagg/v1/mask-prg';
const ZERO_IV = Buffer.alloc(16);

export type MaskOptions = { session: string; purpose: MaskPurpose; dimension: number; ring: Ring };

/** PRG(seed) for `purpose` in `session`: a uniformly random-looking vector of `dimension` elements. */
export function expandMask(seed: Uint8Array, options: MaskOptions): RingVector {
  if (seed.length !== 32) throw new RangeError(`a mask seed is 32 bytes, not ${seed.length}`);
  const key = Buffer.from(hkdfSync('sha256', seed, SALT, `${options.purpose}\u0000${options.session}`, 32));
  const bytes = vectorBytes(options.dimension, options.ring);
  const cipher = createCipheriv('aes-256-ctr', key, ZERO_IV);
  const stream = cipher.update(Buffer.alloc(bytes));
  cipher.final();
  key.fill(0);
  // A fresh Buffer of this size may sit inside node's shared pool at an unaligned offset: copy into an own buffer.
  const out = new Uint32Array(bytes / 4);
  new Uint8Array(out.buffer).set(stream);
  return out;
}
