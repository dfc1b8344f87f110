// Hash-to-u-coordinate for ECDH-PSI: u(x) = SHA-256(len‖tag ‖ len‖jobId ‖ len‖x) read as an X25519 u-coordinate
// (RFC 7748 §5 masks the top bit), in the style of the SecretFlow/FATE ECDH-PSI interconnection suite.
import { hash } from 'node:crypto';
import { encodeIdentifier } from './identifier-batch.ts';

/** Domain tag: a new protocol version gets a new tag, so points of different versions never compare equal. */
export const PSI_DOMAIN_TAG = 'sealgate/psi/v1';

const encoder = new TextEncoder();

/** 32-bit big-endian length prefixes make the concatenation injective: ("ab","c") and ("a","bc") differ. */
function lengthPrefixed(bytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + bytes.length);
  out.writeUInt32BE(bytes.length, 0);
  out.set(bytes, 4);
  return out;
}

/** The per-job prefix len‖tag‖len‖jobId, computed once and shared by every identifier of the job. */
export function pointDomain(jobId: string): Buffer {
  return Buffer.concat([lengthPrefixed(encoder.encode(PSI_DOMAIN_TAG)), lengthPrefixed(encoder.encode(jobId))]);
}

/**
 * Hashes the identifiers packed in `bytes` (identifier i is bytes[ends[i-1] .. ends[i]), UTF-8) into `out`,
 * 32 bytes each. One scratch buffer holds domain‖len‖id so each hash is a single native call.
 */
export function hashPackedIdentifiers(domain: Uint8Array, bytes: Uint8Array, ends: Uint32Array, out: Uint8Array): void {
  let longest = 0;
  let start = 0;
  for (const end of ends) {
    longest = Math.max(longest, end - start);
    start = end;
  }
  const scratch = Buffer.allocUnsafe(domain.length + 4 + longest);
  scratch.set(domain, 0);
  start = 0;
  for (let i = 0; i < ends.length; i++) {
    const end = ends[i] as number;
    const length = end - start;
    scratch.writeUInt32BE(length, domain.length);
    scratch.set(bytes.subarray(start, end), domain.length + 4);
    out.set(hash('sha256', scratch.subarray(0, domain.length + 4 + length), 'buffer'), i * 32);
    start = end;
  }
}

/** u(x) for each identifier, as one contiguous Buffer of 32·n bytes: the output grows, no per-row object is kept. */
export function hashToPoints(ids: Iterable<string>, jobId: string): Buffer {
  const domain = pointDomain(jobId);
  let out = Buffer.allocUnsafe(32 * 1024);
  let n = 0;
  for (const id of ids) {
    if ((n + 1) * 32 > out.length) {
      const grown = Buffer.allocUnsafe(out.length * 2);
      grown.set(out);
      out = grown;
    }
    out.set(hash('sha256', Buffer.concat([domain, lengthPrefixed(encodeIdentifier(id, n))]), 'buffer'), n * 32);
    n++;
  }
  return out.subarray(0, n * 32);
}
