// The peer request and response signatures (docs/peer-protocol.md): the documented example vector
// (key from RFC 8032 §7.1 TEST 1) checked with an independent Ed25519, the exact signing string, a
// sign/verify round trip, and that changing any signed field, or a malformed field, fails.
import { ed25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSigner } from '../../../consent/signer.ts';
import { ed25519FromSeed } from '../../../gateway/identity/identity.ts';
import {
  EMPTY_SHA256,
  PEER_HEADERS,
  contentSha256,
  newNonce,
  readPeerHeaders,
  requestSigningInput,
  responseSigningInput,
  signRequest,
  signResponse,
  verifyRequest,
  verifyResponse,
  type SignedRequest,
  type SignedResponse,
} from '../../../mpc/peers/peer-signature.ts';

// Source: RFC 8032, Section 7.1, TEST 1.
const RFC8032_TEST1_SECRET = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const RFC8032_TEST1_PUBLIC = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const keys = ed25519FromSeed(Buffer.from(RFC8032_TEST1_SECRET, 'hex'));
const signer = createSigner(keys.privateKey);

// Source: docs/peer-protocol.md, "Example vector".
const DOC_REQUEST: SignedRequest = {
  method: 'POST',
  pathWithQuery: '/peer/v1/ping',
  sender: 'dealer-4s',
  recipient: 'insurer',
  timestampMs: 1767225600000,
  nonce: 'AAECAwQFBgcICQoLDA0ODw',
  contentSha256: contentSha256(Buffer.from('{"echo":"hello"}')),
};
const DOC_REQUEST_SIGNATURE = '4mO_rJnrZZeUoJtE1MfTdrMiTGzLl0_V9EELWocm33RMAkJLDDxEHpYAlXfvsTBiC184L6swxLv_L-L21X74Aw';
const DOC_RESPONSE: SignedResponse = {
  status: 200,
  requestNonce: 'AAECAwQFBgcICQoLDA0ODw',
  sender: 'insurer',
  recipient: 'dealer-4s',
  timestampMs: 1767225600042,
  contentSha256: contentSha256(Buffer.from('{"ok":true}')),
};
const DOC_RESPONSE_SIGNATURE = 'AUDXU_2eYDKJoMPw9434mR4ZLlC7mO5Ay-wQP_4qKa3_73ZAIpILA2qXu9BezD--RVQYnOWlQmAKIwBpHtk2Ag';

describe('documented example vector', () => {
  it('uses the RFC 8032 TEST 1 key pair', () => {
    expect(Buffer.from(keys.publicKeyRaw).toString('hex')).toBe(RFC8032_TEST1_PUBLIC);
  });

  it('the request signing string is the eight documented lines', () => {
    expect(Buffer.from(requestSigningInput(DOC_REQUEST)).toString('utf8')).toBe(
      [
        'sealgate-peer-v1',
        'POST',
        '/peer/v1/ping',
        'dealer-4s',
        'insurer',
        '1767225600000',
        'AAECAwQFBgcICQoLDA0ODw',
        '952408573ad379a239a2e6d349c834995420ec83fd6d942bebfeb7bf4edb87d9',
      ].join('\n'),
    );
  });

  it('signs the request to the documented signature, which an independent Ed25519 verifies', () => {
    const headers = signRequest(signer, DOC_REQUEST);
    expect(headers[PEER_HEADERS.signature]).toBe(DOC_REQUEST_SIGNATURE);
    expect(headers).toMatchObject({
      [PEER_HEADERS.peer]: 'dealer-4s',
      [PEER_HEADERS.timestamp]: '1767225600000',
      [PEER_HEADERS.nonce]: DOC_REQUEST.nonce,
    });
    const sig = Buffer.from(DOC_REQUEST_SIGNATURE, 'base64url');
    expect(ed25519.verify(sig, requestSigningInput(DOC_REQUEST), Buffer.from(RFC8032_TEST1_PUBLIC, 'hex'))).toBe(true);
  });

  it('signs the response to the documented signature, which an independent Ed25519 verifies', () => {
    expect(Buffer.from(responseSigningInput(DOC_RESPONSE)).toString('utf8').split('\n')).toEqual([
      'sealgate-peer-v1-response',
      '200',
      'AAECAwQFBgcICQoLDA0ODw',
      'insurer',
      'dealer-4s',
      '1767225600042',
      '4062edaf750fb8074e7e83e0c9028c94e32468a8b6f1614774328ef045150f93',
    ]);
    expect(signResponse(signer, DOC_RESPONSE)[PEER_HEADERS.signature]).toBe(DOC_RESPONSE_SIGNATURE);
    expect(
      ed25519.verify(
        Buffer.from(DOC_RESPONSE_SIGNATURE, 'base64url'),
        responseSigningInput(DOC_RESPONSE),
        Buffer.from(RFC8032_TEST1_PUBLIC, 'hex'),
      ),
    ).toBe(true);
  });

  it('the empty-body hash is SHA-256 of nothing', () => {
    expect(EMPTY_SHA256).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

const partyId = fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,20}$/);
const signedRequest: fc.Arbitrary<SignedRequest> = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
  pathWithQuery: fc.stringMatching(/^\/[a-z0-9/._~%?=&-]{0,60}$/).filter((p) => !p.startsWith('//')),
  sender: partyId,
  recipient: partyId,
  timestampMs: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  nonce: fc.constant(null).map(() => newNonce()),
  contentSha256: fc.uint8Array({ maxLength: 64 }).map((b) => contentSha256(b)),
});

describe('request signatures', () => {
  it('verify(sign(r)) holds for any well-formed request', () => {
    fc.assert(
      fc.property(signedRequest, (r) => {
        const signature = signRequest(signer, r)[PEER_HEADERS.signature] ?? '';
        return verifyRequest(keys.publicKeyRaw, r, signature);
      }),
      { numRuns: 200 },
    );
  });

  it('changing any one signed field breaks the signature', () => {
    const signature = signRequest(signer, DOC_REQUEST)[PEER_HEADERS.signature] ?? '';
    const changes: Partial<SignedRequest>[] = [
      { method: 'PUT' },
      { pathWithQuery: '/peer/v1/ping?x=1' },
      { sender: 'insurer' },
      { recipient: 'charging-op' },
      { timestampMs: DOC_REQUEST.timestampMs + 1 },
      { nonce: newNonce() },
      { contentSha256: EMPTY_SHA256 },
    ];
    for (const change of changes)
      expect(verifyRequest(keys.publicKeyRaw, { ...DOC_REQUEST, ...change }, signature), JSON.stringify(change)).toBe(
        false,
      );
    expect(verifyRequest(keys.publicKeyRaw, DOC_REQUEST, signature)).toBe(true);
  });

  it('a signature by another key, a truncated one or garbage does not verify, and never throws', () => {
    const other = createSigner(ed25519FromSeed(Buffer.alloc(32, 7)).privateKey);
    expect(
      verifyRequest(keys.publicKeyRaw, DOC_REQUEST, signRequest(other, DOC_REQUEST)[PEER_HEADERS.signature] ?? ''),
    ).toBe(false);
    expect(verifyRequest(keys.publicKeyRaw, DOC_REQUEST, DOC_REQUEST_SIGNATURE.slice(0, 85))).toBe(false);
    expect(verifyRequest(keys.publicKeyRaw, DOC_REQUEST, '!'.repeat(86))).toBe(false);
    expect(verifyRequest(new Uint8Array(31), DOC_REQUEST, DOC_REQUEST_SIGNATURE)).toBe(false);
  });

  it('refuses to sign fields that could shift a line of the signing string', () => {
    const bad: [Partial<SignedRequest>, string][] = [
      [{ pathWithQuery: '/a\ninsurer' }, 'pathWithQuery'],
      [{ pathWithQuery: '/a b' }, 'pathWithQuery'],
      [{ pathWithQuery: '//evil.example/x' }, 'pathWithQuery'],
      [{ pathWithQuery: 'peer/v1' }, 'pathWithQuery'],
      [{ method: 'post' }, 'method'],
      [{ sender: 'Dealer' }, 'sender'],
      [{ recipient: 'a\nb' }, 'recipient'],
      [{ timestampMs: -1 }, 'timestampMs'],
      [{ timestampMs: 1.5 }, 'timestampMs'],
      [{ nonce: 'short' }, 'nonce'],
      [{ contentSha256: 'AB'.repeat(32) }, 'contentSha256'],
    ];
    for (const [change, field] of bad) {
      expect(() => requestSigningInput({ ...DOC_REQUEST, ...change })).toThrow(
        expect.objectContaining({ code: 'BAD_INPUT', detail: { field } }),
      );
    }
  });
});

describe('response signatures', () => {
  it('bind the status, the request nonce and both parties', () => {
    const signature = signResponse(signer, DOC_RESPONSE)[PEER_HEADERS.signature] ?? '';
    expect(verifyResponse(keys.publicKeyRaw, DOC_RESPONSE, signature)).toBe(true);
    for (const change of [
      { status: 201 },
      { requestNonce: newNonce() },
      { sender: 'dealer-4s', recipient: 'insurer' },
      { contentSha256: EMPTY_SHA256 },
    ]) {
      expect(verifyResponse(keys.publicKeyRaw, { ...DOC_RESPONSE, ...change }, signature)).toBe(false);
    }
  });

  it('a request signature is never a valid response signature (separate domains)', () => {
    const r = { ...DOC_RESPONSE, status: 200 };
    expect(verifyResponse(keys.publicKeyRaw, r, DOC_REQUEST_SIGNATURE)).toBe(false);
  });
});

describe('reading the headers', () => {
  const good = signRequest(signer, DOC_REQUEST);

  it('reads a well-formed set', () => {
    expect(readPeerHeaders(good)).toEqual({
      ok: true,
      value: {
        peer: 'dealer-4s',
        timestampMs: 1767225600000,
        nonce: DOC_REQUEST.nonce,
        contentSha256: DOC_REQUEST.contentSha256,
        signature: DOC_REQUEST_SIGNATURE,
      },
    });
  });

  it('names a missing or malformed sender, and a missing, repeated or malformed other header', () => {
    expect(readPeerHeaders({ ...good, [PEER_HEADERS.peer]: undefined })).toEqual({
      ok: false,
      reason: 'missing-peer',
      peer: null,
    });
    expect(readPeerHeaders({ ...good, [PEER_HEADERS.peer]: 'Not A Party' })).toMatchObject({
      ok: false,
      reason: 'missing-peer',
    });
    const malformed: Record<string, string | string[] | undefined>[] = [
      { [PEER_HEADERS.timestamp]: '01767225600000' },
      { [PEER_HEADERS.timestamp]: '1.5' },
      { [PEER_HEADERS.timestamp]: '99999999999999999' },
      { [PEER_HEADERS.nonce]: undefined },
      { [PEER_HEADERS.nonce]: [DOC_REQUEST.nonce, DOC_REQUEST.nonce] },
      { [PEER_HEADERS.contentSha256]: 'xyz' },
      { [PEER_HEADERS.signature]: 'abc' },
    ];
    for (const change of malformed) {
      expect(readPeerHeaders({ ...good, ...change }), JSON.stringify(change)).toEqual({
        ok: false,
        reason: 'malformed-headers',
        peer: 'dealer-4s',
      });
    }
  });

  it('nonces are 22 base64url characters (128 bits) and do not repeat', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => newNonce()));
    expect(seen.size).toBe(1000);
    for (const nonce of seen) expect(Buffer.from(nonce, 'base64url')).toHaveLength(16);
  });
});
