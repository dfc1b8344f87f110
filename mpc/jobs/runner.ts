// The durable multi-party job runner (DESIGN.md §6, docs/jobs.md): the API a data steward uses (submit, watch, cancel,
// resume, read the output) and the handlers of the signed peer calls between gateways. Jobs persist in the gateway's
// DuckDB file; after a restart the coordinator resumes its interrupted jobs from the last completed step.
import { randomUUID } from 'node:crypto';
import {
  JobSpec,
  JobStatus,
  firstIncompleteStep,
  initialJobState,
  isResumable,
  isTerminal,
  type JobFailure,
  type JobState,
  type JobStepName,
} from './job.ts';
import type { Database } from '../../core/database.ts';
import { GatewayError } from '../../core/errors.ts';
import { admitJob } from './admission.ts';
import { createCoordinator } from './coordinator.ts';
import { createJobCore, failureError, ownFailure, type JobRunnerDeps } from './job-core.ts';
import { createParticipant } from './participant.ts';
import { JOB_PEER_PATHS, createJobPeer, type ProposalAnswer, type ReportBody } from './job-peer.ts';
import { openJobStore, type JobCount, type JobRecord } from './store.ts';
import { describeJob, type JobView } from './view.ts';
import { continueTrace, formatTraceparent } from '../../core/trace-context.ts';

export type { JobRunnerDeps, StepEndedListener } from './job-core.ts';
export type { JobCount } from './store.ts';

/** Where a resume starts: the first step not completed (the last, when all are: the job then only completes). */
const resumeStep = (state: JobState): JobStepName =>
  firstIncompleteStep(state) ?? (state.steps.at(-1)?.name as JobStepName);

/**
 * A receiver's output: the protocol's mode and count, its numeric results when it has some, and a page of the rows it
 * learned (PSI: this gateway's own pseudonyms, in the order every receiver shares), or null when it has none.
 */
export type JobOutput = {
  id: string;
  mode: string;
  count: number | null;
  offset: number;
  subjects: string[] | null;
  values?: Record<string, number>;
  /** The protocol's structured result at this party (store.ts JobResultDocument), or null. */
  result: Record<string, unknown> | null;
};
export type JobAskerToken = { tokenId: string; role: string };

export type JobRunner = {
  /**
   * Submits a job with this gateway as guest and coordinator. Throws BAD_INPUT, CONSENT_DENIED, COLUMN_DENIED,
   * NOT_FOUND.
   */
  submit(input: unknown, asker: JobAskerToken, traceparent?: string): Promise<JobView>;
  get(id: string): Promise<JobView>;
  list(limit: number): Promise<JobView[]>;
  /** Cancels here and at every party. Throws NOT_FOUND, CONFLICT (already ended). */
  cancel(id: string, asker: JobAskerToken): Promise<JobView>;
  /** Coordinator only: resumes a job that failed for reachability, from its last completed step. */
  resume(id: string, asker: JobAskerToken): Promise<JobView>;
  /** The output at this receiver (PSI: the intersection as pseudonyms in aligned order, or the cardinality). */
  output(id: string, offset: number, limit: number, asker: JobAskerToken): Promise<JobOutput>;
  /** Resolves once the job has ended at this party (tests and the CLI; nothing in the runner waits on it). */
  settled(id: string): Promise<JobView>;
  /** Picks up jobs interrupted by a restart: the coordinator resumes them, participants arm their watchdogs. */
  recover(): Promise<void>;
  /**
   * Jobs by protocol and status, with a zero for every status of every protocol this gateway runs: a metric read from
   * it then rises from zero when the first job fails, which a rate or delta can see.
   */
  countByStatus(): Promise<JobCount[]>;
  peer: {
    propose(from: string, spec: unknown, traceparent: string): Promise<ProposalAnswer>;
    start(from: string, id: string, step: JobStepName, attempt: number): Promise<void>;
    report(from: string, id: string, step: JobStepName, body: ReportBody): Promise<{ isStale: boolean }>;
    message(
      from: string,
      id: string,
      attempt: number,
      frame: Uint8Array,
    ): Promise<{ isDuplicate: boolean; isStale: boolean }>;
    fail(from: string, id: string, failure: JobFailure, epoch: number): Promise<void>;
    cancel(from: string, id: string): Promise<void>;
    complete(from: string, id: string): Promise<void>;
    resume(from: string, id: string, fromStep: JobStepName, epoch: number): Promise<void>;
  };
  close(): Promise<void>;
};

export async function openJobRunner(db: Database, deps: JobRunnerDeps): Promise<JobRunner> {
  const store = await openJobStore(db);
  // Before any peer can start an attempt here: whatever this party's timeline shows running, a crash cut short.
  const interrupted = await store.interruptRunning(deps.partyId, deps.clock.now().toISOString());
  if (interrupted > 0) deps.log.info({ interrupted }, 'jobs: attempts cut short by the last stop are marked failed');
  const core = createJobCore(deps, store, createJobPeer(deps.peers));
  const coordinator = createCoordinator(core);
  const participant = createParticipant(core);
  const { self } = core;

  const view = async (record: JobRecord): Promise<JobView> => {
    const run = core.live.get(record.spec.id)?.run ?? null;
    const live = run === null ? null : { step: run.run.step, attempt: run.run.attempt, progress: run.run.progress() };
    return describeJob(record, self, await store.timeline(record.spec.id), live);
  };
  const isCoordinator = (record: JobRecord) => record.spec.coordinator === self;
  const partyCheck = (record: JobRecord, from: string) => {
    if (!record.spec.parties.some((p) => p.id === from))
      throw new GatewayError('FORBIDDEN', 'not a party of this job', { job: record.spec.id });
  };

  return {
    async submit(input, asker, traceparent) {
      const request = core.protocols.request.parse(input);
      const protocol = core.protocols.get(request.protocol);
      const guest = request.parties.find((p) => p.role === 'guest');
      if (guest?.id !== self)
        throw new GatewayError(
          'BAD_INPUT',
          `this gateway (${self}) must be the job's guest: it coordinates the jobs it submits`,
        );
      const now = deps.clock.now();
      const spec = JobSpec.parse({ ...request, id: randomUUID(), coordinator: self, createdAt: now.toISOString() });
      await admitJob(
        {
          partyId: self,
          policies: deps.policies,
          consent: deps.consent,
          connectors: deps.connectors,
          now: () => deps.clock.now(),
        },
        spec,
        { type: 'User', id: asker.tokenId, role: asker.role },
        protocol,
      );
      await store.create(
        spec,
        initialJobState(spec, protocol.steps, now),
        formatTraceparent(continueTrace(traceparent)),
      );
      const detail = { purpose: spec.purpose, parties: spec.parties.map((p) => p.id), ...protocol.auditDetail?.(spec) };
      await core.audit({ spec, action: 'job-propose', outcome: 'ok', detail, actor: `token:${asker.tokenId}` });
      void coordinator.drive(spec.id);
      return view(await core.load(spec.id));
    },
    get: async (id) => view(await core.load(id)),
    list: async (limit) => Promise.all((await store.list(limit)).map(view)),
    async cancel(id, asker) {
      const record = await core.load(id);
      if (isTerminal(record.state.status))
        throw new GatewayError('CONFLICT', `the job has already ${record.state.status}`, { job: id });
      await core.cancelLocal(id, `token:${asker.tokenId}`);
      const others = isCoordinator(record)
        ? record.spec.parties.map((p) => p.id).filter((p) => p !== self)
        : [record.spec.coordinator];
      const deadlineAt = Date.now() + Math.min(record.spec.deadlines.acceptMs, 10_000);
      await Promise.all(
        others.map((p) =>
          core.peer
            .callUntil(
              p,
              JOB_PEER_PATHS.cancel,
              { job: id },
              { jobId: id, step: 'cancel', traceparent: record.traceparent, deadlineAt },
            )
            .catch((error: unknown) =>
              deps.log.warn({ job: id, peer: p, err: error }, 'could not tell a party of the cancellation'),
            ),
        ),
      );
      return view(await core.load(id));
    },
    async resume(id, asker) {
      const record = await core.load(id);
      if (!isCoordinator(record))
        throw new GatewayError('CONFLICT', 'only the coordinator resumes a job; ask the guest gateway', {
          job: id,
          coordinator: record.spec.coordinator,
        });
      if (core.liveOf(id).isDriving) throw new GatewayError('CONFLICT', 'the job is running', { job: id });
      if (!isResumable(record.state))
        throw new GatewayError(
          'CONFLICT',
          `a job that has ${record.state.status}${record.state.failure === null ? '' : ` with ${record.state.failure.code}`} cannot resume`,
          { job: id },
        );
      await core.audit({
        spec: record.spec,
        action: 'job-resume-request',
        outcome: 'ok',
        detail: {},
        actor: `token:${asker.tokenId}`,
      });
      await coordinator.resume(id, resumeStep(record.state));
      return view(await core.load(id));
    },
    async output(id, offset, limit, asker) {
      const record = await core.load(id);
      if (record.state.status !== 'completed')
        throw new GatewayError('CONFLICT', `the job has not completed (it is ${record.state.status})`, { job: id });
      if (record.output === null || !record.output.isReceiver)
        throw new GatewayError('NOT_FOUND', "this party is not a receiver of the job's output", { job: id });
      const hasRows = core.protocols.get(record.spec.protocol).hasOutputRows(record.output);
      const subjects = hasRows ? await store.readOutput(id, offset, limit) : null;
      const result = (await store.readResult(id)) ?? null;
      await core.audit({
        spec: record.spec,
        action: 'job-output-read',
        outcome: 'ok',
        detail: { offset, returned: subjects?.length ?? 0 },
        actor: `token:${asker.tokenId}`,
      });
      const { mode, count, values } = record.output;
      return { id, mode, count, offset, subjects, result, ...(values === undefined ? {} : { values }) };
    },
    async settled(id) {
      const record = await core.load(id);
      if (isTerminal(record.state.status)) return view(record);
      const ended = await new Promise<JobRecord>((resolve) => {
        core.liveOf(id).settled.push(resolve);
      });
      return view(ended);
    },
    async recover() {
      for (const record of await store.listActive()) {
        const id = record.spec.id;
        if (!isCoordinator(record)) {
          participant.armWatchdog(record, record.spec.deadlines.stepMs);
        } else if (record.state.status === 'running') {
          void coordinator
            .resume(id, resumeStep(record.state))
            .catch((error: unknown) => deps.log.warn({ job: id, err: error }, 'could not resume an interrupted job'));
        } else {
          void coordinator.drive(id);
        }
      }
    },
    async countByStatus() {
      const key = (c: Pick<JobCount, 'protocol' | 'status'>) => `${c.protocol}\n${c.status}`;
      const counts = new Map<string, JobCount>();
      for (const protocol of core.protocols.names)
        for (const status of JobStatus.options) counts.set(key({ protocol, status }), { protocol, status, count: 0 });
      for (const count of await store.countByStatus()) counts.set(key(count), count);
      return [...counts.values()];
    },
    peer: {
      propose: (from, spec, traceparent) => participant.onPropose(from, spec, traceparent),
      start: (from, id, step, attempt) => participant.onStart(from, id, step, attempt),
      report: (from, id, step, body) => coordinator.onReport(from, id, step, body),
      async message(from, id, attempt, frame) {
        const record = await core.load(id);
        partyCheck(record, from);
        const live = core.live.get(id)?.run ?? null;
        // A message of an attempt this party is not running (superseded, or lost in a restart) is dropped and
        // the sender told so: its attempt is over, which is the coordinator's business, not a failure of the job.
        // An exchange that has already failed takes nothing more either: its first error is the job's, and a later
        // frame must not hand its sender a second, different code.
        if (live === null || live.run.deliver === undefined || live.run.attempt !== attempt || live.run.hasFailed)
          return { isDuplicate: false, isStale: true };
        try {
          return { isStale: false, ...(await live.run.deliver(from, frame)) };
        } catch (error) {
          live.blame ??= from;
          // The exchange failed on another party's frame while this one was on its way: the session now repeats
          // that first error to anyone, which would blame this sender for it. Its attempt is simply over.
          if (live.blame !== from) return { isDuplicate: false, isStale: true };
          throw error;
        }
      },
      async fail(from, id, failure, epoch) {
        const record = await core.load(id);
        partyCheck(record, from);
        // A host's notice is its own failure; the coordinator's notice relays one it bound to its sender.
        if (isCoordinator(record)) {
          if (await coordinator.dropFailedHost(from, id, failure.code)) return;
          await coordinator.failEverywhere(id, failureError(ownFailure(record, { from, self }, failure)), from, epoch);
        } else await participant.onFail(from, id, failure, epoch);
      },
      async cancel(from, id) {
        const record = await core.load(id);
        partyCheck(record, from);
        if (!isCoordinator(record)) return participant.onCancel(from, id);
        if (!(await core.cancelLocal(id, from))) return;
        const deadlineAt = Date.now() + Math.min(record.spec.deadlines.acceptMs, 10_000);
        await Promise.all(
          record.spec.parties
            .map((p) => p.id)
            .filter((p) => p !== self && p !== from)
            .map((p) =>
              core.peer
                .callUntil(
                  p,
                  JOB_PEER_PATHS.cancel,
                  { job: id },
                  { jobId: id, step: 'cancel', traceparent: record.traceparent, deadlineAt },
                )
                .catch((error: unknown) =>
                  deps.log.warn({ job: id, peer: p, err: error }, 'could not tell a party of the cancellation'),
                ),
            ),
        );
      },
      complete: (from, id) => participant.onComplete(from, id),
      resume: (from, id, fromStep, epoch) => participant.onResume(from, id, fromStep, epoch),
    },
    close: () => core.close(),
  };
}
