// Per-stream ingest secrets, derived rather than stored: HKDF-SHA256 (RFC 5869) over the party's
// 32-byte subject key with a random per-stream salt and the stream name in `info`. Only the salt is
// stored, so the connector database holds nothing that verifies or forges a signature by itself,
// and the gateway can still recompute the secret to verify each request.
import { hkdfSync, randomBytes } from 'node:crypto';
import { abytes } from '../core/bytes.ts';

/** RFC 5869 §3.2: `info` separates this use of the key from pseudonyms and from every other stream. */
const INFO_PREFIX = 'sealgate/ingest-stream-secret/v1\0';
export const SECRET_PREFIX = 'sgi_';
export const SALT_BYTES = 32;

export function newStreamSalt(): Buffer {
  return randomBytes(SALT_BYTES);
}

/** `sgi_` + base64url(32 bytes). The whole string, as UTF-8, is the HMAC key clients sign with. */
export function deriveStreamSecret(subjectKey: Uint8Array, stream: string, salt: Uint8Array): string {
  // Both are ours: the key from the key store, the salt from newStreamSalt via the connector database.
  abytes(subjectKey, 32, 'subjectKey');
  abytes(salt, SALT_BYTES, 'salt');
  const okm = Buffer.from(hkdfSync('sha256', subjectKey, salt, Buffer.from(INFO_PREFIX + stream, 'utf8'), 32));
  return SECRET_PREFIX + okm.toString('base64url');
}
