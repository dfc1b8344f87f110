import { beforeAll, describe, expect, it } from 'vitest';
import { createHeEngine, maxBytes, type HeEngine, type HeKeys } from '../../../mpc/he/he-engine.ts';
import { HE_PRESETS, presetFor } from '../../../mpc/he/he-presets.ts';
import { loadSeal } from '../../../mpc/he/seal-runtime.ts';
import { productCount, slotLayout, type SlotLayout } from '../../../mpc/he/slot-layout.ts';
import { tileMasks } from '../../../mpc/he/tile-masks.ts';
import { prng as seededRandom } from '../../fixtures/json-mutations.ts';

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
};

describe('CKKS engine', () => {
  let engine: HeEngine;
  let keys: HeKeys;
  const random = seededRandom(7);
  const vector = (rows: number, bound: number) => Float64Array.from({ length: rows }, () => (random() * 2 - 1) * bound);

  beforeAll(async () => {
    engine = await createHeEngine(presetFor('ckks-8192', 1));
    keys = engine.generateKeys();
  });

  const products = (layout: SlotLayout, v: Float64Array, columns: Float64Array[], totals: number[]) => {
    const [chunks] = engine.encryptVectors({ keys, layout, vectors: [v] });
    const masks = Array.from({ length: productCount(layout, columns.length) }, (_, g) =>
      tileMasks(layout, totals.slice(g * layout.tiles, (g + 1) * layout.tiles)),
    );
    return engine.maskedProducts({
      publicKey: keys.publicKey,
      layout,
      chunks: chunks as Uint8Array[],
      columns: columns,
      masks: masks,
    });
  };

  it.each([
    [569, 12],
    [9000, 3],
  ])('computes %i-row inner products with %i columns, each tile offset by its mask total', (rows, count) => {
    const layout = slotLayout(rows, engine.preset.slots);
    const v = vector(rows, 4);
    const columns = Array.from({ length: count }, () => vector(rows, 4));
    const totals = columns.map((_, i) => (i % 2 === 0 ? 0 : 1234.5 + i));
    const sums = engine.decryptSums({ keys, layout, products: products(layout, v, columns, totals), columns: count });
    expect(sums).toHaveLength(count);
    // CKKS is approximate: about 2^-15 per slot at the product scale, summed over at most 4096 slots per tile.
    columns.forEach((column, i) =>
      expect(Math.abs((sums[i] as number) - totals[i]! - dot(column, v))).toBeLessThan(0.01),
    );
  });

  it('shows the key holder nothing but masked slots: every decrypted slot is far from its product', async () => {
    const { seal } = await loadSeal();
    const layout = slotLayout(100, engine.preset.slots);
    const v = vector(100, 4);
    const column = vector(100, 4);
    const [product] = products(layout, v, [column], [0]);
    // Decrypt by hand, as a curious key holder would.
    const context = new seal.SEALContext(
      (() => {
        const p = new seal.EncryptionParameters(seal.SchemeType.ckks);
        p.setPolyModulusDegree(8192);
        p.setCoeffModulus(seal.CoeffModulus.Create(8192, Int32Array.from([60, 40, 40, 60])));
        return p;
      })(),
      true,
      seal.SecLevelType.tc128,
    );
    const secret = new seal.SecretKey();
    secret.loadFromArray(context, keys.secretKey);
    const ct = new seal.Ciphertext();
    ct.loadFromArray(context, product as Uint8Array);
    const plain = new seal.Plaintext();
    new seal.Decryptor(context, secret).decrypt(ct, plain);
    const slots = new seal.CKKSEncoder(context).decodeFloat64(plain) as Float64Array;
    const far = [...Array(100).keys()].filter((i) => Math.abs(slots[i]! - v[i]! * column[i]!) > 1000).length;
    expect(far).toBeGreaterThan(95);
    let sum = 0;
    for (let i = 0; i < 100; i++) sum += slots[i]!;
    expect(sum).toBeCloseTo(dot(v, column), 2);
  });

  it('refuses a depth the preset cannot hold before any work starts', () => {
    expect(() => presetFor('ckks-8192', 3)).toThrow(expect.objectContaining({ code: 'HE_DEPTH_EXCEEDED' }));
    expect(presetFor('ckks-16384', 6).depth).toBe(6);
  });

  it('refuses values outside the bounds the masks are sized for', () => {
    const layout = slotLayout(10, engine.preset.slots);
    expect(() => engine.encryptVectors({ keys, layout, vectors: [new Float64Array(10).fill(5)] })).toThrow(RangeError);
    expect(() => engine.encryptVectors({ keys, layout, vectors: [new Float64Array(10).fill(Number.NaN)] })).toThrow(
      RangeError,
    );
  });

  describe('refuses a hostile ciphertext with HE_BAD_CIPHERTEXT and goes on working', () => {
    const layout = slotLayout(50, 4096);
    const columns = () => [vector(50, 1)];
    const mask = () => [tileMasks(layout, [0])];
    const reasonOf = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        expect(error).toMatchObject({ code: 'HE_BAD_CIPHERTEXT' });
        return (error as { detail: { reason: string } }).detail.reason;
      }
      throw new Error('expected a refusal');
    };

    it('malformed, truncated or oversized bytes', () => {
      const [chunks] = engine.encryptVectors({ keys, layout, vectors: [vector(50, 1)] });
      const good = (chunks as Uint8Array[])[0] as Uint8Array;
      const cases = [
        Uint8Array.from([1, 2, 3]),
        good.subarray(0, good.length / 2),
        Uint8Array.from(good).map((b, i) => (i > 100 && i < 200 ? b ^ 0xff : b)),
        new Uint8Array(maxBytes(engine.preset, 'fresh') + 1),
      ];
      for (const bytes of cases)
        expect(
          reasonOf(() =>
            engine.maskedProducts({
              publicKey: keys.publicKey,
              layout,
              chunks: [bytes],
              columns: columns(),
              masks: mask(),
            }),
          ),
        ).toMatch(/does not load|larger/);
    });

    it('a ciphertext of another preset (foreign parameters)', async () => {
      const other = await createHeEngine(HE_PRESETS['ckks-16384']);
      const otherKeys = other.generateKeys();
      const [chunks] = other.encryptVectors({
        keys: otherKeys,
        layout: slotLayout(50, other.preset.slots),
        vectors: [vector(50, 1)],
      });
      expect(
        reasonOf(() =>
          engine.maskedProducts({
            publicKey: keys.publicKey,
            layout,
            chunks: chunks as Uint8Array[],
            columns: columns(),
            masks: mask(),
          }),
        ),
      ).toMatch(/does not load|larger/);
      expect(() =>
        engine.maskedProducts({
          publicKey: otherKeys.publicKey,
          layout,
          chunks: [new Uint8Array(1)],
          columns: columns(),
          masks: mask(),
        }),
      ).toThrow(expect.objectContaining({ code: 'HE_BAD_KEY' }));
    });

    it('a product where a fresh ciphertext belongs, and a fresh one where a product belongs (wrong level)', () => {
      const [chunks] = engine.encryptVectors({ keys, layout, vectors: [vector(50, 1)] });
      const productBytes = engine.maskedProducts({
        publicKey: keys.publicKey,
        layout,
        chunks: chunks as Uint8Array[],
        columns: columns(),
        masks: mask(),
      });
      expect(
        reasonOf(() =>
          engine.maskedProducts({
            publicKey: keys.publicKey,
            layout,
            chunks: productBytes,
            columns: columns(),
            masks: mask(),
          }),
        ),
      ).toBe('wrong level');
      expect(
        reasonOf(() => engine.decryptSums({ keys, layout, products: chunks as Uint8Array[], columns: 1 })),
      ).toMatch(/wrong level|larger/);
      expect(engine.decryptSums({ keys, layout, products: productBytes, columns: 1 })).toHaveLength(1);
    });

    it('a transparent ciphertext and one of the wrong scale', async () => {
      const { seal } = await loadSeal();
      const p = new seal.EncryptionParameters(seal.SchemeType.ckks);
      p.setPolyModulusDegree(8192);
      p.setCoeffModulus(seal.CoeffModulus.Create(8192, Int32Array.from([60, 40, 40, 60])));
      const context = new seal.SEALContext(p, true, seal.SecLevelType.tc128);
      const transparent = new seal.Ciphertext(context);
      transparent.resize(2);
      const bytes = Uint8Array.from(transparent.saveToArray(seal.ComprModeType.zstd) as Uint8Array);
      expect(
        reasonOf(() =>
          engine.maskedProducts({
            publicKey: keys.publicKey,
            layout,
            chunks: [bytes],
            columns: columns(),
            masks: mask(),
          }),
        ),
      ).toMatch(/transparent/);
      const [chunks] = engine.encryptVectors({ keys, layout, vectors: [vector(50, 1)] });
      const rescaled = new seal.Ciphertext();
      rescaled.loadFromArray(context, (chunks as Uint8Array[])[0] as Uint8Array);
      rescaled.setScale(2 ** 20);
      const wrongScale = Uint8Array.from(rescaled.saveToArray(seal.ComprModeType.zstd) as Uint8Array);
      expect(
        reasonOf(() =>
          engine.maskedProducts({
            publicKey: keys.publicKey,
            layout,
            chunks: [wrongScale],
            columns: columns(),
            masks: mask(),
          }),
        ),
      ).toBe('wrong scale');
    });
  });
});
