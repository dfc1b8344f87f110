// Two-party ECDH-PSI on the FATE default-credit ids (30,000 rows per side, seeded rows dropped on each side) finds
// exactly the true intersection; the responder, when named a receiver, gets the same subjects in the same aligned
// order; cardinality mode yields the count and nothing else; and the wire carries only blinded points.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTwoPartyPsiInProcess } from '../../../mpc/psi/psi-in-process.ts';
import type { PsiMessage } from '../../../mpc/psi/psi-message.ts';
import { createPsiParty, type PsiMode } from '../../../mpc/psi/psi-party.ts';
import { createX25519Pool } from '../../../mpc/psi/x25519-pool.ts';
import { dropRows, FATE_GUEST_CSV, FATE_HOST_CSV, idsAt, intersect, readIds } from './psi-fixture.ts';

const pool = createX25519Pool();
afterAll(() => pool.close());

let guest: string[] = [];
let host: string[] = [];
beforeAll(async () => {
  const [allGuest, allHost] = await Promise.all([readIds(FATE_GUEST_CSV), readIds(FATE_HOST_CSV)]);
  expect(allGuest).toHaveLength(30_000);
  expect(allHost).toHaveLength(30_000);
  // Different seeds, so each side misses rows the other has: the intersection is a strict subset of both.
  guest = dropRows(allGuest, 'psi-two-party/guest', 0.7);
  host = dropRows(allHost, 'psi-two-party/host', 0.7);
});

const parties = (jobId: string, mode: PsiMode, outputTo: 'initiator' | 'all') => ({
  dealer: createPsiParty({ jobId, role: 'initiator', mode, self: 'dealer', peers: ['insurer'], outputTo, pool }),
  insurer: createPsiParty({ jobId, role: 'responder', mode, self: 'insurer', peers: ['dealer'], outputTo, pool }),
});

describe('two-party PSI on the FATE default-credit ids', () => {
  it('gives both receivers exactly the true intersection, aligned row for row, and sends only blinded points', async () => {
    const expected = intersect(guest, host);
    expect(expected.length).toBeGreaterThan(10_000);
    expect(expected.length).toBeLessThan(Math.min(guest.length, host.length));
    const { dealer, insurer } = parties('job-fate-intersection', 'intersection', 'all');
    const traffic: PsiMessage[] = [];
    const result = await runTwoPartyPsiInProcess(
      { party: dealer, ids: guest },
      { party: insurer, ids: host },
      { observe: (m) => traffic.push(m) },
    );

    expect(result.initiator.count).toBe(expected.length);
    expect(idsAt(guest, result.initiator.rows as Uint32Array)).toEqual(expected);
    expect(result.initiator.peerSizes).toEqual({ insurer: host.length });
    expect(result.responder.count).toBe(expected.length);
    expect(result.responder.peerSizes).toEqual({ dealer: guest.length });
    const dealerRows = result.initiator.rows as Uint32Array;
    const insurerRows = result.responder.rows as Uint32Array;
    const misaligned = Array.from(dealerRows).filter((row, k) => guest[row] !== host[insurerRows[k] as number]);
    expect(misaligned).toEqual([]);
    // The aligned order is random, not the dealer's row order (which could carry meaning, e.g. signup date).
    expect(Array.from(dealerRows)).not.toEqual(Array.from(dealerRows).sort((a, b) => a - b));

    const steps = new Set(traffic.map((m) => m.header.step));
    expect(steps).toEqual(new Set(['initiator-blinded', 'responder-blinded', 'initiator-reblinded', 'matches']));
    // No identifier, and no unblinded hash u(x) of one, appears in any payload.
    const { hashToPoints } = await import('../../../mpc/psi/point-hash.ts');
    const hashes = hashToPoints(guest.slice(0, 200), 'job-fate-intersection');
    for (const message of traffic) {
      const payload = Buffer.from(message.payload);
      for (let i = 0; i < 200; i++) expect(payload.indexOf(hashes.subarray(i * 32, i * 32 + 32))).toBe(-1);
      expect(payload.indexOf(Buffer.from(guest[0] as string))).toBe(-1);
    }
  });

  it("in intersection mode with output to the initiator only, the responder learns only the initiator's set size", async () => {
    const small = guest.slice(0, 2_000);
    const { dealer, insurer } = parties('job-fate-initiator-only', 'intersection', 'initiator');
    const result = await runTwoPartyPsiInProcess(
      { party: dealer, ids: small },
      { party: insurer, ids: host.slice(0, 2_000) },
    );
    expect(idsAt(small, result.initiator.rows as Uint32Array)).toEqual(intersect(small, host.slice(0, 2_000)));
    expect(result.responder).toEqual({ count: null, rows: null, peerSizes: { dealer: 2_000 } });
  });

  it('in cardinality mode returns only the count, to both receivers', async () => {
    const expected = intersect(guest, host).length;
    const { dealer, insurer } = parties('job-fate-cardinality', 'cardinality', 'all');
    const traffic: PsiMessage[] = [];
    const result = await runTwoPartyPsiInProcess(
      { party: dealer, ids: guest },
      { party: insurer, ids: host },
      { observe: (m) => traffic.push(m) },
    );
    expect(result.initiator).toEqual({ count: expected, rows: null, peerSizes: { insurer: host.length } });
    expect(result.responder).toEqual({ count: expected, rows: null, peerSizes: { dealer: guest.length } });
    expect(traffic.some((m) => m.header.step === 'matches')).toBe(false);
  });
});
