// Ed25519 signing identity (RFC 8032) over node:crypto. Keys travel as 32 raw bytes; node wants KeyObjects, so
// raw public keys are wrapped in the fixed 12-byte SPKI DER prefix of RFC 8410 §4.
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { GatewayError } from '../core/errors.ts';

export type Signer = {
  /** First 16 hex characters of SHA-256(publicKey): short, stable, and derivable by any verifier. */
  keyId: string;
  /** 32-byte raw Ed25519 public key. */
  publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
  /** Optional bulk path (e.g. on a worker thread); results in message order. */
  signBatch?(messages: readonly Uint8Array[]): Promise<Uint8Array[]>;
};

// RFC 8410: SEQUENCE { SEQUENCE { OID 1.3.101.112 } BIT STRING (33 bytes) } followed by the 32 key bytes.
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function keyIdOf(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest('hex').slice(0, 16);
}

/** Wraps a 32-byte raw public key as a node KeyObject. Throws BAD_INPUT on a wrong length. */
export function publicKeyFromRaw(publicKeyRaw: Uint8Array): KeyObject {
  if (!(publicKeyRaw instanceof Uint8Array) || publicKeyRaw.length !== 32) {
    throw new GatewayError('BAD_INPUT', 'Ed25519 public key must be 32 bytes');
  }
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKeyRaw]), format: 'der', type: 'spki' });
}

export function createSigner(privateKey: KeyObject): Signer {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new GatewayError('BAD_INPUT', 'signer needs an Ed25519 private key');
  }
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new GatewayError('INTERNAL', 'Ed25519 key export lacks x');
  const publicKey = new Uint8Array(Buffer.from(jwk.x, 'base64url'));
  return {
    keyId: keyIdOf(publicKey),
    publicKey,
    // Ed25519 is pure (no pre-hash), so node takes `null` as the digest algorithm.
    sign: (message) => new Uint8Array(sign(null, message, privateKey)),
  };
}

/** True only for a valid signature; malformed keys or signatures verify as false rather than throwing. */
export function verifySignature(publicKeyRaw: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
  try {
    return verify(null, message, publicKeyFromRaw(publicKeyRaw), signature);
  } catch {
    return false;
  }
}
