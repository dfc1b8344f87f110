// Subject pseudonyms: keyed HMAC-SHA256, base64url, domain-separated; the raw id never appears in output or errors.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { isPseudonym, pseudonymize, pseudonymOfDigest } from '../../consent/pseudonym.ts';

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i);

describe('pseudonymize', () => {
  it('matches an independently computed HMAC-SHA256 vector, from the raw id or from its digest', () => {
    // Computed with Python: hmac.new(bytes(range(32)), b'sealgate/subject/v2\x00' + sha256(b'customer-42').digest(),
    // sha256), base64url unpadded.
    const vector = 'sp_AJ3i9Tq8J4SspHVhk5FQrUN3hLlCEz7PX-vqNRLPJSA';
    expect(pseudonymize(KEY, 'customer-42')).toBe(vector);
    expect(pseudonymOfDigest(KEY, createHash('sha256').update('customer-42').digest())).toBe(vector);
    expect(() => pseudonymOfDigest(KEY, new Uint8Array(31))).toThrow(/32 bytes/);
  });

  it('always yields a well-formed pseudonym that differs from the input and depends on the key', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 256 }), (rawId) => {
        const p = pseudonymize(KEY, rawId);
        expect(isPseudonym(p)).toBe(true);
        expect(p).not.toContain(rawId.length > 6 ? rawId : '\u0000never');
        expect(pseudonymize(KEY, rawId)).toBe(p);
        expect(pseudonymize(new Uint8Array(32).fill(9), rawId)).not.toBe(p);
      }),
    );
  });

  it('maps distinct ids to distinct pseudonyms', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 40 }), { minLength: 2, maxLength: 50 }),
        (ids) => {
          expect(new Set(ids.map((id) => pseudonymize(KEY, id))).size).toBe(ids.length);
        },
      ),
    );
  });

  it('rejects a key that is not 32 bytes and ids outside 1..256 characters, without echoing the id', () => {
    // The key is the gateway's own: a wrong one is a programmer error (RangeError), the id a bad request.
    expect(() => pseudonymize(new Uint8Array(31), 'x')).toThrow(RangeError);
    expect(() => pseudonymize(KEY, '')).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
    const longId = 'phone-13800138000'.repeat(20);
    let message = '';
    try {
      pseudonymize(KEY, longId);
    } catch (e) {
      message = `${(e as Error).message} ${JSON.stringify(e)}`;
    }
    expect(message).toMatch(/1 to 256/);
    expect(message).not.toContain('13800138000');
  });

  it('recognizes only the sp_ + 43 base64url form', () => {
    expect(isPseudonym('sp_' + 'A'.repeat(43))).toBe(true);
    expect(isPseudonym('sp_' + 'A'.repeat(42))).toBe(false);
    expect(isPseudonym('sp_' + 'A'.repeat(42) + '=')).toBe(false);
    expect(isPseudonym('customer-42')).toBe(false);
    expect(isPseudonym(42)).toBe(false);
  });
});
