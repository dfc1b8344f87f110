// Signed statements one gateway makes to another inside a protocol, beyond the signed transport (peer-signature.ts):
// bytes a party vouches for even when another party carries them, such as the key a host publishes to another host
// through the guest (mpc/vfl/relay-seal.ts). Signed with the gateway's Ed25519 identity key, checked with the key
// this gateway registered for the peer. The signed bytes start with a domain-separation prefix and the statement's
// context, so an attestation can never pass for a request signature, a record signature, or another statement.
import type { Signer } from '../../consent/signer.ts';
import { verifySignature } from '../../consent/signer.ts';
import type { PeerRegistry } from './peer-registry.ts';

const PREFIX = 'sealgate/attestation/v1\u0000';

export type Attestation = {
  sign(context: string, message: Uint8Array): Uint8Array;
  /** True only when `signature` is `peer`'s over `message` in `context`, by its registered, active key. */
  verify(peer: string, context: string, message: Uint8Array, signature: Uint8Array): boolean;
};

export const attestationInput = (context: string, message: Uint8Array): Uint8Array =>
  Buffer.concat([Buffer.from(`${PREFIX}${context}\u0000`), message]);

/**
 * `self` is this gateway's party id: its own statements, which come back to it relayed (a secure-aggregation roster
 * lists every party's signed keys, its own among them), are checked with its own key, which no registry holds.
 */
export function createAttestation(
  signer: Pick<Signer, 'sign' | 'publicKey'>,
  keys: Pick<PeerRegistry, 'activeKey'>,
  self?: string,
): Attestation {
  return {
    sign: (context, message) => signer.sign(attestationInput(context, message)),
    verify(peer, context, message, signature) {
      const key = peer === self ? signer.publicKey : keys.activeKey(peer);
      return key !== null && verifySignature(key, attestationInput(context, message), signature);
    },
  };
}
