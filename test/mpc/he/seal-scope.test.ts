// Object lifetime: SEAL objects live in WebAssembly memory that JavaScript never collects, and that memory only grows.
// Ten thousand SEAL operations through the engine must leave it flat after warm-up; the same loop that forgets to
// delete what it makes must not, or the check could not fail.
import { describe, expect, it } from 'vitest';
import { createHeEngine } from '../../../mpc/he/he-engine.ts';
import { presetFor } from '../../../mpc/he/he-presets.ts';
import { loadSeal } from '../../../mpc/he/seal-runtime.ts';
import { withSealScope } from '../../../mpc/he/seal-scope.ts';
import { slotLayout } from '../../../mpc/he/slot-layout.ts';
import { tileMasks } from '../../../mpc/he/tile-masks.ts';

const MiB = 1024 * 1024;

describe('SEAL object lifetime', () => {
  it('keeps WebAssembly memory flat over five thousand operations', async () => {
    const engine = await createHeEngine(presetFor('ckks-8192', 1));
    const keys = engine.generateKeys();
    const layout = slotLayout(64, engine.preset.slots);
    const column = Float64Array.from({ length: 64 }, (_, i) => (i % 5) / 5);
    const mask = [tileMasks(layout, [0])];
    let operations = 0;
    // One round: encode + encrypt; load key, load ciphertext, encode, multiply, rescale, switch, encode mask,
    // switch, add, encrypt zero, switch, add, save; load key, load, decrypt, decode: 20 SEAL operations.
    const round = () => {
      const [chunks] = engine.encryptVectors({ keys, layout, vectors: [column] });
      const products = engine.maskedProducts({
        publicKey: keys.publicKey,
        layout,
        chunks: chunks as Uint8Array[],
        columns: [column],
        masks: mask,
      });
      engine.decryptSums({ keys, layout, products: products, columns: 1 });
      operations += 20;
    };
    for (let i = 0; i < 50; i++) round();
    const before = engine.memoryBytes();
    while (operations < 5_000 + 50 * 20) round();
    expect(operations).toBeGreaterThanOrEqual(5_000);
    // Flat to the byte here; a leak of two small objects per round (a parms id and its context data) grew it by 3 MiB
    // over ten thousand operations: 1.5 MiB over these five thousand, still past the bound.
    expect(engine.memoryBytes() - before).toBeLessThanOrEqual(1 * MiB);
  }, 120_000);

  it('sees the growth when objects are not deleted, and none when a scope deletes them', async () => {
    const runtime = await loadSeal();
    const { seal } = runtime;
    const p = new seal.EncryptionParameters(seal.SchemeType.ckks);
    p.setPolyModulusDegree(8192);
    p.setCoeffModulus(seal.CoeffModulus.Create(8192, Int32Array.from([60, 40, 40, 60])));
    const context = new seal.SEALContext(p, true, seal.SecLevelType.tc128);
    const make = () => new seal.Ciphertext(context);
    for (let i = 0; i < 20; i++) withSealScope((keep) => keep(make()).resize(2));
    const flat = runtime.memoryBytes();
    for (let i = 0; i < 200; i++) withSealScope((keep) => keep(make()).resize(2));
    expect(runtime.memoryBytes()).toBe(flat);
    for (let i = 0; i < 200; i++) make().resize(2);
    // 200 two-part ciphertexts of 3 × 8192 coefficients: about 75 MiB.
    expect(runtime.memoryBytes() - flat).toBeGreaterThan(50 * MiB);
    // An error halfway through still deletes what the scope made.
    const leftover: { isDeleted(): boolean }[] = [];
    expect(() =>
      withSealScope((keep) => {
        leftover.push(keep(make()));
        throw new Error('halfway');
      }),
    ).toThrow('halfway');
    expect(leftover[0]?.isDeleted()).toBe(true);
  });
});
