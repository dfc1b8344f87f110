// Receipt signatures requested in one turn of the event loop go to the bulk signer as one batch, in order.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { coalescingSign } from '../../consent/sign-coalescer.ts';
import { createSigner, verifySignature, type Signer } from '../../consent/signer.ts';

const local = createSigner(generateKeyPairSync('ed25519').privateKey);
const message = (i: number) => new TextEncoder().encode(`message ${i}`);

function recordingSigner(fail = false): { signer: Signer; batches: number[] } {
  const batches: number[] = [];
  return {
    batches,
    signer: {
      ...local,
      async signBatch(messages) {
        batches.push(messages.length);
        if (fail) throw new Error('worker gone');
        return messages.map((m) => local.sign(m));
      },
    },
  };
}

describe('coalescingSign', () => {
  it('sends the requests of one turn as one batch and answers each with its own signature', async () => {
    const { signer, batches } = recordingSigner();
    const sign = coalescingSign(signer);
    const signatures = await Promise.all([0, 1, 2, 3, 4].map((i) => sign(message(i))));
    signatures.forEach((s, i) => expect(verifySignature(local.publicKey, message(i), s)).toBe(true));
    expect(batches).toEqual([5]);
    // A later turn is a new batch.
    await sign(message(5));
    expect(batches).toEqual([5, 1]);
  });

  it('signs a failed batch here instead: the writes it signs for are already committed', async () => {
    const { signer, batches } = recordingSigner(true);
    const sign = coalescingSign(signer);
    const signatures = await Promise.all([sign(message(0)), sign(message(1))]);
    expect(batches).toEqual([2]);
    signatures.forEach((s, i) => expect(verifySignature(local.publicKey, message(i), s)).toBe(true));
  });

  it('rejects only when signing here fails too', async () => {
    const broken: Signer = {
      ...local,
      sign: () => {
        throw new Error('no key');
      },
      signBatch: () => Promise.reject(new Error('worker gone')),
    };
    const results = await Promise.allSettled([coalescingSign(broken)(message(0))]);
    expect(results[0]?.status).toBe('rejected');
  });

  it('signs at once with a signer that has no bulk path', async () => {
    const sign = coalescingSign(local);
    expect(verifySignature(local.publicKey, message(7), await sign(message(7)))).toBe(true);
  });
});
