// Three-party PSI by pairwise alignment at the guest (docs/psi.md): the dealer (guest) runs one ECDH-PSI session with
// each host and intersects at home. On the FATE default-credit ids plus a third subset, every party ends with the
// true three-way intersection in one shared aligned order, and the hosts never exchange a message.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../../../core/errors.ts';
import { runPsiInProcess } from '../../../mpc/psi/psi-in-process.ts';
import type { PsiMessage } from '../../../mpc/psi/psi-message.ts';
import { createPsiParty } from '../../../mpc/psi/psi-party.ts';
import { createX25519Pool } from '../../../mpc/psi/x25519-pool.ts';
import { dropRows, FATE_GUEST_CSV, FATE_HOST_CSV, idsAt, intersect, readIds } from './psi-fixture.ts';

const pool = createX25519Pool();
afterAll(() => pool.close());

let dealer: string[] = [];
let insurer: string[] = [];
let charging: string[] = [];
beforeAll(async () => {
  const [guestIds, hostIds] = await Promise.all([readIds(FATE_GUEST_CSV), readIds(FATE_HOST_CSV)]);
  dealer = dropRows(guestIds, 'psi-three-party/dealer', 0.7);
  insurer = dropRows(hostIds, 'psi-three-party/insurer', 0.7);
  // The charging operator knows a third of the population, plus subjects nobody else has.
  charging = [
    ...dropRows(hostIds, 'psi-three-party/charging', 0.35),
    ...Array.from({ length: 500 }, (_, i) => `ev-only-${i}`),
  ];
});

describe('three-party PSI (dealer, insurer, charging operator)', () => {
  it('aligns all three parties on the true three-way intersection, hosts talking only to the guest', async () => {
    const jobId = 'job-fate-three-party';
    const common = { jobId, mode: 'intersection', outputTo: 'all', pool } as const;
    const guest = createPsiParty({ ...common, role: 'initiator', self: 'dealer', peers: ['insurer', 'charging'] });
    const hostA = createPsiParty({ ...common, role: 'responder', self: 'insurer', peers: ['dealer'] });
    const hostB = createPsiParty({ ...common, role: 'responder', self: 'charging', peers: ['dealer'] });
    const traffic: PsiMessage[] = [];
    const results = await runPsiInProcess(
      [
        { party: guest, ids: dealer },
        { party: hostA, ids: insurer },
        { party: hostB, ids: charging },
      ],
      { observe: (m) => traffic.push(m) },
    );

    const expected = intersect(dealer, insurer, charging);
    // The three-way intersection is smaller than either pairwise one: the test can tell them apart.
    expect(expected.length).toBeGreaterThan(3_000);
    expect(expected.length).toBeLessThan(intersect(dealer, insurer).length);
    expect(expected.length).toBeLessThan(intersect(dealer, charging).length);

    const rows = {
      dealer: results.get('dealer')?.rows,
      insurer: results.get('insurer')?.rows,
      charging: results.get('charging')?.rows,
    };
    expect(idsAt(dealer, rows.dealer as Uint32Array)).toEqual(expected);
    expect(idsAt(insurer, rows.insurer as Uint32Array)).toEqual(expected);
    expect(idsAt(charging, rows.charging as Uint32Array)).toEqual(expected);
    const aligned = Array.from(rows.dealer as Uint32Array, (row, k) => [
      dealer[row],
      insurer[(rows.insurer as Uint32Array)[k] as number],
      charging[(rows.charging as Uint32Array)[k] as number],
    ]);
    expect(aligned.filter(([a, b, c]) => a !== b || a !== c)).toEqual([]);

    expect(results.get('dealer')?.peerSizes).toEqual({ insurer: insurer.length, charging: charging.length });
    expect(results.get('insurer')?.peerSizes).toEqual({ dealer: dealer.length });
    const links = new Set(traffic.map((m) => `${m.header.party}->${m.header.to}`));
    expect(links).toEqual(new Set(['dealer->insurer', 'insurer->dealer', 'dealer->charging', 'charging->dealer']));
    // Each host receives matches only for the three-way intersection, never its pairwise one.
    const matchesTo = (host: string) =>
      traffic
        .filter((m) => m.header.step === 'matches' && m.header.to === host)
        .reduce((n, m) => n + m.header.count, 0);
    expect(matchesTo('insurer')).toBe(expected.length);
    expect(matchesTo('charging')).toBe(expected.length);
  });

  it('refuses cardinality mode with more than one host, since pairwise alignment would reveal more than the count', () => {
    const attempt = () =>
      createPsiParty({
        jobId: 'job-x',
        role: 'initiator',
        mode: 'cardinality',
        self: 'dealer',
        peers: ['insurer', 'charging'],
        pool,
      });
    expect(attempt).toThrow(GatewayError);
    expect(attempt).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
  });
});
