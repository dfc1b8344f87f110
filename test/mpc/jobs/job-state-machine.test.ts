// The job state machine (mpc/jobs/job.ts) is the same pure function at every party: it must refuse every transition the
// protocol does not allow, never leave an ended job except by resuming a reachability failure, and complete a job
// only when every step is complete, in order. Times come from the test, never from a clock.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  JobSpec,
  applyJobEvent,
  firstIncompleteStep,
  initialJobState,
  isTerminal,
  type JobEvent,
  type JobFailure,
  type JobState,
} from '../../../mpc/jobs/job.ts';
import { createProtocolRegistry } from '../../../mpc/jobs/protocol.ts';
import { createPsiProtocol } from '../../../mpc/psi/psi-protocol.ts';

// Parsing a request checks every job's rules and the named protocol's (PSI here): the registry makes the schema.
const psi = createPsiProtocol();
const JobRequest = createProtocolRegistry([psi]).request;

const at = (s: number) => new Date(Date.UTC(2026, 10, 1, 9, 0, s));

const request = {
  protocol: 'psi',
  purpose: 'customer-alignment',
  parties: [
    { id: 'dealer-4s', role: 'guest', view: 'customers', idColumn: 'vin' },
    { id: 'insurer-a', role: 'host', view: 'policyholders', idColumn: 'vin' },
    { id: 'charging-net', role: 'host', view: 'drivers', idColumn: 'vin' },
  ],
  params: { mode: 'intersection' },
  receivers: ['dealer-4s'],
} as const;

const spec = JobSpec.parse({
  ...request,
  id: '3f2c3a52-1b7e-4c55-9d7e-2f6f2b1f0c11',
  coordinator: 'dealer-4s',
  createdAt: at(0).toISOString(),
});
const failure = (code: string): JobFailure => ({
  code,
  message: 'x',
  party: 'insurer-a',
  peer: 'charging-net',
  step: 'exchange',
});

function run(events: JobEvent[], state = initialJobState(spec, psi.steps, at(0))): JobState {
  return events.reduce((s, e, i) => applyJobEvent(spec, s, e, at(i + 1)), state);
}

const accepted = () =>
  run([
    { type: 'accept', party: 'insurer-a' },
    { type: 'accept', party: 'charging-net' },
  ]);

describe('job record', () => {
  it('accepts a well-formed request and fills the deadlines', () => {
    const parsed = JobRequest.parse(request);
    expect(parsed.deadlines).toEqual({ acceptMs: 30_000, stepMs: 3_600_000 });
    expect(parsed.parties[0]?.columns).toEqual([]);
  });

  it.each([
    ['two guests', { parties: request.parties.map((p) => ({ ...p, role: 'guest' })) }, 'parties'],
    ['a repeated party', { parties: [...request.parties, request.parties[1]] }, 'parties'],
    ['a receiver outside the job', { receivers: ['dealer-4s', 'exchange'] }, 'receivers'],
    ['some hosts receiving but not all', { receivers: ['dealer-4s', 'insurer-a'] }, 'receivers'],
    ['a receiver set without the guest', { receivers: ['insurer-a'] }, 'receivers'],
    ['cardinality with three parties', { params: { mode: 'cardinality' } }, 'params'],
    ['an unknown protocol', { protocol: 'vfl' }, 'protocol'],
  ])('refuses %s', (_name, patch, path) => {
    const result = JobRequest.safeParse({ ...request, ...patch });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => String(i.path[0]))).toContain(path);
  });

  it('refuses a spec whose coordinator is not the guest', () => {
    expect(JobSpec.safeParse({ ...spec, coordinator: 'insurer-a' }).success).toBe(false);
  });
});

describe('job state machine', () => {
  it('is accepted only once every party has accepted', () => {
    const one = run([{ type: 'accept', party: 'insurer-a' }]);
    expect(one.status).toBe('proposed');
    expect(accepted().status).toBe('accepted');
    expect(() => run([{ type: 'accept', party: 'exchange' }])).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    expect(() => run([{ type: 'step-start', step: 'filter', attempt: 1 }])).toThrow(
      expect.objectContaining({ code: 'CONFLICT' }),
    );
  });

  it('runs the steps in order with growing attempt numbers and completes after the last', () => {
    let s = accepted();
    expect(() => applyJobEvent(spec, s, { type: 'step-start', step: 'exchange', attempt: 1 }, at(9))).toThrow(
      /earlier step/,
    );
    s = run([{ type: 'step-start', step: 'filter', attempt: 1 }], s);
    expect(s.status).toBe('running');
    // A retried start of the running attempt changes nothing; an older attempt is refused.
    expect(applyJobEvent(spec, s, { type: 'step-start', step: 'filter', attempt: 1 }, at(9))).toBe(s);
    s = run([{ type: 'step-fail', step: 'filter', attempt: 1 }], s);
    expect(() => applyJobEvent(spec, s, { type: 'step-start', step: 'filter', attempt: 1 }, at(9))).toThrow(
      /attempt numbers only grow/,
    );
    s = run(
      [
        { type: 'step-start', step: 'filter', attempt: 2 },
        { type: 'step-complete', step: 'filter', attempt: 2 },
      ],
      s,
    );
    expect(() => applyJobEvent(spec, s, { type: 'complete' }, at(9))).toThrow(/not every step/);
    s = run(
      [
        { type: 'step-start', step: 'exchange', attempt: 3 },
        { type: 'step-complete', step: 'exchange', attempt: 3 },
        { type: 'complete' },
      ],
      s,
    );
    expect(s.status).toBe('completed');
    expect(s.attempt).toBe(3);
    expect(() => applyJobEvent(spec, s, { type: 'cancel' }, at(9))).toThrow(/has ended/);
  });

  it('resumes a reachability failure from the first step not completed, and nothing else', () => {
    const running = run(
      [
        { type: 'step-start', step: 'filter', attempt: 1 },
        { type: 'step-complete', step: 'filter', attempt: 1 },
        { type: 'step-start', step: 'exchange', attempt: 2 },
      ],
      accepted(),
    );
    const timedOut = run([{ type: 'fail', failure: failure('PEER_TIMEOUT') }], running);
    const resumed = run([{ type: 'resume' }], timedOut);
    expect(resumed.status).toBe('running');
    expect(resumed.failure).toBeNull();
    expect(resumed.steps.map((s) => s.status)).toEqual(['completed', 'pending']);
    expect(firstIncompleteStep(resumed)).toBe('exchange');
    // Every resume starts a new epoch; a participant takes the coordinator's, which never goes back.
    expect([timedOut.epoch, resumed.epoch]).toEqual([0, 1]);
    expect(run([{ type: 'resume', epoch: 4 }], timedOut).epoch).toBe(4);
    expect(() =>
      run(
        [
          { type: 'fail', failure: failure('PEER_TIMEOUT') },
          { type: 'resume', epoch: 0 },
        ],
        resumed,
      ),
    ).toThrow(/epochs only grow/);
    // A resume from an earlier step starts it over too.
    expect(run([{ type: 'resume', fromStep: 'filter' }], timedOut).steps.map((s) => s.status)).toEqual([
      'pending',
      'pending',
    ]);
    for (const code of ['CONSENT_DENIED', 'PSI_BAD_MESSAGE', 'INTERNAL']) {
      expect(() => run([{ type: 'fail', failure: failure(code) }, { type: 'resume' }], running)).toThrow(
        expect.objectContaining({ code: 'CONFLICT' }),
      );
    }
    expect(() => run([{ type: 'cancel' }, { type: 'resume' }], running)).toThrow(/has ended/);
  });

  it('never leaves an ended job except by resuming a reachability failure; completes only with every step complete', () => {
    const steps = ['filter', 'exchange'] as const;
    const event: fc.Arbitrary<JobEvent> = fc.oneof(
      fc.constantFrom('dealer-4s', 'insurer-a', 'charging-net').map((party): JobEvent => ({ type: 'accept', party })),
      fc
        .record({ step: fc.constantFrom(...steps), attempt: fc.integer({ min: 0, max: 6 }) })
        .map((e): JobEvent => ({ type: 'step-start', ...e })),
      fc
        .record({ step: fc.constantFrom(...steps), attempt: fc.integer({ min: 0, max: 6 }) })
        .map((e): JobEvent => ({ type: 'step-complete', ...e })),
      fc
        .record({ step: fc.constantFrom(...steps), attempt: fc.integer({ min: 0, max: 6 }) })
        .map((e): JobEvent => ({ type: 'step-fail', ...e })),
      fc.constant<JobEvent>({ type: 'complete' }),
      fc.constant<JobEvent>({ type: 'cancel' }),
      fc.constant<JobEvent>({ type: 'resume' }),
      fc
        .constantFrom('PEER_TIMEOUT', 'CONSENT_DENIED', 'PSI_WRONG_JOB')
        .map((code): JobEvent => ({ type: 'fail', failure: failure(code) })),
    );
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), (events) => {
        let state = initialJobState(spec, psi.steps, at(0));
        events.forEach((e, i) => {
          let next: JobState;
          try {
            next = applyJobEvent(spec, state, e, at(i + 1));
          } catch (error) {
            expect((error as { code?: string }).code).toBe('CONFLICT');
            return;
          }
          if (isTerminal(state.status) && next !== state) {
            expect(e.type).toBe('resume');
            expect(state.status).toBe('failed');
            expect(state.failure?.code).toBe('PEER_TIMEOUT');
          }
          if (next.status === 'completed') expect(next.steps.every((s) => s.status === 'completed')).toBe(true);
          // A step is never running or complete while an earlier one is not complete.
          next.steps.forEach((s, k) => {
            if (s.status === 'running' || s.status === 'completed')
              expect(next.steps.slice(0, k).every((p) => p.status === 'completed')).toBe(true);
          });
          expect(next.attempt).toBeGreaterThanOrEqual(state.attempt);
          state = next;
        });
      }),
      { numRuns: 500 },
    );
  });
});
