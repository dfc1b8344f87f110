// How the runner reports the end of this party's step attempts to the shell (JobRunnerDeps.onStepEnded, the step
// duration metric): once per attempt, although a failed attempt may be recorded twice (by the attempt and by the job's
// failure); never for another party's report; not while the runner closes; and a listener that throws harms no job.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../../core/clock.ts';
import { createJobCore, type JobRunnerDeps } from '../../../mpc/jobs/job-core.ts';
import type { JobPeer } from '../../../mpc/jobs/job-peer.ts';
import type { JobRecord, JobStore, TimelineEntry } from '../../../mpc/jobs/store.ts';

const record = { spec: { id: 'b7c1a3e0-0000-4000-8000-000000000001', protocol: 'psi' } } as Pick<JobRecord, 'spec'>;

const entry = (attempt: number, status: 'completed' | 'failed', durationMs: number): TimelineEntry => ({
  step: 'exchange',
  party: 'dealer-4s',
  attempt,
  status,
  startedAt: '2027-01-04T10:00:00.000Z',
  endedAt: '2027-01-04T10:00:01.500Z',
  durationMs,
  bytesIn: 0,
  bytesOut: 0,
  rows: 0,
  rowsTotal: null,
  errorCode: status === 'failed' ? 'PEER_UNAVAILABLE' : null,
  detail: {},
});

function coreWith(onStepEnded: JobRunnerDeps['onStepEnded']) {
  const recorded: TimelineEntry[] = [];
  const store = { recordStep: async (_id: string, e: TimelineEntry) => void recorded.push(e) } as unknown as JobStore;
  const deps = {
    partyId: 'dealer-4s',
    clock: fixedClock('2027-01-04T10:00:00.000Z'),
    log: pino({ level: 'silent' }),
    protocols: [],
    ...(onStepEnded === undefined ? {} : { onStepEnded }),
  } as unknown as JobRunnerDeps;
  return { core: createJobCore(deps, store, {} as JobPeer), recorded };
}

describe('onStepEnded', () => {
  it('is told of each attempt this party ends once, with its protocol, step, outcome and seconds', async () => {
    const ended: unknown[] = [];
    const { core, recorded } = coreWith((...args) => ended.push(args));
    await core.recordEnd(record, entry(1, 'failed', 1500));
    await core.recordEnd(record, entry(1, 'failed', 1700));
    await core.recordEnd(record, entry(2, 'completed', 250));
    // Both records of attempt 1 are stored (the store keeps the last); the metric counts the attempt once.
    expect(recorded.map((e) => e.attempt)).toEqual([1, 1, 2]);
    expect(ended).toEqual([
      ['psi', 'exchange', 'failed', 1.5],
      ['psi', 'exchange', 'completed', 0.25],
    ]);
    // Running entries and other parties' reports go through recordEntry, which reports nothing.
    await core.recordEntry(record.spec.id, { ...entry(3, 'completed', 100), party: 'insurer-a' });
    expect(ended).toHaveLength(2);
  });

  it('is not told of attempts cut short by the runner closing, and a listener that throws stops nothing', async () => {
    const { core, recorded } = coreWith(() => {
      throw new Error('a listener that throws');
    });
    await expect(core.recordEnd(record, entry(1, 'completed', 10))).resolves.toBeUndefined();
    const ended: unknown[] = [];
    const closing = coreWith((...args) => ended.push(args));
    await closing.core.close();
    await closing.core.recordEnd(record, entry(1, 'failed', 10));
    expect(ended).toEqual([]);
    expect(recorded).toHaveLength(1);
  });
});
