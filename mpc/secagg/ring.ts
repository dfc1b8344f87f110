// Vectors over the ring Z_{2^32} or Z_{2^64}, the group secure aggregation masks in (Bonawitz et al., CCS 2017, §4:
// inputs and masks live in Z_R, so a uniformly random mask hides any input perfectly and masks cancel exactly).
//
// A `RingVector` is a Uint32Array of `dimension × ring/32` lanes: one lane per element in Z_{2^32}; two in Z_{2^64},
// low word first (lo, hi interleaved). Its bytes are then exactly the little-endian encoding of the elements, which
// is what crosses the wire (secagg-messages.ts) and what the AES-CTR keystream is read as (mask-prg.ts). Typed arrays
// use the platform's byte order, so this module refuses to load on a big-endian host rather than compute wrong sums.
import { endianness } from 'node:os';
import { GatewayError } from '../../core/errors.ts';

if (endianness() !== 'LE') throw new Error('mpc/secagg needs a little-endian host: ring lanes are read as LE words');

export type Ring = 32 | 64;
export type RingVector = Uint32Array;

const TWO_32 = 2 ** 32;

/** Uint32 lanes per element. */
export const lanesPerElement = (ring: Ring): 1 | 2 => (ring === 32 ? 1 : 2);

/** Bytes of one vector of `dimension` elements on the wire. */
export const vectorBytes = (dimension: number, ring: Ring): number => (dimension * ring) / 8;

export const zeroVector = (dimension: number, ring: Ring): RingVector =>
  new Uint32Array(dimension * lanesPerElement(ring));

function assertSameShape(target: RingVector, other: RingVector): void {
  if (target.length !== other.length)
    throw new RangeError(`ring vectors differ in length: ${target.length} and ${other.length} lanes`);
}

/** target += other (mod 2^ring), in place. */
export function addInPlace(target: RingVector, other: RingVector, ring: Ring): void {
  assertSameShape(target, other);
  const n = target.length;
  if (ring === 32) {
    // A Uint32Array store reduces mod 2^32 itself (ToUint32): the wraparound is free.
    for (let i = 0; i < n; i++) target[i] = (target[i] as number) + (other[i] as number);
    return;
  }
  for (let i = 0; i < n; i += 2) {
    const lo = (target[i] as number) + (other[i] as number);
    // The low sum is exact in a double (< 2^33); a carry is whatever exceeds 32 bits.
    const carry = lo >= TWO_32 ? 1 : 0;
    target[i] = lo;
    target[i + 1] = (target[i + 1] as number) + (other[i + 1] as number) + carry;
  }
}

/** target −= other (mod 2^ring), in place. */
export function subInPlace(target: RingVector, other: RingVector, ring: Ring): void {
  assertSameShape(target, other);
  const n = target.length;
  if (ring === 32) {
    for (let i = 0; i < n; i++) target[i] = (target[i] as number) - (other[i] as number);
    return;
  }
  for (let i = 0; i < n; i += 2) {
    const lo = (target[i] as number) - (other[i] as number);
    const borrow = lo < 0 ? 1 : 0;
    target[i] = lo;
    target[i + 1] = (target[i + 1] as number) - (other[i + 1] as number) - borrow;
  }
}

/**
 * Element `index` read as a signed (two's complement) integer. Exact for ring 32; for ring 64 exact while
 * |value| ≤ 2^53, and the nearest double beyond.
 */
export function signedAt(vector: RingVector, index: number, ring: Ring): number {
  if (ring === 32) return (vector[index] as number) | 0;
  const lo = vector[2 * index] as number;
  const hi = (vector[2 * index + 1] as number) | 0;
  return hi * TWO_32 + lo;
}

/** The little-endian bytes of `vector`, without a copy. */
export const vectorToBytes = (vector: RingVector): Uint8Array =>
  new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength);

/**
 * A vector from its little-endian bytes (copied: wire bytes are rarely 4-byte aligned). SECAGG_BAD_VECTOR unless
 * there are exactly `dimension × ring/8` of them.
 */
export function vectorFromBytes(bytes: Uint8Array, shape: { dimension: number; ring: Ring }): RingVector {
  const expected = vectorBytes(shape.dimension, shape.ring);
  if (bytes.length !== expected)
    throw new GatewayError(
      'SECAGG_BAD_VECTOR',
      `a masked vector has ${bytes.length} bytes; dimension ${shape.dimension} in ring 2^${shape.ring} takes ${expected}`,
      { bytes: bytes.length, expected },
    );
  const vector = zeroVector(shape.dimension, shape.ring);
  new Uint8Array(vector.buffer).set(bytes);
  return vector;
}

/** Whether two vectors hold the same lanes. */
export function isSameVector(a: RingVector, b: RingVector): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
