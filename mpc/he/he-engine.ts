// CKKS operations of the joint protocols, on one thread (a worker of he-pool.ts, or a test's own thread). A party
// encrypts its vectors under its own key; the other party multiplies them by its columns, masks each tile and
// re-randomizes under the owner's public key; the owner decrypts the tile sums (docs/he.md). Every ciphertext and key
// that arrives from a peer is checked here before use, and every SEAL object is deleted before a call returns.
import { GatewayError } from '../../core/errors.ts';
import type { HePreset } from './he-presets.ts';
import { withSealScope, type Keep } from './seal-scope.ts';
import { loadSeal, type Seal, type SealRuntime } from './seal-runtime.ts';
import { columnTiles, productCount, tileSums, tiledChunk, type SlotLayout } from './slot-layout.ts';
import { MASK_BOUND } from './tile-masks.ts';

/** |value| a party may encrypt, and |value| of a column it multiplies by: every slot product stays within 16. */
export const VECTOR_BOUND = 4;
export const COLUMN_BOUND = 4;

export type HeKeys = { publicKey: Uint8Array; secretKey: Uint8Array };

/** Where a ciphertext from a peer must be: fresh (top level, fresh scale) or a product (last level, product scale). */
export type CiphertextKind = 'fresh' | 'product';

export type EncryptArgs = { keys: HeKeys; layout: SlotLayout; vectors: readonly ArrayLike<number>[] };
/** `chunks`: one peer vector's chunk ciphertexts; `masks`: one slot vector per product ciphertext (tile-masks.ts). */
export type ProductArgs = {
  publicKey: Uint8Array;
  layout: SlotLayout;
  chunks: readonly Uint8Array[];
  columns: readonly ArrayLike<number>[];
  masks: readonly Float64Array[];
};
/** `columns`: how many inner products the product ciphertexts carry. */
export type DecryptArgs = { keys: HeKeys; layout: SlotLayout; products: readonly Uint8Array[]; columns: number };

export type HeEngine = {
  readonly preset: HePreset;
  generateKeys(): HeKeys;
  /** Each vector's chunks, tiled, encrypted with the secret key (seeded: half the bytes of a public-key encryption). */
  encryptVectors(args: EncryptArgs): Uint8Array[][];
  /**
   * The products of one peer vector (its chunk ciphertexts) with `columns`, one ciphertext per group of `tiles`
   * columns, each tile masked to sum to its entry of `totals` more than the inner product, and re-randomized under
   * the owner's `publicKey`.
   */
  maskedProducts(args: ProductArgs): Uint8Array[];
  /** The tile sums of product ciphertexts: `columns` numbers. */
  decryptSums(args: DecryptArgs): number[];
  /** Bytes of this thread's WebAssembly memory. */
  memoryBytes(): number;
};

type Parts = {
  context: InstanceType<Seal['SEALContext']>;
  encoder: InstanceType<Seal['CKKSEncoder']>;
  evaluator: InstanceType<Seal['Evaluator']>;
  topChain: number;
  lastParms: ReturnType<InstanceType<Seal['SEALContext']>['lastParmsId']>;
};

const badCiphertext = (reason: string, detail: Record<string, unknown> = {}) =>
  new GatewayError('HE_BAD_CIPHERTEXT', `ciphertext refused: ${reason}`, { reason, ...detail });

/** Upper bounds on serialized sizes: 16 bytes per coefficient per prime, plus SEAL's header. */
export function maxBytes(preset: HePreset, what: CiphertextKind | 'public-key'): number {
  const dataPrimes = preset.coeffModulusBits.length - 1;
  const primes = what === 'fresh' ? dataPrimes : what === 'product' ? 1 : dataPrimes + 1;
  return 2 * preset.polyModulusDegree * primes * 8 + 4096;
}

export async function createHeEngine(preset: HePreset): Promise<HeEngine> {
  const runtime = await loadSeal();
  const { seal } = runtime;
  const parts = buildContext(runtime, preset);
  const { context, encoder, evaluator } = parts;
  const fresh = 2 ** preset.freshScaleBits;
  const multiplier = 2 ** preset.multiplierScaleBits;
  const zstd = seal.ComprModeType.zstd;

  const sealCall = <T>(what: string, run: () => T): T => {
    try {
      return run();
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      throw new GatewayError('INTERNAL', `SEAL failed to ${what}: ${runtime.messageOf(error)}`);
    }
  };

  const loadKey = <K extends 'PublicKey' | 'SecretKey'>(keep: Keep, kind: K, bytes: Uint8Array) => {
    if (bytes.length > maxBytes(preset, 'public-key'))
      throw new GatewayError('HE_BAD_KEY', `${kind} is larger than preset ${preset.name} allows`);
    const key = keep(new seal[kind]());
    try {
      key.loadFromArray(context, bytes);
    } catch (error) {
      throw new GatewayError('HE_BAD_KEY', `${kind} does not load: ${runtime.messageOf(error)}`);
    }
    return key as InstanceType<Seal[K]>;
  };

  /** A peer's ciphertext, checked: loads under these parameters; two parts, not transparent, at its level and scale. */
  const loadCiphertext = (keep: Keep, bytes: Uint8Array, kind: CiphertextKind, index: number) => {
    if (!(bytes instanceof Uint8Array)) throw badCiphertext('not bytes', { index });
    if (bytes.length > maxBytes(preset, kind))
      throw badCiphertext('larger than the preset allows', { index, bytes: bytes.length });
    const ct = keep(new seal.Ciphertext());
    try {
      ct.loadFromArray(context, bytes);
    } catch (error) {
      throw badCiphertext(`does not load (${runtime.messageOf(error)})`, { index });
    }
    if (ct.size() !== 2) throw badCiphertext('not a two-part ciphertext', { index, size: ct.size() });
    if (ct.isTransparent()) throw badCiphertext('transparent: it encrypts nothing', { index });
    if (!ct.isNttForm()) throw badCiphertext('not in NTT form', { index });
    // parmsId() and getContextData() hand back new C++ objects: they are scoped like the rest.
    const chain = keep(context.getContextData(keep(ct.parmsId()))).chainIndex();
    const wantChain = kind === 'fresh' ? parts.topChain : 0;
    if (chain !== wantChain) throw badCiphertext('wrong level', { index, level: chain, expected: wantChain });
    const wantScale = kind === 'fresh' ? preset.freshScaleBits : preset.multiplierScaleBits;
    if (!(Math.abs(Math.log2(ct.scale()) - wantScale) < 0.01))
      throw badCiphertext('wrong scale', { index, scaleBits: Math.log2(ct.scale()), expected: wantScale });
    return ct;
  };

  const checkBound = (values: ArrayLike<number>, bound: number, what: string) => {
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (!(Math.abs(v) <= bound)) throw new RangeError(`${what} holds ${v}, outside ±${bound}`);
    }
  };

  return {
    preset,
    memoryBytes: () => runtime.memoryBytes(),

    generateKeys() {
      return withSealScope((keep) =>
        sealCall('generate keys', () => {
          const generator = keep(new seal.KeyGenerator(context));
          const secret = keep(generator.secretKey());
          const pub = keep(generator.createPublicKey());
          return {
            publicKey: Uint8Array.from(pub.saveToArray(zstd) as Uint8Array),
            secretKey: Uint8Array.from(secret.saveToArray(zstd) as Uint8Array),
          };
        }),
      );
    },

    encryptVectors({ keys, layout, vectors }) {
      if (layout.slots !== preset.slots) throw new RangeError('layout is for another slot count');
      return withSealScope((keep) => {
        const pub = loadKey(keep, 'PublicKey', keys.publicKey);
        const secret = loadKey(keep, 'SecretKey', keys.secretKey);
        const encryptor = keep(new seal.Encryptor(context, pub, secret));
        return vectors.map((vector) => {
          if (vector.length !== layout.rows) throw new RangeError('vector length differs from the layout rows');
          checkBound(vector, VECTOR_BOUND, 'a vector');
          const out: Uint8Array[] = [];
          for (let c = 0; c < layout.chunks; c++)
            out.push(
              sealCall('encrypt', () =>
                withSealScope((inner) => {
                  const plain = inner(new seal.Plaintext());
                  encoder.encode(tiledChunk(layout, vector, c), fresh, plain);
                  const serializable = inner(encryptor.encryptSymmetricSerializable(plain));
                  return Uint8Array.from(serializable.saveToArray(zstd) as Uint8Array);
                }),
              ),
            );
          return out;
        });
      });
    },

    maskedProducts({ publicKey, layout, chunks, columns, masks }) {
      if (layout.slots !== preset.slots) throw new RangeError('layout is for another slot count');
      if (chunks.length !== layout.chunks)
        throw badCiphertext('wrong number of chunks', { chunks: chunks.length, expected: layout.chunks });
      const groups = productCount(layout, columns.length);
      if (masks.length !== groups) throw new RangeError('one mask per product ciphertext');
      for (const column of columns) {
        if (column.length !== layout.rows) throw new RangeError('column length differs from the layout rows');
        checkBound(column, COLUMN_BOUND, 'a column');
      }
      for (const mask of masks) checkBound(mask, MASK_BOUND * 2, 'a mask');
      return withSealScope((keep) => {
        const pub = loadKey(keep, 'PublicKey', publicKey);
        const encryptor = keep(new seal.Encryptor(context, pub));
        const inputs = chunks.map((bytes, i) => loadCiphertext(keep, bytes, 'fresh', i));
        const out: Uint8Array[] = [];
        for (let g = 0; g < groups; g++)
          out.push(
            sealCall('multiply', () =>
              withSealScope((inner) => {
                const sum = inner(new seal.Ciphertext());
                const product = inner(new seal.Ciphertext());
                const plain = inner(new seal.Plaintext());
                inputs.forEach((input, c) => {
                  encoder.encode(columnTiles(layout, columns, g, c), multiplier, plain);
                  evaluator.multiplyPlain(input, plain, c === 0 ? sum : product);
                  if (c > 0) evaluator.addInplace(sum, product);
                });
                evaluator.rescaleToNextInplace(sum);
                evaluator.cipherModSwitchToInplace(sum, parts.lastParms);
                // The mask is encoded at the product's exact scale (a rescale leaves it near, not at, 2^30).
                const maskPlain = inner(new seal.Plaintext());
                encoder.encode(masks[g] as Float64Array, sum.scale(), maskPlain);
                evaluator.plainModSwitchToInplace(maskPlain, parts.lastParms);
                evaluator.addPlainInplace(sum, maskPlain);
                // A fresh encryption of zero under the owner's key: the owner cannot tell the product's randomness
                // from a fresh ciphertext's, so it learns nothing of the columns from the ciphertext itself.
                const zero = inner(new seal.Ciphertext());
                encryptor.encryptZero(zero);
                evaluator.cipherModSwitchToInplace(zero, parts.lastParms);
                zero.setScale(sum.scale());
                evaluator.addInplace(sum, zero);
                return Uint8Array.from(sum.saveToArray(zstd) as Uint8Array);
              }),
            ),
          );
        return out;
      });
    },

    decryptSums({ keys, layout, products, columns }) {
      const groups = productCount(layout, columns);
      if (products.length !== groups)
        throw badCiphertext('wrong number of product ciphertexts', { count: products.length, expected: groups });
      return withSealScope((keep) => {
        const secret = loadKey(keep, 'SecretKey', keys.secretKey);
        const decryptor = keep(new seal.Decryptor(context, secret));
        const sums: number[] = [];
        products.forEach((bytes, g) => {
          const ct = loadCiphertext(keep, bytes, 'product', g);
          const slots = sealCall('decrypt', () =>
            withSealScope((inner) => {
              const plain = inner(new seal.Plaintext());
              decryptor.decrypt(ct, plain);
              return encoder.decodeFloat64(plain) as Float64Array;
            }),
          );
          sums.push(...tileSums(layout, slots, g, columns));
        });
        return sums;
      });
    },
  };
}

const contexts = new Map<string, Parts>();

/** One context per preset and thread, kept for the thread's life (SEAL contexts are costly to build). */
function buildContext(runtime: SealRuntime, preset: HePreset): Parts {
  const cached = contexts.get(preset.name);
  if (cached !== undefined) return cached;
  const { seal } = runtime;
  const parms = new seal.EncryptionParameters(seal.SchemeType.ckks);
  parms.setPolyModulusDegree(preset.polyModulusDegree);
  const moduli = seal.CoeffModulus.Create(preset.polyModulusDegree, Int32Array.from(preset.coeffModulusBits));
  parms.setCoeffModulus(moduli);
  moduli.delete();
  const context = new seal.SEALContext(parms, true, seal.SecLevelType.tc128);
  parms.delete();
  if (!context.parametersSet())
    throw new GatewayError('INTERNAL', `preset ${preset.name} is refused by SEAL at 128-bit security`);
  const top = context.firstContextData();
  const parts: Parts = {
    context,
    encoder: new seal.CKKSEncoder(context),
    evaluator: new seal.Evaluator(context),
    topChain: top.chainIndex(),
    lastParms: context.lastParmsId(),
  };
  top.delete();
  contexts.set(preset.name, parts);
  return parts;
}
