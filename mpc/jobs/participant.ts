// A participant (a host) of a job (docs/jobs.md): decides on the proposal under its own rules, runs the attempts the
// coordinator starts, reports each one, and follows the coordinator's final word. A watchdog bounds every wait for
// the coordinator: silence for a step's deadline fails the job here with PEER_TIMEOUT naming the coordinator.
import { isResumable, isTerminal, partyOf, type JobStepName } from './job.ts';
import { admitJob } from './admission.ts';
import { GatewayError, isGatewayError } from '../../core/errors.ts';
import { isQuietAbort, toFailure, type JobCore, type LiveRun } from './job-core.ts';
import { JOB_PEER_PATHS, isTransientError, peerTimeout, type ProposalAnswer, type ReportBody } from './job-peer.ts';
import type { JobRecord } from './store.ts';
import { initialJobState, applyJobEvent } from './job.ts';

export function createParticipant(core: JobCore) {
  const { self, peer, store, deps } = core;

  const coordinatorOnly = (record: JobRecord, from: string) => {
    if (from !== record.spec.coordinator)
      throw new GatewayError('FORBIDDEN', "only the job's coordinator may ask this", { job: record.spec.id });
  };

  const tellCoordinator = async (record: JobRecord, kind: 'fail' | 'report', body: object, step: string) => {
    const deadlineAt = Date.now() + Math.min(record.spec.deadlines.acceptMs, 10_000);
    try {
      await peer.callUntil(
        record.spec.coordinator,
        JOB_PEER_PATHS[kind],
        { job: record.spec.id, ...body },
        { jobId: record.spec.id, step, traceparent: record.traceparent, deadlineAt },
      );
    } catch (error) {
      deps.log.warn({ job: record.spec.id, err: error }, `could not tell the coordinator: ${step}`);
    }
  };

  const failAndTell = async (id: string, error: unknown, step: JobStepName | null, blame: string | null) => {
    const record = await core.load(id);
    const failure = toFailure(error, { self, step, steps: record.state.steps, blame });
    if (await core.failLocal(id, failure))
      await tellCoordinator(record, 'fail', { failure, epoch: record.state.epoch }, 'fail');
  };

  /** (Re)starts the wait for the coordinator's next word: a step's deadline, or the time to the next instruction. */
  const armWatchdog = (record: JobRecord, ms: number) => {
    const job = core.liveOf(record.spec.id);
    if (job.watchdog !== null) clearTimeout(job.watchdog);
    job.watchdog = setTimeout(() => {
      job.watchdog = null;
      void core
        .load(record.spec.id)
        .then((current) => {
          if (isTerminal(current.state.status)) return;
          return failAndTell(
            record.spec.id,
            peerTimeout(record.spec.coordinator, core.currentStep(current)),
            core.currentStep(current),
            record.spec.coordinator,
          );
        })
        .catch((error: unknown) =>
          deps.log.error({ err: error, job: record.spec.id }, 'watchdog could not fail a job'),
        );
    }, ms);
    job.watchdog.unref();
  };

  const execute = async (record: JobRecord, live: LiveRun) => {
    const { run, controller } = live;
    const id = record.spec.id;
    const job = core.liveOf(id);
    try {
      const { entry, output } = await run.run();
      if (job.run !== live) return;
      job.run = null;
      await core.recordEnd(record, entry);
      const done = await core.transition(
        id,
        { type: 'step-complete', step: run.step, attempt: run.attempt },
        output ?? undefined,
      );
      await core.audit({
        spec: record.spec,
        action: 'job-step-complete',
        outcome: 'ok',
        detail: {
          step: run.step,
          attempt: run.attempt,
          rows: entry.rows,
          bytesIn: entry.bytesIn,
          bytesOut: entry.bytesOut,
        },
      });
      armWatchdog(done, record.spec.deadlines.stepMs);
      const report: ReportBody = {
        job: id,
        step: run.step,
        attempt: run.attempt,
        outcome: 'completed',
        entry,
        output,
        failure: null,
        isTransient: false,
      };
      await tellCoordinator(done, 'report', report, `${run.step}.report`);
    } catch (error) {
      if (isQuietAbort(controller.signal) || core.isClosing) return;
      const failure = toFailure(error, { self, step: run.step, steps: record.state.steps, blame: live.blame });
      if (!isTransientError(error)) return failAndTell(id, error, run.step, live.blame);
      if (job.run === live) job.run = null;
      await core.recordEnd(record, core.failedEntry(run, failure.code));
      const current = await core
        .transition(id, { type: 'step-fail', step: run.step, attempt: run.attempt })
        .catch(() => record);
      const report: ReportBody = {
        job: id,
        step: run.step,
        attempt: run.attempt,
        outcome: 'failed',
        entry: core.failedEntry(run, failure.code),
        output: null,
        failure,
        isTransient: true,
      };
      await tellCoordinator(current, 'report', report, `${run.step}.report`);
    }
  };

  return {
    armWatchdog,
    failAndTell,
    async onPropose(from: string, input: unknown, traceparent: string): Promise<ProposalAnswer> {
      const spec = core.protocols.spec.parse(input);
      if (from !== spec.coordinator)
        throw new GatewayError('FORBIDDEN', 'only the guest proposes a job', { job: spec.id });
      if (partyOf(spec, self) === undefined || spec.coordinator === self)
        throw new GatewayError('BAD_INPUT', 'this gateway is not a host of the job', { job: spec.id });
      const existing = await store.get(spec.id);
      if (existing !== undefined) {
        if (JSON.stringify(existing.spec) !== JSON.stringify(spec))
          throw new GatewayError('CONFLICT', 'another job already has this id', { job: spec.id });
        const failure = existing.state.failure;
        return failure !== null && existing.state.acceptedBy.length < 2
          ? { decision: 'declined', code: failure.code, message: failure.message }
          : { decision: 'accepted' };
      }
      const now = deps.clock.now();
      const protocol = core.protocols.get(spec.protocol);
      try {
        await admitJob(
          {
            partyId: self,
            policies: deps.policies,
            consent: deps.consent,
            connectors: deps.connectors,
            now: () => deps.clock.now(),
          },
          spec,
          { type: 'Partner', id: from, role: 'guest' },
          protocol,
        );
      } catch (error) {
        if (!isGatewayError(error) || error.status >= 500) throw error;
        const failure = toFailure(error, { self, step: null, steps: [] });
        await store.create(
          spec,
          applyJobEvent(spec, initialJobState(spec, protocol.steps, now), { type: 'fail', failure }, now),
          traceparent,
        );
        await core.audit({
          spec,
          action: 'job-decline',
          outcome: 'rejected',
          detail: { code: error.code, proposer: from },
          actor: self,
        });
        return { decision: 'declined', code: error.code, message: error.message.slice(0, 300) };
      }
      const state = applyJobEvent(
        spec,
        initialJobState(spec, protocol.steps, now),
        { type: 'accept', party: self },
        now,
      );
      await store.create(spec, state, traceparent);
      await core.audit({
        spec,
        action: 'job-accept',
        outcome: 'ok',
        detail: { proposer: from, purpose: spec.purpose },
      });
      armWatchdog(
        { spec, state, traceparent, output: null, createdAt: now.toISOString(), updatedAt: now.toISOString() },
        spec.deadlines.acceptMs + spec.deadlines.stepMs,
      );
      return { decision: 'accepted' };
    },

    async onStart(from: string, id: string, step: JobStepName, attempt: number): Promise<void> {
      const started = await core.locked(id, async () => {
        let record = await core.load(id);
        coordinatorOnly(record, from);
        if (isTerminal(record.state.status))
          throw new GatewayError('CONFLICT', `the job has ${record.state.status} here`, {
            job: id,
            status: record.state.status,
          });
        const job = core.liveOf(id);
        // A retried start of the running attempt is answered, not run twice.
        if (job.run !== null && job.run.run.step === step && job.run.run.attempt === attempt) return null;
        if (attempt < record.state.attempt || (job.run !== null && job.run.run.attempt > attempt))
          throw new GatewayError('CONFLICT', 'a newer attempt has started', { job: id, attempt });
        core.abortRun(id, 'superseded');
        if (job.stop.signal.aborted) job.stop = new AbortController();
        // The coordinator starting a step vouches that every party accepted; a participant sees only its own
        // acceptance.
        for (const p of record.spec.parties)
          if (record.state.status === 'proposed') record = await core.apply(id, { type: 'accept', party: p.id });
        // The coordinator decides when a step is done everywhere: a step done here but not at another party runs again.
        if (record.state.steps.find((s) => s.name === step)?.status === 'completed')
          await core.apply(id, { type: 'resume', fromStep: step, epoch: record.state.epoch });
        record = await core.apply(id, { type: 'step-start', step, attempt });
        const deadlineAt = Date.now() + record.spec.deadlines.stepMs;
        const controller = new AbortController();
        const run = core.startRun({
          record,
          step,
          attempt,
          signal: AbortSignal.any([controller.signal, job.stop.signal]),
          deadlineAt,
        });
        const live: LiveRun = { run, controller, barrier: null, blame: null };
        job.run = live;
        armWatchdog(record, record.spec.deadlines.stepMs);
        return { record, live };
      });
      if (started === null) return;
      await core.recordEntry(id, core.runningEntry(started.live.run));
      await core.audit({
        spec: started.record.spec,
        action: 'job-step-start',
        outcome: 'ok',
        detail: { step, attempt },
      });
      void execute(started.record, started.live);
    },

    async onFail(from: string, id: string, failure: Parameters<JobCore['failLocal']>[1], epoch: number): Promise<void> {
      coordinatorOnly(await core.load(id), from);
      // A notice from before the last resume belongs to the run that failed, not to this one: failLocal drops it.
      await core.failLocal(id, failure, epoch);
    },

    async onCancel(from: string, id: string): Promise<void> {
      coordinatorOnly(await core.load(id), from);
      await core.cancelLocal(id, from);
    },

    async onComplete(from: string, id: string): Promise<void> {
      const record = await core.load(id);
      coordinatorOnly(record, from);
      if (record.state.status === 'completed') return;
      // A job that survives dropouts completes without a party that dropped out: it stops waiting here, and says so.
      const isLeftOut = record.state.steps.some((s) => s.status !== 'completed');
      if (isLeftOut && core.survivesDropouts(record.spec)) {
        await core.failLocal(id, {
          code: 'JOB_DROPPED_OUT',
          message:
            'the coordinator completed the job without this party: it dropped out of a round (the timeline says why)',
          party: self,
          peer: from,
          step: core.currentStep(record),
        });
        return;
      }
      const done = await core.transition(id, { type: 'complete' });
      await core.audit({
        spec: done.spec,
        action: 'job-complete',
        outcome: 'ok',
        detail: { count: done.output?.count ?? null },
      });
    },

    async onResume(from: string, id: string, fromStep: JobStepName, epoch: number): Promise<void> {
      const record = await core.locked(id, async () => {
        let current = await core.load(id);
        coordinatorOnly(current, from);
        if (isTerminal(current.state.status) && !isResumable(current.state)) {
          throw new GatewayError('CONFLICT', `the job has ${current.state.status} here and cannot resume`, {
            job: id,
            status: current.state.status,
          });
        }
        core.abortRun(id, 'superseded');
        const job = core.liveOf(id);
        if (job.stop.signal.aborted) job.stop = new AbortController();
        for (const p of current.spec.parties)
          if (current.state.status === 'proposed') current = await core.apply(id, { type: 'accept', party: p.id });
        if (isResumable(current.state))
          current = await core.apply(id, { type: 'resume', fromStep, epoch: Math.max(epoch, current.state.epoch) });
        armWatchdog(current, current.spec.deadlines.stepMs);
        return current;
      });
      await core.audit({ spec: record.spec, action: 'job-resume', outcome: 'ok', detail: { fromStep } });
    },
  };
}
