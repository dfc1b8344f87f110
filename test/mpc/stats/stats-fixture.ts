// Joint-statistics jobs in tests: the dealer (segment and label) asks, the insurer describes three columns.
import { expect } from 'vitest';
import { JOB_PURPOSE, settled, submitJob, type JobGateway } from '../jobs/job-fixture.ts';

export const COLUMNS = ['x0', 'x3', 'x7'];

export async function runStats(gateways: JobGateway[], params: Record<string, unknown>) {
  const [dealer, insurer] = gateways as [JobGateway, JobGateway];
  const submitted = await submitJob(dealer, {
    protocol: 'joint-stats',
    purpose: JOB_PURPOSE,
    params,
    receivers: [dealer.partyId],
    parties: [
      { id: dealer.partyId, role: 'guest', view: 'customers', idColumn: 'vin', columns: ['segment', 'y'] },
      { id: insurer.partyId, role: 'host', view: 'customers', idColumn: 'vin', columns: COLUMNS },
    ],
    deadlines: { stepMs: 120_000 },
  });
  expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
  const id = String(submitted.body.id);
  const views = await Promise.all(gateways.map((gw) => settled(gw, id, 120_000)));
  return { id, views };
}
