// Canonical JSON (RFC 8785, JCS) and the SHA-256 digests every signed record and chain link uses.
import { hash } from 'node:crypto';
import canonicalizeJcs from 'canonicalize';
import { GatewayError } from '../gateway/errors.ts';

/** RFC 8785 serialization. Throws BAD_INPUT for values JSON cannot represent (undefined at top, NaN, Infinity). */
export function canonicalize(value: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalizeJcs(value);
  } catch (cause) {
    throw new GatewayError('BAD_INPUT', 'value cannot be canonicalized as JSON', {}, { cause });
  }
  if (text === undefined) throw new GatewayError('BAD_INPUT', 'value cannot be canonicalized as JSON');
  return text;
}

export function sha256Hex(data: string | Uint8Array): string {
  // One-shot: no Hash object per call, which is most of the cost for the short inputs hashed on every request.
  return hash('sha256', data, 'hex');
}

/** SHA-256 over the RFC 8785 form: equal JSON values hash equally regardless of key order. */
export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalize(value));
}

/** The hash that starts every chain: 32 zero bytes, hex. */
export const GENESIS_HASH = '0'.repeat(64);
