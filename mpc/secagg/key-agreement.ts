// Pairwise keys of secure aggregation: X25519 (RFC 7748) between two parties' advertised keys, HKDF-SHA256
// (RFC 5869) bound to the session and the sorted pair of party ids, and AES-256-GCM (NIST SP 800-38D) for the Shamir
// shares one party sends another through the coordinator (Bonawitz et al., CCS 2017, §4 "KA" and "AE").
//
// Each party has two key pairs (the paper's c and s): the c key only encrypts shares, the s key only seeds pairwise
// masks. A share bundle is sealed with a fresh 96-bit nonce and bound, as associated data, to the session, its sender
// and its receiver, so the coordinator can neither read it, move it to another receiver or round, nor alter it.
//
// Private keys are 32 raw bytes, so a caller may derive them from injected randomness (deterministic tests); node
// wraps them in the fixed PKCS#8 prefix of RFC 8410. A peer key of small order would give an all-zero shared secret
// any eavesdropper knows: OpenSSL refuses it, and so do we, with JOB_BAD_MESSAGE naming the party (the key is a
// malformed protocol value; its signature may well be valid, so it is not an attestation failure).
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';
import { GatewayError } from '../../core/errors.ts';

export const KEY_BYTES = 32;
const NONCE = 12;
const TAG = 16;

// RFC 8410 DER prefixes for X25519 keys: PKCS#8 private (16 bytes) and SPKI public (12 bytes), each then 32 bytes.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

export type KeyPair = { privateKey: Uint8Array; publicKey: Uint8Array };

const privateKeyObject = (privateKey: Uint8Array): KeyObject => {
  if (privateKey.length !== KEY_BYTES)
    throw new RangeError(`an X25519 private key is 32 bytes, not ${privateKey.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, privateKey]), format: 'der', type: 'pkcs8' });
};

/** X25519(privateKey, 9): the public key of a raw private key (any 32 bytes; X25519 clamps them). */
export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  const der = createPublicKey(privateKeyObject(privateKey)).export({ format: 'der', type: 'spki' });
  return Uint8Array.from(der.subarray(der.length - KEY_BYTES));
}

/** A key pair whose private half is `secret` (32 random bytes). */
export const keyPairFrom = (secret: Uint8Array): KeyPair => ({
  privateKey: Uint8Array.from(secret),
  publicKey: publicKeyOf(secret),
});

const badKey = (party: string, reason: string) =>
  new GatewayError('JOB_BAD_MESSAGE', `the X25519 key ${party} advertised is refused: ${reason}`, {
    reason: `secagg key: ${reason}`,
    party,
  });

/** The raw X25519 shared secret; JOB_BAD_MESSAGE naming `party` for a malformed or small-order key. */
export function sharedSecret(privateKey: Uint8Array, peerPublic: Uint8Array, party: string): Uint8Array {
  if (peerPublic.length !== KEY_BYTES) throw badKey(party, `${peerPublic.length} bytes, not 32`);
  let shared: Buffer;
  try {
    const publicKey = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, peerPublic]), format: 'der', type: 'spki' });
    shared = diffieHellman({ privateKey: privateKeyObject(privateKey), publicKey });
  } catch {
    // OpenSSL fails the derivation when the result is all zeros (RFC 7748 §6.1): a point of small order.
    throw badKey(party, 'small order');
  }
  if (shared.every((b) => b === 0)) throw badKey(party, 'small order');
  return shared;
}

// A fixed, public scalar: checking a key against it finds small-order points (the clamped scalar is a multiple of the
// cofactor 8, so any point of order dividing 8 maps to zero). It protects nothing secret.
const PROBE = new Uint8Array(KEY_BYTES).fill(0x5a);

/** JOB_BAD_MESSAGE naming `party` unless `publicKey` is 32 bytes and not of small order. */
export function checkPublicKey(publicKey: Uint8Array, party: string): void {
  sharedSecret(PROBE, publicKey, party);
}

export type PairKeyPurpose = 'share-key' | 'mask-seed';

/**
 * The 32-byte key two parties share for `purpose` in `session`: HKDF over their X25519 secret, with the pair of ids
 * sorted so both ends derive the same key.
 */
export function pairKey(options: {
  privateKey: Uint8Array;
  peerPublic: Uint8Array;
  session: string;
  purpose: PairKeyPurpose;
  self: string;
  peer: string;
}): Uint8Array {
  const shared = sharedSecret(options.privateKey, options.peerPublic, options.peer);
  const [first, second] = [options.self, options.peer].sort();
  const info = `sealgate/secagg/v1/${options.purpose}\u0000${first}\u0000${second}`;
  const key = new Uint8Array(hkdfSync('sha256', shared, options.session, info, 32));
  shared.fill(0);
  return key;
}

export type ShareRoute = { session: string; sender: string; receiver: string };

const aadOf = (route: ShareRoute) =>
  Buffer.from(`sealgate/secagg/v1/share\u0000${route.session}\u0000${route.sender}\u0000${route.receiver}`);

/** Sealed size of a `plainBytes` bundle: nonce ‖ ciphertext ‖ tag. */
export const sealedBytes = (plainBytes: number): number => NONCE + plainBytes + TAG;

/** AES-256-GCM of `plain` under `key`, bound to `route`; `nonce` is 12 fresh random bytes. */
export function sealShare(key: Uint8Array, plain: Uint8Array, route: ShareRoute & { nonce: Uint8Array }): Uint8Array {
  if (route.nonce.length !== NONCE) throw new RangeError('an AES-GCM nonce is 12 bytes');
  const cipher = createCipheriv('aes-256-gcm', key, route.nonce);
  cipher.setAAD(aadOf(route));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Uint8Array.from(Buffer.concat([route.nonce, body, cipher.getAuthTag()]));
}

/**
 * The bundle `sealed` carries, once it authenticates under `key` as sent by `route.sender` to `route.receiver` in
 * `route.session`. SECAGG_BAD_SHARE naming the sender otherwise: malformed, for another receiver, round or key.
 */
export function openShare(key: Uint8Array, sealed: Uint8Array, route: ShareRoute): Uint8Array {
  const refuse = (reason: string) =>
    new GatewayError('SECAGG_BAD_SHARE', `the share bundle from ${route.sender} ${reason}`, {
      party: route.sender,
      reason,
    });
  if (sealed.length < NONCE + TAG) throw refuse('is too short');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE));
    decipher.setAAD(aadOf(route));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
    return Uint8Array.from(
      Buffer.concat([decipher.update(sealed.subarray(NONCE, sealed.length - TAG)), decipher.final()]),
    );
  } catch {
    throw refuse('does not authenticate (wrong key, receiver or round, or altered)');
  }
}
