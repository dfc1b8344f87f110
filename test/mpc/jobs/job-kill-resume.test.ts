// A party dies in the middle of a PSI job (DESIGN.md §1.5, §6): its listener and process state are gone. The other
// parties fail with PEER_TIMEOUT naming it, within the step's deadline, and nothing hangs. Started again on the same
// data directory, it takes the job up when the coordinator resumes it, from the last completed step, to the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  getJob,
  interceptPeerCalls,
  readOutput,
  restartJobGateway,
  settled,
  startJobMesh,
  stopJobMesh,
  submitJob,
  type JobGateway,
} from './job-fixture.ts';
import { dropRows, FATE_HOST_CSV, intersect, readIds } from '../psi/psi-fixture.ts';
import { bearer } from '../../fixtures/gateway-fixture.ts';
import type { JobFailure } from '../../../mpc/jobs/job.ts';

const PARTIES = ['dealer-4s', 'insurer-a', 'charging-net'];
/** Each step's deadline: a healthy exchange of these few hundred ids takes a second or two, even under load. */
const STEP_MS = 8_000;
let gateways: JobGateway[] = [];
const ids: Record<string, string[]> = {};

beforeAll(async () => {
  const population = dropRows(await readIds(FATE_HOST_CSV), 'job-kill/population', 0.12);
  for (const party of PARTIES) ids[party] = dropRows(population, `job-kill/${party}`, 0.75);
  gateways = await startJobMesh(PARTIES, (party) => ids[party] as string[]);
}, 240_000);

afterAll(() => stopJobMesh(gateways));

describe('a party killed mid-job', () => {
  it('fails the job at the others with PEER_TIMEOUT naming it within the deadline; after a restart the job resumes and completes', async () => {
    const [dealer, insurer, charging] = gateways as [JobGateway, JobGateway, JobGateway];
    let killedAt = 0;
    let killing: Promise<void> | null = null;
    // The charging operator dies as the first PSI message is sent to it: mid-exchange, its own set half blinded.
    const restore = interceptPeerCalls(dealer, {
      before: (call) => {
        if (killing === null && call.peer === 'charging-net' && call.path.startsWith('/peer/v1/jobs/messages')) {
          killedAt = Date.now();
          killing = charging.stop();
        }
        return call.body;
      },
    });
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
      deadlines: { stepMs: STEP_MS, acceptMs: 10_000 },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const id = String(submitted.body.id);

    const [atDealer, atInsurer] = await Promise.all([settled(dealer, id, 60_000), settled(insurer, id, 60_000)]);
    const failedAfter = Date.now() - killedAt;
    await killing;
    restore();
    expect(killedAt).toBeGreaterThan(0);
    for (const view of [atDealer, atInsurer]) {
      expect(view.status).toBe('failed');
      expect(view.failure).toMatchObject({ code: 'PEER_TIMEOUT', peer: 'charging-net', step: 'exchange' });
    }
    // The step started before the kill, so its deadline is at most STEP_MS after the kill (plus the last call's
    // unwinding).
    expect(failedAfter).toBeLessThan(STEP_MS + 3_000);
    // The filter step had completed everywhere, and stays completed.
    expect(atDealer.steps).toEqual([
      expect.objectContaining({ name: 'filter', status: 'completed' }),
      expect.objectContaining({ name: 'exchange' }),
    ]);

    // Restarted on its data directory and port: it still holds the job, interrupted mid-exchange.
    const restarted = await restartJobGateway(charging);
    gateways[2] = restarted;
    const interrupted = await getJob(restarted, id);
    expect(interrupted.steps.map((s) => s.status)).toEqual(['completed', 'running']);
    // Its own attempt the kill cut short no longer shows as running: failed, JOB_INTERRUPTED, with an end time.
    const own = interrupted.timeline.filter((e) => e.party === 'charging-net' && e.step === 'exchange');
    expect(own.map((e) => [e.status, e.errorCode, e.endedAt === null])).toEqual([['failed', 'JOB_INTERRUPTED', false]]);

    const resumed = await dealer.app.inject({
      method: 'POST',
      url: `/v1/jobs/${id}/resume`,
      headers: bearer(dealer.stewardToken),
    });
    expect(resumed.statusCode, resumed.body).toBe(200);
    // Failure notices of the run before the resume may still arrive late (the coordinator repeats them to a silent
    // party for a while). They belong to epoch 0 and must not fail the resumed run, at a participant or the
    // coordinator.
    const stale = atDealer.failure as JobFailure;
    await restarted.ctx.jobs.peer.fail('dealer-4s', id, stale, 0);
    await dealer.ctx.jobs.peer.fail('insurer-a', id, stale, 0);
    const views = await Promise.all([dealer, insurer, restarted].map((gw) => settled(gw, id, 60_000)));
    expect(views.map((v) => [v.self, v.status, v.failure?.code ?? null])).toEqual(
      PARTIES.map((p) => [p, 'completed', null]),
    );
    // Only the exchange ran again: one completed filter attempt per party.
    const filters = (views[0]?.timeline ?? []).filter((e) => e.step === 'filter' && e.status === 'completed');
    expect(filters.map((e) => e.party).sort()).toEqual([...PARTIES].sort());

    const expected = intersect(
      ids['dealer-4s'] as string[],
      ids['insurer-a'] as string[],
      ids['charging-net'] as string[],
    );
    const out = await readOutput(restarted, id);
    const toRaw = new Map((ids['charging-net'] as string[]).map((raw) => [restarted.pseudonym(raw), raw]));
    expect((out.body.subjects as string[]).map((p) => toRaw.get(p)).sort()).toEqual(expected);
  });

  it('a coordinator restarted mid-job resumes it on its own as soon as it listens again', async () => {
    const [dealer, insurer, charging] = gateways as [JobGateway, JobGateway, JobGateway];
    let stopping: Promise<void> | null = null;
    interceptPeerCalls(dealer, {
      before: (call) => {
        if (stopping === null && call.path.startsWith('/peer/v1/jobs/messages')) stopping = dealer.stop();
        return call.body;
      },
    });
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
      deadlines: { stepMs: STEP_MS, acceptMs: 10_000 },
    });
    const id = String(submitted.body.id);
    for (let i = 0; i < 200 && stopping === null; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    await stopping;
    const restarted = await restartJobGateway(dealer);
    gateways[0] = restarted;
    const views = await Promise.all([restarted, insurer, charging].map((gw) => settled(gw, id, 60_000)));
    expect(views.map((v) => [v.self, v.status, v.failure?.code ?? null])).toEqual(
      PARTIES.map((p) => [p, 'completed', null]),
    );
    // The exchange ran again under a higher attempt; the filter step was not repeated.
    expect(views[0]?.steps).toEqual([
      expect.objectContaining({ name: 'filter', attempt: 1 }),
      expect.objectContaining({ name: 'exchange', status: 'completed' }),
    ]);
    expect(views[0]?.steps[1]?.attempt).toBeGreaterThan(2);
    const expected = intersect(
      ids['dealer-4s'] as string[],
      ids['insurer-a'] as string[],
      ids['charging-net'] as string[],
    );
    expect(views[0]?.output?.count).toBe(expected.length);
  });
});
