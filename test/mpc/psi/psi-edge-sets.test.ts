// PSI handles the edges of its input: an empty set on either side, a single row, one record per bucket (so every
// step has many buckets), non-ASCII identifiers, and an async input stream.
import { afterAll, describe, expect, it } from 'vitest';
import { runTwoPartyPsiInProcess } from '../../../mpc/psi/psi-in-process.ts';
import { createPsiParty, type PsiMode } from '../../../mpc/psi/psi-party.ts';
import { createX25519Pool } from '../../../mpc/psi/x25519-pool.ts';

const pool = createX25519Pool({ size: 2 });
afterAll(() => pool.close());

async function psi(
  a: Iterable<string> | AsyncIterable<string>,
  b: Iterable<string>,
  mode: PsiMode = 'intersection',
  bucketRecords = 16384,
) {
  const jobId = 'job-edges';
  const common = { jobId, mode, outputTo: 'all', pool, bucketRecords } as const;
  return runTwoPartyPsiInProcess(
    { party: createPsiParty({ ...common, role: 'initiator', self: 'dealer', peers: ['insurer'] }), ids: a },
    { party: createPsiParty({ ...common, role: 'responder', self: 'insurer', peers: ['dealer'] }), ids: b },
  );
}

describe('PSI at the edges', () => {
  it.each([
    ['the initiator', [], ['a', 'b']],
    ['the responder', ['a', 'b'], []],
    ['both sides', [], []],
  ])('an empty set at %s gives an empty intersection', async (_side, a, b) => {
    const result = await psi(a, b);
    expect(result.initiator.count).toBe(0);
    expect(Array.from(result.initiator.rows as Uint32Array)).toEqual([]);
    expect(result.responder.count).toBe(0);
    expect(result.initiator.peerSizes).toEqual({ insurer: b.length });
  });

  it('a single common row', async () => {
    const result = await psi(['only'], ['x', 'only']);
    expect(Array.from(result.initiator.rows as Uint32Array)).toEqual([0]);
    expect(Array.from(result.responder.rows as Uint32Array)).toEqual([1]);
  });

  it('one record per bucket, with an async input stream and non-ASCII identifiers', async () => {
    const a = ['客户-1', 'kunde-ü', 'c', 'd', 'e', 'f', 'g'];
    const b = ['g', 'kunde-ü', 'zz', '客户-1'];
    async function* stream() {
      for (const id of a) {
        await Promise.resolve();
        yield id;
      }
    }
    const result = await psi(stream(), b, 'intersection', 1);
    const rows = Array.from(result.initiator.rows as Uint32Array, (r) => a[r]);
    expect(rows.slice().sort()).toEqual(['g', 'kunde-ü', '客户-1'].sort());
    expect(Array.from(result.responder.rows as Uint32Array, (r) => b[r])).toEqual(rows);
  });

  it('cardinality with one record per bucket', async () => {
    const result = await psi(['a', 'b', 'c'], ['c', 'b', 'x'], 'cardinality', 1);
    expect(result.initiator.count).toBe(2);
    expect(result.responder.count).toBe(2);
  });
});
