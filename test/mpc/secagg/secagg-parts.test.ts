// The building blocks of secure aggregation, each against an independent reference: ring arithmetic against BigInt,
// quantization against its stated range, the mask PRG's domain separation, X25519 pair keys and the share AEAD,
// Shamir shares and their checks, the SecAgg+ graph, and the config's threshold rules.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../core/errors.ts';
import { keyPairFrom, openShare, pairKey, sealShare } from '../../../mpc/secagg/key-agreement.ts';
import { expandMask } from '../../../mpc/secagg/mask-prg.ts';
import { neighbourGraph } from '../../../mpc/secagg/neighbours.ts';
import {
  checkQuantization,
  DEFAULT_QUANTIZATION,
  dequantizeSum,
  quantizationRange,
  quantize,
} from '../../../mpc/secagg/quantize.ts';
import { addInPlace, signedAt, subInPlace, vectorFromBytes } from '../../../mpc/secagg/ring.ts';
import { checkSecAggConfig } from '../../../mpc/secagg/secagg-config.ts';
import {
  commitSeed,
  combineShares,
  rebuildMaskKey,
  rebuildSeed,
  splitSecret,
} from '../../../mpc/secagg/seed-shares.ts';
import { partyNames, seededRandom } from './secagg-fixture.ts';

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    return error instanceof GatewayError ? error.code : `not a GatewayError: ${String(error)}`;
  }
  return 'no error';
};
const rejectionOf = async (promise: Promise<unknown>): Promise<GatewayError> => {
  const error: unknown = await promise.then(
    () => new Error('resolved'),
    (e: unknown) => e,
  );
  if (!(error instanceof GatewayError)) throw new Error(`expected a GatewayError, got ${String(error)}`);
  return error;
};

const toBig = (lanes: Uint32Array, ring: 32 | 64): bigint[] =>
  ring === 32
    ? [...lanes].map(BigInt)
    : Array.from(
        { length: lanes.length / 2 },
        (_, i) => (BigInt(lanes[2 * i + 1] ?? 0) << 32n) | BigInt(lanes[2 * i] ?? 0),
      );

describe('ring arithmetic over Z_2^32 and Z_2^64', () => {
  it('add and sub in place agree with BigInt mod 2^ring, carries and borrows included', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(32 as const, 64 as const),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })), {
          minLength: 2,
          maxLength: 16,
        }),
        (ring, pairs) => {
          const lanes = ring === 32 ? pairs.length : pairs.length - (pairs.length % 2);
          const a = Uint32Array.from(pairs.slice(0, lanes).map(([x]) => x));
          const b = Uint32Array.from(pairs.slice(0, lanes).map(([, y]) => y));
          const modulus = 1n << BigInt(ring);
          const sum = Uint32Array.from(a);
          addInPlace(sum, b, ring);
          const diff = Uint32Array.from(a);
          subInPlace(diff, b, ring);
          const [A, B] = [toBig(a, ring), toBig(b, ring)];
          expect(toBig(sum, ring)).toEqual(A.map((x, i) => (x + (B[i] as bigint)) % modulus));
          expect(toBig(diff, ring)).toEqual(A.map((x, i) => (((x - (B[i] as bigint)) % modulus) + modulus) % modulus));
        },
      ),
      { numRuns: 200, seed: 1 },
    );
  });

  it('a wire vector of the wrong byte length is SECAGG_BAD_VECTOR', () => {
    expect(codeOf(() => vectorFromBytes(new Uint8Array(12), { dimension: 2, ring: 64 }))).toBe('SECAGG_BAD_VECTOR');
    expect(vectorFromBytes(new Uint8Array(16), { dimension: 2, ring: 64 })).toHaveLength(4);
  });
});

describe('fixed-point quantization with clipping', () => {
  it('round-trips within half the precision, clips to ±clip, and sums exactly in the ring (32 and 64)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(32 as const, 64 as const),
        fc.integer({ min: 0, max: 20 }),
        fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 1, maxLength: 20 }),
        (ring, fractionBits, values) => {
          const q = { ring, clip: 10, fractionBits };
          const back = dequantizeSum(quantize(values, q), q, { maxParties: 1 });
          values.forEach((x, i) => {
            const clipped = Math.max(-10, Math.min(10, x));
            expect(Math.abs((back[i] as number) - clipped)).toBeLessThanOrEqual(2 ** -fractionBits / 2);
          });
          const twice = quantize(values, q);
          addInPlace(twice, quantize(values, q), ring);
          const sum = dequantizeSum(twice, q, { maxParties: 2 });
          values.forEach((_, i) => expect(sum[i]).toBe(2 * (back[i] as number)));
        },
      ),
      { numRuns: 150, seed: 2 },
    );
  });

  it('states the range of the defaults: ±8 at 2^-16 in ring 32 sums up to 4,095 parties', () => {
    const range = quantizationRange(DEFAULT_QUANTIZATION, 255);
    expect(range).toMatchObject({ valueRange: [-8, 8], precision: 2 ** -16, maxUnits: 2 ** 19, maxParties: 4095 });
    expect(range.sumRange).toEqual([-2040, 2040]);
    expect(quantizationRange({ ring: 32, clip: 1, fractionBits: 16 }, 2).maxParties).toBe(32767);
  });

  it('BAD_INPUT names the party limit when a sum could overflow, and the 2^53 limit in ring 64', () => {
    const q = { ring: 32 as const, clip: 128, fractionBits: 16 };
    expect(() => checkQuantization(q, 256)).toThrow(/at most 255 parties fit/);
    expect(codeOf(() => checkQuantization(q, 256))).toBe('BAD_INPUT');
    expect(checkQuantization(q, 255).maxParties).toBe(255);
    expect(() => checkQuantization({ ring: 64, clip: 2 ** 40, fractionBits: 14 }, 2)).toThrow(/exceeds 2\^53/);
    expect(checkQuantization({ ring: 64, clip: 2 ** 40, fractionBits: 13 }, 2).maxUnits).toBe(2 ** 53);
  });

  it('NaN and ±Infinity are SECAGG_BAD_VECTOR rather than clipped', () => {
    for (const bad of [NaN, Infinity, -Infinity])
      expect(codeOf(() => quantize([0, bad], DEFAULT_QUANTIZATION))).toBe('SECAGG_BAD_VECTOR');
  });

  it('a sum outside what maxParties clipped inputs reach is SECAGG_BAD_VECTOR, not a wrapped number', () => {
    const q = { ring: 32 as const, clip: 1, fractionBits: 16 };
    const wild = Uint32Array.from([0x7fff0000]);
    expect(codeOf(() => dequantizeSum(wild, q, { maxParties: 3 }))).toBe('SECAGG_BAD_VECTOR');
    expect(signedAt(Uint32Array.from([0xffffffff]), 0, 32)).toBe(-1);
  });
});

describe('the mask PRG', () => {
  const seed = seededRandom('prg')(32);
  const options = { session: 'job/0/0', purpose: 'self' as const, dimension: 1000, ring: 32 as const };

  it('is deterministic, and separates sessions and purposes', () => {
    const a = expandMask(seed, options);
    expect(expandMask(seed, options)).toEqual(a);
    expect(a).toHaveLength(1000);
    expect(expandMask(seed, { ...options, session: 'job/0/1' })).not.toEqual(a);
    expect(expandMask(seed, { ...options, purpose: 'pair' })).not.toEqual(a);
    expect(expandMask(seed, { ...options, ring: 64 })).toHaveLength(2000);
  });

  it('looks uniform: each of 16 top-nibble bins of 16,000 lanes holds 1,000 ± 150', () => {
    const lanes = expandMask(seed, { ...options, dimension: 16_000 });
    const bins = new Array<number>(16).fill(0);
    for (const x of lanes) bins[x >>> 28] = (bins[x >>> 28] as number) + 1;
    for (const count of bins) expect(Math.abs(count - 1000)).toBeLessThan(150);
  });
});

describe('X25519 pair keys and the share AEAD', () => {
  const random = seededRandom('ka');
  const [a, b, c] = [keyPairFrom(random(32)), keyPairFrom(random(32)), keyPairFrom(random(32))];
  const session = 'job/0/0';

  it('both ends derive the same key; another session, purpose or pair derives another', () => {
    const ab = pairKey({
      privateKey: a.privateKey,
      peerPublic: b.publicKey,
      session,
      purpose: 'share-key',
      self: 'aa',
      peer: 'bb',
    });
    const ba = pairKey({
      privateKey: b.privateKey,
      peerPublic: a.publicKey,
      session,
      purpose: 'share-key',
      self: 'bb',
      peer: 'aa',
    });
    expect(ba).toEqual(ab);
    const other = (over: Partial<Parameters<typeof pairKey>[0]>) =>
      pairKey({
        privateKey: a.privateKey,
        peerPublic: b.publicKey,
        session,
        purpose: 'share-key',
        self: 'aa',
        peer: 'bb',
        ...over,
      });
    expect(other({ session: 'job/0/1' })).not.toEqual(ab);
    expect(other({ purpose: 'mask-seed' })).not.toEqual(ab);
    expect(other({ peerPublic: c.publicKey, peer: 'cc' })).not.toEqual(ab);
  });

  it('a small-order peer key (u = 0, u = 1, an order-8 point) is JOB_BAD_MESSAGE naming the party', () => {
    const order8 = Buffer.from('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'hex');
    const one = new Uint8Array(32);
    one[0] = 1;
    for (const point of [new Uint8Array(32), one, order8]) {
      let error: unknown;
      try {
        pairKey({
          privateKey: a.privateKey,
          peerPublic: point,
          session,
          purpose: 'mask-seed',
          self: 'aa',
          peer: 'mallory',
        });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(GatewayError);
      expect((error as GatewayError).code).toBe('JOB_BAD_MESSAGE');
      expect((error as GatewayError).detail.party).toBe('mallory');
    }
  });

  it('a sealed bundle opens only for its sender, receiver and session: otherwise SECAGG_BAD_SHARE', () => {
    const key = pairKey({
      privateKey: a.privateKey,
      peerPublic: b.publicKey,
      session,
      purpose: 'share-key',
      self: 'aa',
      peer: 'bb',
    });
    const route = { session, sender: 'aa', receiver: 'bb' };
    const sealed = sealShare(key, Uint8Array.from([1, 2, 3]), { ...route, nonce: random(12) });
    expect(openShare(key, sealed, route)).toEqual(Uint8Array.from([1, 2, 3]));
    for (const wrong of [{ receiver: 'cc' }, { sender: 'cc' }, { session: 'job/0/1' }])
      expect(codeOf(() => openShare(key, sealed, { ...route, ...wrong }))).toBe('SECAGG_BAD_SHARE');
    const flipped = Uint8Array.from(sealed);
    flipped[14] = (flipped[14] as number) ^ 1;
    expect(codeOf(() => openShare(key, flipped, route))).toBe('SECAGG_BAD_SHARE');
    expect(codeOf(() => openShare(key, sealed.subarray(0, 20), route))).toBe('SECAGG_BAD_SHARE');
  });
});

describe('Shamir shares of the round secrets', () => {
  const holders = partyNames(7);

  it('any t of the holders rebuild the secret (property over t and subsets)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 2, max: 7 }),
        fc.shuffledSubarray(holders, { minLength: 7, maxLength: 7 }),
        async (secret, threshold, order) => {
          const shares = await splitSecret(secret, { holders, threshold });
          const some = order.slice(0, threshold).map((h) => shares.get(h) as Uint8Array);
          expect(await combineShares(some, { owner: 'owner', threshold })).toEqual(secret);
        },
      ),
      { numRuns: 40, seed: 3 },
    );
  });

  it('a rebuilt seed or mask key that fails its commitment or public key is SECAGG_BAD_SHARE naming the owner', async () => {
    const random = seededRandom('shares');
    const seed = random(32);
    const session = 'job/0/0';
    const commitment = commitSeed({ session, party: 'owner-a', seed });
    const shares = [...(await splitSecret(seed, { holders, threshold: 4 })).values()];
    expect(await rebuildSeed({ shares, threshold: 4, session, owner: 'owner-a', commitment })).toEqual(seed);
    const corrupt = shares.map((s, i) => (i === 2 ? Uint8Array.from(s, (x, j) => (j === 5 ? x ^ 1 : x)) : s));
    const error = await rejectionOf(
      rebuildSeed({ shares: corrupt, threshold: 4, session, owner: 'owner-a', commitment }),
    );
    expect([error.code, error.detail.party]).toEqual(['SECAGG_BAD_SHARE', 'owner-a']);
    // The same shares under another session's commitment fail too.
    const elsewhere = commitSeed({ session: 'job/0/1', party: 'owner-a', seed });
    const moved = await rejectionOf(
      rebuildSeed({ shares, threshold: 4, session, owner: 'owner-a', commitment: elsewhere }),
    );
    expect(moved.code).toBe('SECAGG_BAD_SHARE');

    const pair = keyPairFrom(random(32));
    const keyShares = [...(await splitSecret(pair.privateKey, { holders, threshold: 4 })).values()];
    expect(
      await rebuildMaskKey({ shares: keyShares, threshold: 4, owner: 'owner-b', publicKey: pair.publicKey }),
    ).toEqual(pair.privateKey);
    const wrongKey = await rejectionOf(
      rebuildMaskKey({
        shares: keyShares.slice(0, 3).concat(corrupt[3] as Uint8Array),
        threshold: 4,
        owner: 'owner-b',
        publicKey: pair.publicKey,
      }),
    );
    expect([wrongKey.code, wrongKey.detail.party]).toEqual(['SECAGG_BAD_SHARE', 'owner-b']);
  });

  it('a repeated x-coordinate or a short share is SECAGG_BAD_SHARE; too few shares SECAGG_TOO_FEW_PARTIES', async () => {
    const shares = [...(await splitSecret(new Uint8Array(32).fill(7), { holders, threshold: 3 })).values()];
    const same = await rejectionOf(
      combineShares([shares[0], shares[0], shares[1]] as Uint8Array[], { owner: 'o', threshold: 3 }),
    );
    expect(same.code).toBe('SECAGG_BAD_SHARE');
    const short = await rejectionOf(
      combineShares([shares[0], shares[1], new Uint8Array(5)] as Uint8Array[], { owner: 'o', threshold: 3 }),
    );
    expect(short.code).toBe('SECAGG_BAD_SHARE');
    const few = await rejectionOf(combineShares(shares.slice(0, 2), { owner: 'o', threshold: 3 }));
    expect(few.code).toBe('SECAGG_TOO_FEW_PARTIES');
  });
});

describe('the SecAgg+ neighbour graph', () => {
  it('H(k, n): every party has k neighbours, the graph is symmetric, and all compute it alike from the roster', () => {
    fc.assert(
      fc.property(fc.integer({ min: 5, max: 40 }), fc.integer({ min: 1, max: 10 }), (n, half) => {
        const k = Math.min(2 * half, n - 2 - ((n - 2) % 2));
        fc.pre(k >= 2);
        const parties = partyNames(n);
        const graph = neighbourGraph({ session: 's/1', advertised: parties, neighbours: k });
        const again = neighbourGraph({ session: 's/1', advertised: [...parties].reverse(), neighbours: k });
        for (const p of parties) {
          expect(graph.neighboursOf(p)).toHaveLength(k);
          expect(graph.holdersOf(p)).toEqual([...graph.neighboursOf(p), p].sort());
          expect(again.neighboursOf(p)).toEqual(graph.neighboursOf(p));
          for (const q of graph.neighboursOf(p)) expect(graph.neighboursOf(q)).toContain(p);
        }
      }),
      { numRuns: 60, seed: 4 },
    );
  });

  it('stays connected after any k − 1 parties drop (k-connected), and another session draws another graph', () => {
    const parties = partyNames(9);
    const graph = neighbourGraph({ session: 's/1', advertised: parties, neighbours: 4 });
    for (let a = 0; a < 9; a++)
      for (let b = a + 1; b < 9; b++)
        for (let c = b + 1; c < 9; c++)
          expect(graph.isConnectedWithin(parties.filter((_, i) => i !== a && i !== b && i !== c))).toBe(true);
    const other = neighbourGraph({ session: 's/2', advertised: parties, neighbours: 4 });
    expect(parties.some((p) => other.neighboursOf(p).join() !== graph.neighboursOf(p).join())).toBe(true);
  });

  it('is complete for neighbours: null, and for a degree past the parties left', () => {
    const parties = partyNames(4);
    for (const neighbours of [null, 4])
      expect(neighbourGraph({ session: 's', advertised: parties, neighbours }).neighboursOf('party-00')).toEqual(
        parties.slice(1),
      );
  });
});

describe('the round config', () => {
  const base = {
    session: 'job/0/0',
    parties: partyNames(10),
    threshold: 6,
    neighbours: null,
    dimension: 4,
    ring: 32 as const,
  };

  it('t must exceed half the holders and not exceed them: n for SecAgg, k + 1 for SecAgg+', () => {
    expect(checkSecAggConfig(base).threshold).toBe(6);
    expect(() => checkSecAggConfig({ ...base, threshold: 5 })).toThrow(/at least 6/);
    expect(() => checkSecAggConfig({ ...base, threshold: 11 })).toThrow(/exceeds the 10 holders/);
    expect(checkSecAggConfig({ ...base, neighbours: 4, threshold: 3 }).neighbours).toBe(4);
    expect(() => checkSecAggConfig({ ...base, neighbours: 4, threshold: 6 })).toThrow(/exceeds the 5 holders/);
    expect(() => checkSecAggConfig({ ...base, neighbours: 4, threshold: 2 })).toThrow(/at least 3/);
  });

  it('odd or too large neighbours, unsorted or repeated parties, and a bad dimension are BAD_INPUT', () => {
    for (const bad of [
      { neighbours: 3, threshold: 3 },
      { neighbours: 10 },
      { parties: [...partyNames(10)].reverse() },
      { parties: [...partyNames(9), 'party-08'] },
      { dimension: 0 },
      { ring: 16 },
    ])
      expect(codeOf(() => checkSecAggConfig({ ...base, ...bad } as typeof base))).toBe('BAD_INPUT');
  });
});
