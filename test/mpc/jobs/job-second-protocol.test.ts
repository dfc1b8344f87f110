// Protocols plug in (docs/jobs.md, "Adding a protocol"): a second protocol, registered only in these tests, runs as a
// job between two gateways through the same runner, peer routes, steward routes and job view as PSI, with nothing in
// the runtime edited for it. Each party sums a column of the rows its consent filter admitted; the guest receives the
// total. The runtime's guarantees hold for it too: admission checks the column it reads against the purpose.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRequestInput } from '../../../mpc/jobs/job.ts';
import { columnSumProtocol } from './column-sum-protocol.ts';
import { parseSamples, sampleValue } from '../../fixtures/prometheus-text.ts';
import {
  allowJoinPurpose,
  delegate,
  getJob,
  grantConsents,
  importCustomers,
  meshJobGateways,
  readOutput,
  removeDataDir,
  settled,
  startJobGateway,
  submitJob,
  type JobGateway,
} from './job-fixture.ts';

const PARTIES = ['dealer-4s', 'insurer-a'] as const;
const FIELDS = ['id', 'vin', 'x0'];
/** Dealer customers 1..120, insurer 61..200, as in the README's walkthrough. */
const IDS: Record<string, string[]> = {
  'dealer-4s': Array.from({ length: 120 }, (_, i) => String(i + 1)),
  'insurer-a': Array.from({ length: 140 }, (_, i) => String(i + 61)),
};
/** importCustomers writes x0 = (row % 97) / 10 for the row'th customer of a party's file. */
const columnSum = (ids: readonly string[]) => ids.reduce((sum, _id, row) => sum + (row % 97) / 10, 0);

let gateways: JobGateway[] = [];

beforeAll(async () => {
  gateways = await Promise.all(PARTIES.map((p) => startJobGateway(p, undefined, [columnSumProtocol])));
  await meshJobGateways(gateways);
  await Promise.all(
    gateways.map(async (gw) => {
      await allowJoinPurpose(gw, PARTIES, FIELDS);
      if (gw.partyId !== 'dealer-4s') await delegate(gw, 'dealer-4s', FIELDS);
      await importCustomers(gw, 'customers', IDS[gw.partyId] as string[]);
      await grantConsents(
        gw,
        IDS[gw.partyId] as string[],
        PARTIES.filter((p) => p !== gw.partyId),
      );
    }),
  );
}, 240_000);

afterAll(async () => {
  for (const gw of gateways) {
    await gw.stop();
    removeDataDir(gw);
  }
});

const request = (column: string): JobRequestInput => ({
  protocol: 'column-sum',
  purpose: 'customer-alignment',
  params: { column },
  receivers: ['dealer-4s'],
  parties: PARTIES.map((id) => ({
    id,
    role: id === 'dealer-4s' ? ('guest' as const) : ('host' as const),
    view: 'customers',
    idColumn: 'vin',
  })),
  deadlines: { stepMs: 60_000 },
});

describe('a second protocol through the same runtime', () => {
  it("runs its steps at both gateways and gives the guest the total of both parties' column", async () => {
    const [dealer, insurer] = gateways as [JobGateway, JobGateway];
    const submitted = await submitJob(dealer, request('x0'));
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const id = String(submitted.body.id);
    const [atDealer, atInsurer] = await Promise.all([settled(dealer, id), settled(insurer, id)]);
    expect([atDealer.status, atInsurer.status]).toEqual(['completed', 'completed']);
    expect(atDealer.steps.map((s) => [s.name, s.status])).toEqual([
      ['filter', 'completed'],
      ['sum', 'completed'],
    ]);
    // Each party's /metrics counts its own attempts of each step, and the job among its completed ones.
    for (const gw of [dealer, insurer]) {
      const samples = parseSamples((await gw.app.inject({ method: 'GET', url: '/metrics' })).body);
      for (const step of ['filter', 'sum']) {
        const labels = { protocol: 'column-sum', step, outcome: 'completed', party: gw.partyId };
        expect(sampleValue(samples, 'sealgate_job_step_duration_seconds_count', labels), step).toBe(1);
        expect(sampleValue(samples, 'sealgate_job_step_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(1);
      }
      expect(sampleValue(samples, 'sealgate_jobs', { protocol: 'column-sum', state: 'completed' })).toBe(1);
      expect(sampleValue(samples, 'sealgate_jobs', { protocol: 'psi', state: 'completed' })).toBe(0);
    }

    const expected = columnSum(IDS['dealer-4s'] as string[]) + columnSum(IDS['insurer-a'] as string[]);
    const view = await getJob(dealer, id);
    expect(view.output).toMatchObject({ mode: 'total', isReceiver: true, count: 260, peerSizes: { 'insurer-a': 140 } });
    expect(view.output?.values?.total).toBeCloseTo(expected, 6);
    // Both parties' attempts are in the guest's timeline, with the bytes the host's sum took on the wire.
    const sums = view.timeline.filter((e) => e.step === 'sum' && e.status === 'completed');
    expect(sums.map((e) => e.party).sort()).toEqual(['dealer-4s', 'insurer-a']);
    expect(sums.find((e) => e.party === 'insurer-a')?.bytesOut).toBeGreaterThan(0);

    const output = await readOutput(dealer, id);
    expect(output.status).toBe(200);
    expect(output.body).toMatchObject({ id, mode: 'total', count: 260, subjects: null });
    expect((output.body.values as { total: number }).total).toBeCloseTo(expected, 6);
    // The host is no receiver: it learns nothing of the total.
    expect((await readOutput(insurer, id)).body).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });

  it('refuses at submission a column the purpose does not allow (COLUMN_DENIED), an unknown protocol and its own receiver rule (BAD_INPUT)', async () => {
    const [dealer] = gateways as [JobGateway];
    const denied = await submitJob(dealer, request('policy_premium'));
    expect([denied.status, denied.body.code]).toEqual([403, 'COLUMN_DENIED']);
    const unknown = await submitJob(dealer, { ...request('x0'), protocol: 'no-such-protocol' });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain('protocol');
    const wrongReceivers = await submitJob(dealer, { ...request('x0'), receivers: ['dealer-4s', 'insurer-a'] });
    expect(wrongReceivers.status).toBe(400);
    expect(JSON.stringify(wrongReceivers.body)).toContain('the guest alone receives the total');
  });
});
