// X25519 through every multiply path of the PSI core (direct JWK and SPKI imports, and the worker pool) reproduces
// the RFC 7748 vectors, refuses small-order points, and commutes: X(α, X(β, u)) = X(β, X(α, u)).
// Vectors: RFC 7748 §5.2 (scalar multiplication, incl. the iterated vector) and §6.1 (Diffie-Hellman),
// https://www.rfc-editor.org/rfc/rfc7748
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { PsiProtocolError } from '../../../mpc/psi/psi-error.ts';
import { createX25519Pool } from '../../../mpc/psi/x25519-pool.ts';
import { multiplyPoints, x25519PrivateKey, x25519ViaJwk, x25519ViaSpki } from '../../../mpc/psi/x25519.ts';

const hex = (s: string) => Buffer.from(s, 'hex');
const BASE = hex('0900000000000000000000000000000000000000000000000000000000000000');

// RFC 7748 §5.2
const SECTION_5_2 = [
  {
    scalar: 'a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4',
    u: 'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c',
    out: 'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552',
  },
  {
    scalar: '4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d',
    u: 'e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493',
    out: '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957',
  },
];
const ITERATED = {
  1: '422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079',
  1000: '684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51',
};
// RFC 7748 §6.1
const ALICE = {
  secret: '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
  public: '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
};
const BOB = {
  secret: '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb',
  public: 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',
};
const SHARED = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';

// Points of order 1, 2, 4 and 8 and their non-canonical encodings (the list of Bernstein's "Curve25519: new
// Diffie-Hellman speed records" and libsodium's blocklist): X25519 of any of them is all zeros.
const SMALL_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

const PATHS = { jwk: x25519ViaJwk, spki: x25519ViaSpki };
const pool = createX25519Pool({ size: 2, chunkPoints: 3 });
afterAll(() => pool.close());

describe.each(Object.entries(PATHS))('X25519 via the %s import', (_name, x25519) => {
  it.each(SECTION_5_2)('RFC 7748 §5.2 vector $out', ({ scalar, u, out }) => {
    expect(x25519(x25519PrivateKey(hex(scalar)), hex(u)).toString('hex')).toBe(out);
  });

  it('RFC 7748 §5.2 iterated vector after 1 and 1000 iterations', () => {
    let k: Buffer = Buffer.from(BASE);
    let u: Buffer = Buffer.from(BASE);
    for (let i = 1; i <= 1000; i++) {
      const next = x25519(x25519PrivateKey(k), u);
      u = k;
      k = next;
      if (i === 1) expect(k.toString('hex')).toBe(ITERATED[1]);
    }
    expect(k.toString('hex')).toBe(ITERATED[1000]);
  });

  it('RFC 7748 §6.1 Diffie-Hellman: both public keys and the shared secret', () => {
    const alice = x25519PrivateKey(hex(ALICE.secret));
    const bob = x25519PrivateKey(hex(BOB.secret));
    expect(x25519(alice, BASE).toString('hex')).toBe(ALICE.public);
    expect(x25519(bob, BASE).toString('hex')).toBe(BOB.public);
    expect(x25519(alice, hex(BOB.public)).toString('hex')).toBe(SHARED);
    expect(x25519(bob, hex(ALICE.public)).toString('hex')).toBe(SHARED);
  });
});

describe('X25519 on the worker pool', () => {
  it('reproduces RFC 7748 §5.2 and §6.1 across chunk boundaries', async () => {
    for (const { scalar, u, out } of SECTION_5_2) {
      expect((await pool.multiply(hex(scalar), hex(u))).toString('hex')).toBe(out);
    }
    // Seven copies over chunks of three: the result must come back in the order sent.
    const points = Buffer.concat([BASE, hex(BOB.public), BASE, hex(BOB.public), BASE, BASE, hex(BOB.public)]);
    const product = await pool.multiply(hex(ALICE.secret), points);
    const expected = [ALICE.public, SHARED, ALICE.public, SHARED, ALICE.public, ALICE.public, SHARED];
    expect(Array.from({ length: 7 }, (_, i) => product.subarray(i * 32, i * 32 + 32).toString('hex'))).toEqual(
      expected,
    );
    expect(points.subarray(0, 32)).toEqual(BASE);
  });

  it('hashes a batch of identifiers and multiplies in one task, matching the two steps done apart', async () => {
    const { hashToPoints } = await import('../../../mpc/psi/point-hash.ts');
    const ids = ['sp_a', 'sp_b', 'ünïcode'];
    const encoded = ids.map((id) => Buffer.from(id, 'utf8'));
    const ends = new Uint32Array(encoded.map((_, i) => encoded.slice(0, i + 1).reduce((n, b) => n + b.length, 0)));
    const batch = { bytes: Buffer.concat(encoded), ends, firstRow: 0, count: ids.length };
    const scalar = hex(ALICE.secret);
    const direct = await pool.multiply(scalar, hashToPoints(ids, 'job-1'));
    expect((await pool.hashAndMultiply(scalar, 'job-1', batch)).equals(direct)).toBe(true);
    expect((await pool.hashAndMultiply(scalar, 'job-2', batch)).equals(direct)).toBe(false);
  });

  it.each(SMALL_ORDER)('refuses the small-order point %s and names its index', async (point) => {
    const points = Buffer.concat([BASE, BASE, BASE, BASE, hex(point), BASE]);
    const error = await pool.multiply(hex(ALICE.secret), points).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PsiProtocolError);
    expect(error).toMatchObject({ code: 'PSI_SMALL_ORDER_POINT', detail: { index: 4 } });
  });

  it('multiplyPoints reports the first small-order index and -1 when all are fine', () => {
    const key = x25519PrivateKey(hex(BOB.secret));
    const points = Buffer.concat([BASE, hex(SMALL_ORDER[2] as string), BASE]);
    expect(multiplyPoints(key, points, Buffer.alloc(points.length))).toBe(1);
    expect(multiplyPoints(key, Buffer.concat([BASE, BASE]), Buffer.alloc(64))).toBe(-1);
  });
});

describe('commutativity, which ECDH-PSI rests on', () => {
  const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

  it('X(α, X(β, u)) = X(β, X(α, u)) for random scalars and u-coordinates', () => {
    fc.assert(
      fc.property(bytes32, bytes32, bytes32, (alpha, beta, u) => {
        const a = x25519PrivateKey(alpha);
        const b = x25519PrivateKey(beta);
        let left: Buffer;
        try {
          left = x25519ViaJwk(a, x25519ViaJwk(b, u));
        } catch {
          // Only a small-order u (probability ~2^-250 for random bytes) may refuse; then both orders must refuse.
          expect(() => x25519ViaJwk(b, x25519ViaJwk(a, u))).toThrow();
          return;
        }
        expect(x25519ViaJwk(b, x25519ViaJwk(a, u)).equals(left)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('holds for whole batches on the pool', async () => {
    await fc.assert(
      fc.asyncProperty(bytes32, bytes32, fc.array(bytes32, { minLength: 1, maxLength: 8 }), async (alpha, beta, us) => {
        const points = Buffer.concat(us);
        const ab = await pool.multiply(alpha, await pool.multiply(beta, points));
        const ba = await pool.multiply(beta, await pool.multiply(alpha, points));
        expect(ab.equals(ba)).toBe(true);
      }),
      { numRuns: 25 },
    );
  });
});
