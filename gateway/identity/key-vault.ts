// Encryption at rest for key material: scrypt (RFC 7914) derives a key from the passphrase and
// AES-256-GCM (NIST SP 800-38D) seals the secret inside a versioned JSON envelope.
import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { z } from 'zod';
import { GatewayError } from '../../core/errors.ts';

/** Bound into every ciphertext as AAD, so an envelope from another tool or version never opens. */
const AAD = Buffer.from('sealgate/key-vault/v1', 'utf8');

/** RFC 7914 §2 parameters: N=2^15, r=8 costs ~32 MiB and ~0.1 s, the interactive-login level of OWASP guidance. */
export const SCRYPT_PARAMS = { N: 2 ** 15, r: 8, p: 1, keyLength: 32 } as const;

const base64url = (bytes: number) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/)
    .refine((s) => Buffer.from(s, 'base64url').length === bytes);

export const SealedSecret = z.strictObject({
  v: z.literal(1),
  kdf: z.strictObject({
    name: z.literal('scrypt'),
    // Upper bounds stop a planted envelope from making start-up allocate gigabytes.
    N: z
      .int()
      .min(2 ** 14)
      .max(2 ** 20)
      .refine((n) => (n & (n - 1)) === 0, 'N must be a power of two'),
    r: z.int().min(8).max(16),
    p: z.int().min(1).max(4),
    keyLength: z.literal(32),
  }),
  salt: base64url(16),
  nonce: base64url(12),
  ciphertext: z.string().regex(/^[A-Za-z0-9_-]*$/),
  tag: base64url(16),
});
export type SealedSecret = z.infer<typeof SealedSecret>;

function deriveKey(passphrase: string, salt: Uint8Array, kdf: SealedSecret['kdf']): Promise<Buffer> {
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    return Promise.reject(new GatewayError('KEYSTORE_LOCKED', 'passphrase is empty'));
  }
  // Node's default maxmem (32 MiB) is exactly 128·N·r for N=2^15, r=8, which it rejects; give headroom.
  const maxmem = 256 * kdf.N * kdf.r;
  return new Promise((resolve, reject) => {
    scrypt(passphrase.normalize('NFC'), salt, kdf.keyLength, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem }, (error, key) => {
      if (error) reject(new GatewayError('INTERNAL', 'key derivation failed', {}, { cause: error }));
      else resolve(key);
    });
  });
}

/** Seals `plaintext` under `passphrase`. A fresh salt and nonce every call: equal inputs give unrelated envelopes. */
export async function sealSecret(plaintext: Uint8Array | string, passphrase: string): Promise<SealedSecret> {
  const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  const kdf = { name: 'scrypt', ...SCRYPT_PARAMS } as const;
  const salt = randomBytes(16);
  const nonce = randomBytes(12);
  const key = await deriveKey(passphrase, salt, kdf);
  try {
    const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
    cipher.setAAD(AAD);
    const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);
    return {
      v: 1,
      kdf,
      salt: salt.toString('base64url'),
      nonce: nonce.toString('base64url'),
      ciphertext: ciphertext.toString('base64url'),
      tag: cipher.getAuthTag().toString('base64url'),
    };
  } finally {
    key.fill(0);
  }
}

/**
 * Opens an envelope. Throws KEYSTORE_LOCKED when the envelope is malformed, the passphrase is wrong
 * or any byte was changed: GCM cannot tell a wrong key from tampering, and neither should the caller.
 */
export async function openSecret(envelope: unknown, passphrase: string): Promise<Uint8Array> {
  const parsed = SealedSecret.safeParse(envelope);
  if (!parsed.success)
    throw new GatewayError('KEYSTORE_LOCKED', 'sealed key envelope is malformed or of an unknown version');
  const sealed = parsed.data;
  const key = await deriveKey(passphrase, Buffer.from(sealed.salt, 'base64url'), sealed.kdf);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.nonce, 'base64url'), {
      authTagLength: 16,
    });
    decipher.setAAD(AAD);
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64url'));
    return new Uint8Array(
      Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64url')), decipher.final()]),
    );
  } catch (cause) {
    throw new GatewayError(
      'KEYSTORE_LOCKED',
      'cannot unlock sealed keys: wrong passphrase or the file was modified',
      {},
      { cause },
    );
  } finally {
    key.fill(0);
  }
}
