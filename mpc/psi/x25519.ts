// X25519 scalar multiplication on raw 32-byte u-coordinates (RFC 7748 §5) through node:crypto's native OpenSSL,
// with the all-zero output check of RFC 7748 §6.1 that rejects small-order points.
import { createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
import { abytes } from '../../core/bytes.ts';

export const X25519_BYTES = 32;

// DER prefixes of an X25519 key (RFC 8410): SubjectPublicKeyInfo and PKCS#8 PrivateKeyInfo, each followed by the
// 32 raw key bytes. Node has no raw-key import for X25519, so raw bytes go through these fixed wrappers.
export const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
export const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** Wraps a 32-byte scalar as a private KeyObject; OpenSSL clamps it (RFC 7748 §5 decodeScalar25519) on use. */
export function x25519PrivateKey(scalar: Uint8Array): KeyObject {
  // The scalar is this party's own secret, drawn fresh per job.
  abytes(scalar, X25519_BYTES, 'scalar');
  return createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, scalar]), format: 'der', type: 'pkcs8' });
}

/**
 * X25519(k, u) with the public key imported as a JWK. Measured against the SPKI path below on Node 24.9 / OpenSSL 3.5
 * (bench/psi-core.bench.ts prints both): the JWK import costs about half the CPU of the DER import, so it is the
 * default. Throws on a small-order u: OpenSSL refuses an all-zero shared secret.
 */
export function x25519ViaJwk(privateKey: KeyObject, u: Uint8Array): Buffer {
  const x = Buffer.from(u.buffer, u.byteOffset, X25519_BYTES).toString('base64url');
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
  return diffieHellman({ privateKey, publicKey });
}

/** X25519(k, u) with the public key imported as DER SubjectPublicKeyInfo; kept to measure against the JWK path. */
export function x25519ViaSpki(privateKey: KeyObject, u: Uint8Array): Buffer {
  const publicKey = createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, u]), format: 'der', type: 'spki' });
  return diffieHellman({ privateKey, publicKey });
}

export const x25519 = x25519ViaJwk;

/**
 * Multiplies each 32-byte u-coordinate of `points` by the scalar into `out` (same layout). Returns -1 when all
 * succeed, otherwise the index of the first point whose product is all zeros or that OpenSSL refused (small order):
 * both are the same protocol failure, and the caller names the index.
 */
export function multiplyPoints(privateKey: KeyObject, points: Uint8Array, out: Uint8Array): number {
  // A peer's points were already checked as whole records when their message was decoded (psi-message.ts).
  abytes(points, { multipleOf: X25519_BYTES }, 'points');
  abytes(out, points.length, 'out');
  const n = points.length / X25519_BYTES;
  for (let i = 0; i < n; i++) {
    const at = i * X25519_BYTES;
    let product: Buffer;
    try {
      product = x25519(privateKey, points.subarray(at, at + X25519_BYTES));
    } catch {
      return i;
    }
    if (isAllZero(product)) return i;
    out.set(product, at);
  }
  return -1;
}

/** Constant-time all-zero test (RFC 7748 §6.1 recommends checking without branching on the secret). */
export function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i] as number;
  return acc === 0;
}
