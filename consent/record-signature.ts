// Detached Ed25519 signatures (RFC 8032) on a consent record's RFC 8785 form, so a record handed to a subject or
// auditor verifies on its own, without the event log it came from.
import { canonicalHash } from './canonical.ts';
import type { ConsentRecord } from './record.ts';
import { keyIdOf, verifySignature, type Signer } from './signer.ts';

/**
 * The signed digest covers everything except `signatures` (so several parties can co-sign) and `anchor`
 * (filled in after the batch is anchored, which must not invalidate the signature).
 */
export function recordDigest(record: ConsentRecord): Buffer {
  return Buffer.from(canonicalHash({ ...record, signatures: [], anchor: null }), 'hex');
}

/** Returns the record with this signer's signature appended. */
export function signRecord(record: ConsentRecord, signer: Signer): ConsentRecord {
  const value = Buffer.from(signer.sign(recordDigest(record))).toString('hex');
  return { ...record, signatures: [...record.signatures, { alg: 'Ed25519', keyId: signer.keyId, value }] };
}

/** True when the record carries a valid signature by `publicKey`. */
export function hasValidRecordSignature(record: ConsentRecord, publicKey: Uint8Array): boolean {
  const keyId = keyIdOf(publicKey);
  const digest = recordDigest(record);
  return record.signatures.some(
    (s) => s.keyId === keyId && verifySignature(publicKey, digest, Buffer.from(s.value, 'hex')),
  );
}
