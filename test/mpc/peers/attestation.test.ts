import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { attestationInput, createAttestation } from '../../../mpc/peers/attestation.ts';

describe('attestations between gateways', () => {
  const key = generateKeyPairSync('ed25519');
  const der = key.publicKey.export({ format: 'der', type: 'spki' });
  const raw = Uint8Array.from(der.subarray(der.length - 32));
  const signer = {
    publicKey: raw,
    sign: (message: Uint8Array) => Uint8Array.from(sign(null, message, key.privateKey)),
  };
  const keys = { activeKey: (peer: string) => (peer === 'insurer-a' ? raw : null) };
  const attestation = createAttestation(signer, keys);
  const message = Buffer.from('job/host/key');

  it('verifies by the key registered for the peer, in the same context only', () => {
    const signature = attestation.sign('vfl-relay-key', message);
    expect(attestation.verify('insurer-a', 'vfl-relay-key', message, signature)).toBe(true);
    expect(attestation.verify('insurer-a', 'other-statement', message, signature)).toBe(false);
    expect(attestation.verify('insurer-a', 'vfl-relay-key', Buffer.from('job/host/kez'), signature)).toBe(false);
    expect(attestation.verify('charging-net', 'vfl-relay-key', message, signature)).toBe(false);
    expect(attestation.verify('insurer-a', 'vfl-relay-key', message, signature.subarray(0, 63))).toBe(false);
  });

  it('checks its own statements, relayed back to it, with its own key, which no registry holds', () => {
    const own = createAttestation(signer, { activeKey: () => null }, 'dealer-4s');
    const signature = own.sign('secagg-advertise', message);
    expect(own.verify('dealer-4s', 'secagg-advertise', message, signature)).toBe(true);
    expect(own.verify('insurer-a', 'secagg-advertise', message, signature)).toBe(false);
    expect(
      createAttestation(signer, { activeKey: () => null }).verify('dealer-4s', 'secagg-advertise', message, signature),
    ).toBe(false);
  });

  it('signs a prefixed input: a signature over the bare message does not pass', () => {
    const bare = Uint8Array.from(sign(null, message, key.privateKey));
    expect(attestation.verify('insurer-a', 'vfl-relay-key', message, bare)).toBe(false);
    expect(Buffer.from(attestationInput('c', message)).toString()).toBe(
      'sealgate/attestation/v1\u0000c\u0000job/host/key',
    );
  });
});
