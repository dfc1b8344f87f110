// Key vault: scrypt + AES-256-GCM envelopes open only with the right passphrase and only when
// every byte is intact; a malformed or hostile envelope is refused before any expensive work.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { openSecret, sealSecret, SCRYPT_PARAMS, type SealedSecret } from '../../../gateway/identity/key-vault.ts';

const PASS = 'correct horse battery staple';

function flipFirstByte(b64: string): string {
  const bytes = Buffer.from(b64, 'base64url');
  bytes[0] = (bytes[0] ?? 0) ^ 0x01;
  return bytes.toString('base64url');
}

describe('key vault', () => {
  it('round-trips any bytes under any passphrase (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 0, maxLength: 256 }),
        fc.string({ minLength: 1, maxLength: 40 }),
        async (plaintext, passphrase) => {
          const opened = await openSecret(await sealSecret(plaintext, passphrase), passphrase);
          expect(Buffer.from(opened).equals(Buffer.from(plaintext))).toBe(true);
        },
      ),
      { numRuns: 6 },
    );
  });

  it('writes the documented envelope: scrypt N=2^15 r=8 p=1, 16-byte salt, 12-byte nonce, 16-byte tag', async () => {
    const sealed = await sealSecret('secret', PASS);
    expect(sealed.v).toBe(1);
    expect(sealed.kdf).toEqual({ name: 'scrypt', N: 32768, r: 8, p: 1, keyLength: 32 });
    expect(SCRYPT_PARAMS.N).toBe(2 ** 15);
    expect(Buffer.from(sealed.salt, 'base64url')).toHaveLength(16);
    expect(Buffer.from(sealed.nonce, 'base64url')).toHaveLength(12);
    expect(Buffer.from(sealed.tag, 'base64url')).toHaveLength(16);
    expect(JSON.stringify(sealed)).not.toContain(Buffer.from('secret').toString('base64url'));
  });

  it('uses a fresh salt and nonce every time', async () => {
    const [a, b] = await Promise.all([sealSecret('same', PASS), sealSecret('same', PASS)]);
    expect(a.salt).not.toBe(b.salt);
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.ciphertext).not.toBe(b.ciphertext);
  });

  it('refuses a wrong passphrase with KEYSTORE_LOCKED', async () => {
    const sealed = await sealSecret('secret', PASS);
    await expect(openSecret(sealed, `${PASS}!`)).rejects.toMatchObject({ code: 'KEYSTORE_LOCKED' });
    await expect(openSecret(sealed, '')).rejects.toMatchObject({ code: 'KEYSTORE_LOCKED' });
  });

  it('refuses any tampered field with KEYSTORE_LOCKED', async () => {
    const sealed = await sealSecret('a secret worth tampering with', PASS);
    const tampered: SealedSecret[] = [
      { ...sealed, ciphertext: flipFirstByte(sealed.ciphertext) },
      { ...sealed, tag: flipFirstByte(sealed.tag) },
      { ...sealed, nonce: flipFirstByte(sealed.nonce) },
      { ...sealed, salt: flipFirstByte(sealed.salt) },
      { ...sealed, kdf: { ...sealed.kdf, N: 2 ** 14 } },
      { ...sealed, ciphertext: sealed.ciphertext.slice(0, -2) },
    ];
    for (const envelope of tampered) {
      await expect(openSecret(envelope, PASS)).rejects.toMatchObject({ code: 'KEYSTORE_LOCKED' });
    }
  });

  it('refuses malformed, unknown-version and resource-exhausting envelopes before deriving a key', async () => {
    const sealed = await sealSecret('x', PASS);
    const hostile: unknown[] = [
      null,
      'text',
      {},
      { ...sealed, v: 2 },
      { ...sealed, extra: 1 },
      { ...sealed, kdf: { ...sealed.kdf, N: 2 ** 30 } },
      { ...sealed, kdf: { ...sealed.kdf, N: 40000 } },
      { ...sealed, kdf: { ...sealed.kdf, name: 'pbkdf2' } },
      { ...sealed, nonce: 'AAAA' },
    ];
    const started = performance.now();
    for (const envelope of hostile) {
      await expect(openSecret(envelope, PASS)).rejects.toMatchObject({
        code: 'KEYSTORE_LOCKED',
        message: 'sealed key envelope is malformed or of an unknown version',
      });
    }
    // Nine refusals with no scrypt run at all: far below one derivation per envelope.
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('normalizes the passphrase (NFC), so the same visible text always opens', async () => {
    const composed = 'caf\u00e9 passphrase!';
    const decomposed = 'cafe\u0301 passphrase!';
    const sealed = await sealSecret('x', composed);
    expect(Buffer.from(await openSecret(sealed, decomposed)).toString()).toBe('x');
  });
});
