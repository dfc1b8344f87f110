// A three-party PSI job between real gateways over loopback HTTP (DESIGN.md §6): the dealer (guest), an insurer and a
// charging-network operator, each with its own share of the FATE default-credit customers (the operator also has
// drivers nobody else knows). Every receiver ends with the true three-way intersection, in one shared order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutput, settled, startJobMesh, stopJobMesh, submitJob, type JobGateway } from './job-fixture.ts';
import { dropRows, FATE_GUEST_CSV, intersect, readIds } from '../psi/psi-fixture.ts';

const PARTIES = ['dealer-4s', 'insurer-a', 'charging-net'];
let gateways: JobGateway[] = [];
const ids: Record<string, string[]> = {};

beforeAll(async () => {
  const population = dropRows(await readIds(FATE_GUEST_CSV), 'job-three-party/population', 0.12);
  ids['dealer-4s'] = dropRows(population, 'job-three-party/dealer', 0.7);
  ids['insurer-a'] = dropRows(population, 'job-three-party/insurer', 0.7);
  ids['charging-net'] = [
    ...dropRows(population, 'job-three-party/charging', 0.5),
    ...Array.from({ length: 300 }, (_, i) => `ev${i}`),
  ];
  gateways = await startJobMesh(PARTIES, (party) => ids[party] as string[]);
}, 240_000);

afterAll(() => stopJobMesh(gateways));

describe('PSI job between three gateways (dealer, insurer, charging operator)', () => {
  it('gives every receiver the true three-way intersection in one aligned order', async () => {
    const [dealer] = gateways as [JobGateway];
    const submitted = await submitJob(dealer, {
      protocol: 'psi',
      purpose: 'customer-alignment',
      params: { mode: 'intersection' },
      receivers: PARTIES,
      parties: PARTIES.map((id) => ({
        id,
        role: id === 'dealer-4s' ? 'guest' : 'host',
        view: 'customers',
        idColumn: 'vin',
      })),
      deadlines: { stepMs: 120_000 },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const id = String(submitted.body.id);
    const views = await Promise.all(gateways.map((gw) => settled(gw, id)));
    expect(views.map((v) => [v.self, v.status, v.failure?.code ?? null])).toEqual(
      PARTIES.map((p) => [p, 'completed', null]),
    );

    const expected = intersect(
      ids['dealer-4s'] as string[],
      ids['insurer-a'] as string[],
      ids['charging-net'] as string[],
    );
    expect(expected.length).toBeGreaterThan(500);
    expect(expected.length).toBeLessThan(intersect(ids['dealer-4s'] as string[], ids['insurer-a'] as string[]).length);
    const aligned = await Promise.all(
      gateways.map(async (gw) => {
        const toRaw = new Map((ids[gw.partyId] as string[]).map((raw) => [gw.pseudonym(raw), raw]));
        const out = await readOutput(gw, id);
        expect(out.status).toBe(200);
        return (out.body.subjects as string[]).map((p) => toRaw.get(p));
      }),
    );
    expect([...(aligned[0] as string[])].sort()).toEqual(expected);
    expect(aligned[1]).toEqual(aligned[0]);
    expect(aligned[2]).toEqual(aligned[0]);

    // The coordinator's timeline holds every party's steps; the hosts never talked to each other.
    const timeline = views[0]?.timeline ?? [];
    for (const party of PARTIES)
      expect(timeline.some((e) => e.party === party && e.step === 'exchange' && e.status === 'completed')).toBe(true);
    const audit = await gateways[1]?.ctx.consent.listAudit({ kind: 'message', ref: id, limit: 1000 });
    expect(audit?.length).toBeGreaterThan(0);
    expect(audit?.some((e) => e.detail.peer === 'charging-net')).toBe(false);
  });
});
