// The ingest signature scheme: x-sealgate-signature: t=<unix seconds>,v1=hex(HMAC-SHA256(secret,
// t + "." + raw body)). Checked against an independent HMAC (@noble/hashes, itself tested on
// RFC 4231), the timestamp window, tampering of any byte, and HKDF-derived stream secrets.
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signIngestBody, verifyIngestSignature } from '../../connectors/ingest-signature.ts';
import { deriveStreamSecret } from '../../connectors/stream-secret.ts';

const SECRET = 'sgi_test-secret-0123456789abcdefghijklmnopq';
const AT = new Date('2026-03-01T12:00:00Z');
const T = String(AT.getTime() / 1000);
const utf8 = (s: string) => new TextEncoder().encode(s);
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

const rejection = (reason: string) => expect.objectContaining({ code: 'BAD_SIGNATURE', detail: { reason } });

describe('RFC 4231 check of the independent HMAC', () => {
  it('test case 2 (key "Jefe")', () => {
    expect(hex(hmac(sha256, utf8('Jefe'), utf8('what do ya want for nothing?')))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });
});

describe('verifyIngestSignature', () => {
  it('accepts a header built by an independent implementation of the documented formula', () => {
    const body = '{"eventId":"e-1","subjectId":"alice","occurredAt":"2026-03-01T11:59:00Z"}';
    const v1 = hex(hmac(sha256, utf8(SECRET), utf8(`${T}.${body}`)));
    expect(signIngestBody(SECRET, body, AT)).toBe(`t=${T},v1=${v1}`);
    expect(() =>
      verifyIngestSignature({ secret: SECRET, header: `t=${T}, v1=${v1}`, rawBody: utf8(body), now: AT }),
    ).not.toThrow();
    // Upper-case hex is the same signature.
    expect(() =>
      verifyIngestSignature({ secret: SECRET, header: `t=${T},v1=${v1.toUpperCase()}`, rawBody: utf8(body), now: AT }),
    ).not.toThrow();
  });

  it('rejects any change to the body, the timestamp or the secret', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 256 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (body, at, bit) => {
          const header = signIngestBody(SECRET, body, AT);
          const index = at % body.length;
          const tampered = Uint8Array.from(body);
          tampered[index] = (tampered[index] as number) ^ (1 << bit);
          expect(() => verifyIngestSignature({ secret: SECRET, header, rawBody: body, now: AT })).not.toThrow();
          expect(() => verifyIngestSignature({ secret: SECRET, header, rawBody: tampered, now: AT })).toThrow(
            rejection('mismatch'),
          );
          expect(() => verifyIngestSignature({ secret: `${SECRET}x`, header, rawBody: body, now: AT })).toThrow(
            rejection('mismatch'),
          );
          const shifted = header.replace(`t=${T}`, `t=${Number(T) + 1}`);
          expect(() => verifyIngestSignature({ secret: SECRET, header: shifted, rawBody: body, now: AT })).toThrow(
            rejection('mismatch'),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('accepts timestamps up to the tolerance either side of the clock, and refuses beyond it', () => {
    const body = utf8('{}');
    const at = (seconds: number) => new Date(AT.getTime() + seconds * 1000);
    const header = signIngestBody(SECRET, body, AT);
    expect(() => verifyIngestSignature({ secret: SECRET, header, rawBody: body, now: at(300) })).not.toThrow();
    expect(() => verifyIngestSignature({ secret: SECRET, header, rawBody: body, now: at(-300) })).not.toThrow();
    expect(() => verifyIngestSignature({ secret: SECRET, header, rawBody: body, now: at(301) })).toThrow(
      rejection('stale'),
    );
    expect(() => verifyIngestSignature({ secret: SECRET, header, rawBody: body, now: at(-301) })).toThrow(
      rejection('stale'),
    );
    expect(() =>
      verifyIngestSignature({ secret: SECRET, header, rawBody: body, now: at(31), toleranceSeconds: 30 }),
    ).toThrow(rejection('stale'));
  });

  it('accepts when any one of several v1 signatures matches (secret rotation), and refuses malformed headers', () => {
    const body = utf8('[]');
    const good = signIngestBody(SECRET, body, AT);
    const other = signIngestBody('sgi_other', body, AT).split(',')[1] as string;
    expect(() =>
      verifyIngestSignature({
        secret: SECRET,
        header: `${good.split(',')[0]},${other},${good.split(',')[1]}`,
        rawBody: body,
        now: AT,
      }),
    ).not.toThrow();
    expect(() => verifyIngestSignature({ secret: SECRET, header: undefined, rawBody: body, now: AT })).toThrow(
      rejection('missing'),
    );
    for (const header of [
      'v1=abc',
      `t=${T}`,
      `t=${T},v1=zz`,
      `t=${T},t=${T},${other}`,
      `t=-5,${other}`,
      'garbage',
      `t=${T},=x,${other}`,
      'x'.repeat(2000),
    ]) {
      expect(
        () => verifyIngestSignature({ secret: SECRET, header, rawBody: body, now: AT }),
        header.slice(0, 40),
      ).toThrow(rejection('malformed'));
    }
  });
});

describe('deriveStreamSecret', () => {
  it('is HKDF-SHA256(subject key, salt, info = domain || stream), independently recomputed', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    const salt = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
    const expected = hkdf(sha256, key, salt, utf8('sealgate/ingest-stream-secret/v1\0clicks'), 32);
    expect(deriveStreamSecret(key, 'clicks', salt)).toBe(`sgi_${Buffer.from(expected).toString('base64url')}`);
    expect(deriveStreamSecret(key, 'clicks', salt)).not.toBe(deriveStreamSecret(key, 'likes', salt));
    expect(deriveStreamSecret(key, 'clicks', salt)).not.toBe(deriveStreamSecret(key, 'clicks', key));
  });
});
