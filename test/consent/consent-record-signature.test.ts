// Detached Ed25519 signatures on a consent record verify on their own, survive anchoring, and break on any edit.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConsentGrantInput, buildGrantRecord, type ConsentRecord } from '../../consent/record.ts';
import { hasValidRecordSignature, signRecord } from '../../consent/record-signature.ts';
import { createSigner } from '../../consent/signer.ts';
import { grantInput } from '../fixtures/consent-log-fixture.ts';

const signer = createSigner(generateKeyPairSync('ed25519').privateKey);
const other = createSigner(generateKeyPairSync('ed25519').privateKey);
const record = buildGrantRecord(ConsentGrantInput.parse(grantInput()), () => ({
  recordId: '0b7f3f0e-8c1a-4f7e-9a51-2f8d2d7f6a10',
  subject: 'sp_' + 'a'.repeat(43),
  controller: 'dealer',
  notBefore: '2025-03-01T00:00:00.000Z',
  expiresAt: '2026-03-01T00:00:00.000Z',
  supersedes: null,
}));

describe('record signatures', () => {
  it('verify for the signer only', () => {
    const signed = signRecord(record, signer);
    expect(signed.signatures).toEqual([
      { alg: 'Ed25519', keyId: signer.keyId, value: expect.stringMatching(/^[0-9a-f]{128}$/) },
    ]);
    expect(hasValidRecordSignature(signed, signer.publicKey)).toBe(true);
    expect(hasValidRecordSignature(signed, other.publicKey)).toBe(false);
    expect(hasValidRecordSignature(record, signer.publicKey)).toBe(false);
  });

  it('survive co-signing and a later anchor, but not an edit of the terms', () => {
    const signed = signRecord(signRecord(record, signer), other);
    const anchored: ConsentRecord = {
      ...signed,
      anchor: {
        chainId: 31337,
        contract: '0x' + '1'.repeat(40),
        root: '0x' + '2'.repeat(64),
        txHash: '0x' + '3'.repeat(64),
        proof: [],
      },
    };
    expect(hasValidRecordSignature(anchored, signer.publicKey)).toBe(true);
    expect(hasValidRecordSignature(anchored, other.publicKey)).toBe(true);
    const edited: ConsentRecord = { ...signed, purposes: [{ purpose: 'marketing', legalBasis: 'dpv:Consent' }] };
    expect(hasValidRecordSignature(edited, signer.publicKey)).toBe(false);
  });
});
