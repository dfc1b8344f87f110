// u(x) = SHA-256(len‖tag ‖ len‖jobId ‖ len‖x), as docs/psi.md specifies: recomputed here from the formula, the
// same on the worker as on the calling thread, separated by job, and unambiguous thanks to the length prefixes.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { batchIdentifiers, MAX_IDENTIFIER_BYTES } from '../../../mpc/psi/identifier-batch.ts';
import { hashPackedIdentifiers, hashToPoints, pointDomain, PSI_DOMAIN_TAG } from '../../../mpc/psi/point-hash.ts';

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
};
const field = (s: string) => {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([u32(b.length), b]);
};
const spec = (jobId: string, id: string) =>
  createHash('sha256')
    .update(Buffer.concat([field(PSI_DOMAIN_TAG), field(jobId), field(id)]))
    .digest();

describe('hash to point', () => {
  it('follows the documented formula, for ASCII and non-ASCII identifiers', () => {
    const ids = ['sp_Zk3v', '客户-0042', 'é'];
    const points = hashToPoints(ids, 'job-7');
    ids.forEach((id, i) => expect(points.subarray(i * 32, i * 32 + 32).equals(spec('job-7', id))).toBe(true));
    expect(PSI_DOMAIN_TAG).toBe('sealgate/psi/v1');
  });

  it('separates jobs, and the length prefixes keep ("job-1", "x") apart from ("job-", "1x")', () => {
    expect(hashToPoints(['x'], 'job-1').equals(hashToPoints(['x'], 'job-2'))).toBe(false);
    expect(hashToPoints(['x'], 'job-1').equals(hashToPoints(['1x'], 'job-'))).toBe(false);
  });

  it('packed batches (the worker path) hash exactly like one identifier at a time', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `id-${'x'.repeat(i % 37)}-${i}`);
    const out = Buffer.alloc(ids.length * 32);
    let at = 0;
    for await (const batch of batchIdentifiers(ids, 300)) {
      hashPackedIdentifiers(pointDomain('job-9'), batch.bytes, batch.ends, out.subarray(at * 32));
      expect(batch.firstRow).toBe(at);
      at += batch.count;
    }
    expect(at).toBe(1000);
    expect(out.equals(hashToPoints(ids, 'job-9'))).toBe(true);
  });

  it('refuses an identifier longer than the limit, naming its row', async () => {
    const consume = async () => {
      for await (const _ of batchIdentifiers(['ok', 'y'.repeat(MAX_IDENTIFIER_BYTES + 1)], 10)) {
        /* drain */
      }
    };
    await expect(consume()).rejects.toMatchObject({ code: 'BAD_INPUT', detail: { row: 1 } });
  });
});
