// Ed25519 signing against RFC 8032 §7.1 test vectors, plus the worker-thread bulk path.
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createSigner, keyIdOf, publicKeyFromRaw, verifySignature } from '../../consent/signer.ts';
import { createWorkerSigner } from '../../consent/signing-worker.ts';

// Source: RFC 8032, Section 7.1, "TEST 1" and "TEST 2".
const VECTORS = [
  {
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
];

// RFC 8410 PKCS#8 wrapping of a raw 32-byte Ed25519 seed.
const privateKeyFromSeed = (hex: string) =>
  createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(hex, 'hex')]),
    format: 'der',
    type: 'pkcs8',
  });
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('Ed25519 signer (RFC 8032 §7.1)', () => {
  for (const [i, v] of VECTORS.entries()) {
    it(`derives the public key and signature of TEST ${i + 1}`, () => {
      const signer = createSigner(privateKeyFromSeed(v.secret));
      expect(hex(signer.publicKey)).toBe(v.publicKey);
      expect(hex(signer.sign(Buffer.from(v.message, 'hex')))).toBe(v.signature);
      expect(
        verifySignature(
          Buffer.from(v.publicKey, 'hex'),
          Buffer.from(v.message, 'hex'),
          Buffer.from(v.signature, 'hex'),
        ),
      ).toBe(true);
    });
  }

  it('names the key by the first 16 hex characters of SHA-256(publicKey)', () => {
    const signer = createSigner(privateKeyFromSeed(VECTORS[0]!.secret));
    expect(signer.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(signer.keyId).toBe(keyIdOf(Buffer.from(VECTORS[0]!.publicKey, 'hex')));
  });

  it('rejects a flipped signature bit, a different message and a wrong-length signature', () => {
    const v = VECTORS[1]!;
    const pub = Buffer.from(v.publicKey, 'hex');
    const sig = Buffer.from(v.signature, 'hex');
    const flipped = Buffer.from(sig);
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(verifySignature(pub, Buffer.from(v.message, 'hex'), flipped)).toBe(false);
    expect(verifySignature(pub, Buffer.from('73', 'hex'), sig)).toBe(false);
    expect(verifySignature(pub, Buffer.from(v.message, 'hex'), sig.subarray(0, 63))).toBe(false);
    expect(verifySignature(new Uint8Array(31), Buffer.from(v.message, 'hex'), sig)).toBe(false);
  });

  it('refuses a public key that is not 32 bytes and a private key that is not Ed25519', () => {
    expect(() => publicKeyFromRaw(new Uint8Array(33))).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
    expect(() => createSigner(generateKeyPairSync('x25519').privateKey)).toThrow(
      expect.objectContaining({ code: 'BAD_INPUT' }),
    );
  });
});

describe('worker signer', () => {
  const key = privateKeyFromSeed(VECTORS[0]!.secret);
  const signer = createWorkerSigner(key);
  afterAll(() => signer.close());

  it('signs a batch exactly as the thread-local signer does (Ed25519 is deterministic)', async () => {
    const messages = Array.from({ length: 50 }, (_, i) => Buffer.from(`message ${i}`));
    const local = createSigner(key);
    const batch = await signer.signBatch(messages);
    expect(batch.map(hex)).toEqual(messages.map((m) => hex(local.sign(m))));
    expect(hex((await signer.signBatch([Buffer.alloc(0)]))[0]!)).toBe(VECTORS[0]!.signature);
  });

  it('keeps signing on the calling thread after close', async () => {
    const other = createWorkerSigner(key);
    await other.close();
    const [sig] = await other.signBatch([Buffer.alloc(0)]);
    expect(hex(sig!)).toBe(VECTORS[0]!.signature);
  });
});
