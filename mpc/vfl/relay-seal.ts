// End-to-end sealing of what one host sends another through the guest (vfl-transport.ts). Each host makes an X25519
// key pair per attempt and publishes the public half with its CKKS key; two hosts derive one AES-256-GCM key from
// their shared secret with HKDF-SHA256 (salt: the job id; info: both host ids, sorted). Every relayed blob is sealed
// with a fresh 96-bit nonce and bound to its kind, round, sender and receiver as associated data, so the guest carries
// bytes it can neither read nor alter unnoticed.
//
// A host signs its public key with its Ed25519 identity key (mpc/peers/attestation.ts), bound to the job; the other
// host checks it against the key it registered for that host. A guest that replaced the key in transit, to read what
// it relays, is caught, and so is a host the other never registered: the job fails with JOB_BAD_MESSAGE. Hosts of a
// job with three or more parties must therefore register each other as peers, as they do the guest.
import {
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { GatewayError } from '../../core/errors.ts';
import type { Attestation } from '../peers/attestation.ts';

const STATEMENT = 'vfl-relay-key';
const statement = (job: string, host: string, publicKey: Uint8Array) =>
  Buffer.concat([Buffer.from(`${job}\u0000${host}\u0000`), publicKey]);

/** The public half and this host's signature over it, to publish. */
export function signedRelayKey(attestation: Attestation, job: string, self: string, pair: RelayKeyPair): Uint8Array[] {
  return [pair.publicKey, attestation.sign(STATEMENT, statement(job, self, pair.publicKey))];
}

/** `peer`'s published relay key, once its signature checks out. */
export function checkedRelayKey(
  attestation: Attestation,
  job: string,
  peer: string,
  blobs: readonly (Uint8Array | undefined)[],
): Uint8Array {
  const [publicKey, signature] = blobs;
  if (publicKey === undefined || signature === undefined)
    throw new GatewayError('JOB_BAD_MESSAGE', 'a relay key comes without its signature', {
      reason: 'unsigned relay key',
    });
  if (!attestation.verify(peer, STATEMENT, statement(job, peer, publicKey), signature))
    throw new GatewayError(
      'JOB_BAD_MESSAGE',
      `the relay key of ${peer} is not signed by the key registered for it (or ${peer} is not registered here)`,
      { reason: 'relay key signature', peer },
    );
  return publicKey;
}

const NONCE = 12;
const TAG = 16;

export type RelayKeyPair = { privateKey: KeyObject; publicKey: Uint8Array };

export function relayKeyPair(): RelayKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  // The raw 32 bytes: the last 32 of the SPKI DER encoding.
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return { privateKey, publicKey: Uint8Array.from(der.subarray(der.length - 32)) };
}

const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

export function relayKey(
  own: RelayKeyPair,
  peerPublic: Uint8Array,
  context: { job: string; a: string; b: string },
): Buffer {
  if (peerPublic.length !== 32)
    throw new GatewayError('JOB_BAD_MESSAGE', 'a relay key is not 32 bytes', { reason: 'malformed relay key' });
  const peer = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, peerPublic]), format: 'der', type: 'spki' });
  let shared: Buffer;
  try {
    // OpenSSL refuses a point of small order (an all-zero shared secret) itself.
    shared = diffieHellman({ privateKey: own.privateKey, publicKey: peer });
  } catch {
    throw new GatewayError('JOB_BAD_MESSAGE', 'a relay key has small order', { reason: 'small-order relay key' });
  }
  const [first, second] = [context.a, context.b].sort();
  return Buffer.from(hkdfSync('sha256', shared, context.job, `sealgate/vfl-relay/v1/${first}/${second}`, 32));
}

export function seal(key: Buffer, plain: Uint8Array, aad: string): Uint8Array {
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

export function open(key: Buffer, sealed: Uint8Array, aad: string): Uint8Array {
  if (sealed.length < NONCE + TAG)
    throw new GatewayError('JOB_BAD_MESSAGE', 'a relayed blob is too short', { reason: 'relayed blob too short' });
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
    return Buffer.concat([decipher.update(sealed.subarray(NONCE, sealed.length - TAG)), decipher.final()]);
  } catch {
    throw new GatewayError('JOB_BAD_MESSAGE', 'a relayed blob does not authenticate', {
      reason: 'relayed blob does not authenticate',
    });
  }
}
