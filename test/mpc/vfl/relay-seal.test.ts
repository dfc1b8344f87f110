import { describe, expect, it } from 'vitest';
import { open, relayKey, relayKeyPair, seal } from '../../../mpc/vfl/relay-seal.ts';

describe('sealing between hosts', () => {
  const a = relayKeyPair();
  const b = relayKeyPair();
  const context = { job: 'job-1', a: 'insurer', b: 'charging' };
  const atA = relayKey(a, b.publicKey, context);
  const atB = relayKey(b, a.publicKey, { ...context, a: 'charging', b: 'insurer' });

  it('gives both hosts one key and opens what the other sealed', () => {
    expect(atA.equals(atB)).toBe(true);
    const sealed = seal(atA, Buffer.from('masked sums'), 'job-1/sums/3/insurer/charging');
    expect(Buffer.from(open(atB, sealed, 'job-1/sums/3/insurer/charging')).toString()).toBe('masked sums');
  });

  it('refuses a tampered blob, another round or direction, and a malformed key', () => {
    const sealed = seal(atA, Buffer.from('masked sums'), 'job-1/sums/3/insurer/charging');
    const tampered = Uint8Array.from(sealed);
    tampered[20] = (tampered[20] as number) ^ 1;
    const refused = expect.objectContaining({ code: 'JOB_BAD_MESSAGE' });
    expect(() => open(atB, tampered, 'job-1/sums/3/insurer/charging')).toThrow(refused);
    expect(() => open(atB, sealed, 'job-1/sums/4/insurer/charging')).toThrow(refused);
    expect(() => open(atB, sealed, 'job-1/sums/3/charging/insurer')).toThrow(refused);
    expect(() => open(atB, sealed.subarray(0, 10), 'x')).toThrow(refused);
    expect(() => relayKey(a, new Uint8Array(31), context)).toThrow(refused);
    expect(() => relayKey(a, new Uint8Array(32), context)).toThrow(refused);
  });
});
