import { describe, expect, it } from 'vitest';
import {
  addAndShuffle,
  decryptScores,
  encryptScores,
  quantizeScore,
  shuffleKey,
} from '../../../mpc/he/elgamal-shuffle.ts';
import { prng as seededRandom } from '../../fixtures/json-mutations.ts';

describe('ElGamal score shuffle', () => {
  const random = seededRandom(99);
  const n = 40;
  const guest = Array.from({ length: n }, () => random() * 10 - 5);
  const hostA = Array.from({ length: n }, () => random() * 10 - 5);
  const hostB = Array.from({ length: n }, () => random() * 10 - 5);
  const labels = Array.from({ length: n }, () => (random() < 0.4 ? 1 : 0));

  it('gives the guest every full score with its label, shuffled by the last host', () => {
    const key = shuffleKey();
    const first = encryptScores(key, guest, labels);
    const second = addAndShuffle(key.publicKey, first, hostA, false);
    const third = addAndShuffle(key.publicKey, second, hostB);
    const out = decryptScores(key, third, n);
    const expected = guest.map((g, i) => ({
      score: (quantizeScore(g) + quantizeScore(hostA[i]!) + quantizeScore(hostB[i]!)) / 4096,
      label: labels[i]!,
    }));
    const key2 = (p: { score: number; label: number }) => `${p.score}/${p.label}`;
    expect(out.map(key2).sort()).toEqual(expected.map(key2).sort());
    expect(out.map(key2)).not.toEqual(expected.map(key2));
    // Re-randomized: no ciphertext of the first list appears in the second.
    const firstPairs = new Set(
      Array.from({ length: n }, (_, i) => Buffer.from(first.subarray(i * 64, i * 64 + 64)).toString('hex')),
    );
    for (let i = 0; i < n; i++)
      expect(firstPairs.has(Buffer.from(second.subarray(i * 64, i * 64 + 64)).toString('hex'))).toBe(false);
  });

  it('refuses points off the curve, a wrong count and a bad key with JOB_BAD_MESSAGE', () => {
    const key = shuffleKey();
    const good = encryptScores(key, guest.slice(0, 3), labels.slice(0, 3));
    const offCurve = Uint8Array.from(good);
    offCurve.fill(0xff, 0, 32);
    expect(() => addAndShuffle(key.publicKey, offCurve, hostA.slice(0, 3))).toThrow(
      expect.objectContaining({ code: 'JOB_BAD_MESSAGE' }),
    );
    expect(() => addAndShuffle(key.publicKey, good, hostA.slice(0, 4))).toThrow(
      expect.objectContaining({ code: 'JOB_BAD_MESSAGE' }),
    );
    expect(() => addAndShuffle(new Uint8Array(32).fill(0xff), good, hostA.slice(0, 3))).toThrow(
      expect.objectContaining({ code: 'JOB_BAD_MESSAGE' }),
    );
    expect(() => decryptScores(key, good.subarray(0, 100), 3)).toThrow(
      expect.objectContaining({ code: 'JOB_BAD_MESSAGE' }),
    );
  });
});
