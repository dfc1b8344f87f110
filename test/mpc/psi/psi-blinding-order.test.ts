// What crosses the wire is exactly what DESIGN.md §6 prescribes, checked against scalars recovered from a seeded
// random source: each party sends X(k, u(x)) of its rows in a shuffled order; the responder returns X(β, ·) of the
// initiator's points in the order received (intersection mode) or in a fresh shuffle (cardinality mode).
import { afterAll, describe, expect, it } from 'vitest';
import { hashToPoints } from '../../../mpc/psi/point-hash.ts';
import { runTwoPartyPsiInProcess } from '../../../mpc/psi/psi-in-process.ts';
import type { PsiMessage, PsiStep } from '../../../mpc/psi/psi-message.ts';
import { createPsiParty, type PsiMode } from '../../../mpc/psi/psi-party.ts';
import { x25519, x25519PrivateKey } from '../../../mpc/psi/x25519.ts';
import { createX25519Pool } from '../../../mpc/psi/x25519-pool.ts';
import { seededRandom } from './psi-fixture.ts';

const pool = createX25519Pool({ size: 2 });
afterAll(() => pool.close());

const JOB = 'job-order';
const dealerIds = Array.from({ length: 64 }, (_, i) => `sp_dealer_${i}`);
const insurerIds = Array.from({ length: 48 }, (_, i) => (i % 2 === 0 ? `sp_dealer_${i}` : `sp_insurer_${i}`));
// The blinding scalar is the first 32 bytes a party draws from its random source.
const scalarOf = (seed: string) => x25519PrivateKey(seededRandom(seed)(32));
const records = (bytes: Uint8Array) =>
  Array.from({ length: bytes.length / 32 }, (_, i) => Buffer.from(bytes.subarray(i * 32, i * 32 + 32)).toString('hex'));
const blind = (key: ReturnType<typeof scalarOf>, points: string[]) =>
  points.map((p) => x25519(key, Buffer.from(p, 'hex')).toString('hex'));

async function capture(mode: PsiMode) {
  const common = { jobId: JOB, mode, pool, bucketRecords: 10 } as const;
  const traffic: PsiMessage[] = [];
  await runTwoPartyPsiInProcess(
    {
      party: createPsiParty({
        ...common,
        role: 'initiator',
        self: 'dealer',
        peers: ['insurer'],
        random: seededRandom(`alpha-${mode}`),
      }),
      ids: dealerIds,
    },
    {
      party: createPsiParty({
        ...common,
        role: 'responder',
        self: 'insurer',
        peers: ['dealer'],
        random: seededRandom(`beta-${mode}`),
      }),
      ids: insurerIds,
    },
    { observe: (m) => traffic.push(m) },
  );
  const step = (name: PsiStep) =>
    records(Buffer.concat(traffic.filter((m) => m.header.step === name).map((m) => m.payload)));
  return {
    sent: step('initiator-blinded'),
    theirs: step('responder-blinded'),
    returned: step('initiator-reblinded'),
    alpha: scalarOf(`alpha-${mode}`),
    beta: scalarOf(`beta-${mode}`),
  };
}

describe.each(['intersection', 'cardinality'] as const)('in %s mode', (mode) => {
  it('each party sends X(k, u(x)) of all its rows, in a shuffled order', async () => {
    const { sent, theirs, alpha, beta } = await capture(mode);
    const dealerRows = blind(alpha, records(hashToPoints(dealerIds, JOB)));
    const insurerRows = blind(beta, records(hashToPoints(insurerIds, JOB)));
    expect(sent.slice().sort()).toEqual(dealerRows.slice().sort());
    expect(sent).not.toEqual(dealerRows);
    expect(theirs.slice().sort()).toEqual(insurerRows.slice().sort());
    expect(theirs).not.toEqual(insurerRows);
  });

  it(
    mode === 'intersection'
      ? 'the responder returns X(β, ·) in the order received'
      : 'the responder returns X(β, ·) shuffled, so the initiator cannot map it back',
    async () => {
      const { sent, returned, beta } = await capture(mode);
      const expected = blind(beta, sent);
      if (mode === 'intersection') {
        expect(returned).toEqual(expected);
      } else {
        expect(returned.slice().sort()).toEqual(expected.slice().sort());
        expect(returned).not.toEqual(expected);
      }
    },
  );
});
