// The coordinator (the guest) of a job (docs/jobs.md): proposes the job to every party, runs the steps one after
// another as numbered attempts, each under the step's deadline, retries attempts that failed for reachability, and
// takes the job to completed or failed at every party. Nothing waits without a deadline.
import { setTimeout as sleep } from 'node:timers/promises';
import { firstIncompleteStep, isTerminal, type JobStepName } from './job.ts';
import { GatewayError, errorCodeOr, isGatewayError } from '../../core/errors.ts';
import {
  abortReason,
  blamed,
  createBarrier,
  failureError,
  ownFailure,
  toFailure,
  type JobCore,
  type LiveRun,
} from './job-core.ts';
import {
  JOB_PEER_PATHS,
  ProposalAnswer,
  parsePeerAnswer,
  isTransientError,
  peerTimeout,
  type JobCallOptions,
  type ReportBody,
} from './job-peer.ts';
import type { JobOutputSummary, JobRecord, TimelineEntry } from './store.ts';

/** Pause before a new attempt after a transient failure; doubles up to 4 s, always inside the step deadline. */
const RETRY_BASE_MS = 250;

export function createCoordinator(core: JobCore) {
  const { self, peer } = core;
  const hostsOf = (record: JobRecord) => record.spec.parties.map((p) => p.id).filter((id) => id !== self);
  const opts = (record: JobRecord, step: string, deadlineAt: number): JobCallOptions => ({
    jobId: record.spec.id,
    step,
    traceparent: record.traceparent,
    deadlineAt,
  });

  /** Best effort: tells `parties` something final; a party that misses it times out on its own watchdog. */
  const notify = async ({
    record,
    parties,
    kind,
    body,
    step,
  }: {
    record: JobRecord;
    parties: readonly string[];
    kind: 'fail' | 'complete';
    body: object;
    step: string;
  }) => {
    const deadlineAt = Date.now() + Math.min(record.spec.deadlines.acceptMs, 10_000);
    const signal = core.liveOf(record.spec.id).notices.signal;
    await Promise.all(
      parties.map((p) =>
        peer
          .callUntil(
            p,
            JOB_PEER_PATHS[kind],
            { job: record.spec.id, ...body },
            { ...opts(record, step, deadlineAt), signal },
          )
          .catch((error: unknown) =>
            core.deps.log.warn({ job: record.spec.id, peer: p, err: error }, `could not tell a party: ${step}`),
          ),
      ),
    );
  };

  /** `epoch`: the run a party's failure notice belongs to; one from before the last resume is dropped. */
  const failEverywhere = async (id: string, error: unknown, except: string | null = null, epoch?: number) => {
    const record = await core.load(id);
    const failure = toFailure(error, {
      self,
      step: core.currentStep(record),
      steps: record.state.steps,
      blame: core.live.get(id)?.run?.blame ?? null,
    });
    if (!(await core.failLocal(id, failure, epoch))) return;
    // Not awaited: a silent party would hold the job's drive for the notice's whole deadline.
    void notify({
      record,
      parties: hostsOf(record).filter((h) => h !== except),
      kind: 'fail',
      body: { failure, epoch: record.state.epoch },
      step: 'fail',
    });
  };

  const proposeRound = async (record: JobRecord) => {
    const deadlineAt = Date.now() + record.spec.deadlines.acceptMs;
    // Every host hears the proposal before the outcome is decided, so every host can also hear a failure.
    const answers = await Promise.allSettled(
      hostsOf(record).map(async (host) => {
        const raw = await peer.callUntil(
          host,
          JOB_PEER_PATHS.propose,
          { spec: record.spec },
          opts(record, 'propose', deadlineAt),
        );
        const answer = parsePeerAnswer(ProposalAnswer, raw, host);
        if (answer.decision === 'declined') {
          const code = errorCodeOr(answer.code, 'CONSENT_DENIED');
          throw new GatewayError(
            code,
            `party ${host} declined the job: ${(answer.message ?? 'no reason given').slice(0, 300)}`,
            { party: host, peer: host, isFinal: true },
          );
        }
        await core.transition(record.spec.id, { type: 'accept', party: host });
        await core.audit({ spec: record.spec, action: 'job-accepted', outcome: 'ok', detail: { party: host } });
      }),
    );
    const refusal = answers.find((a) => a.status === 'rejected');
    if (refusal !== undefined) throw refusal.reason;
  };

  /**
   * A host leaves the attempt of a protocol that survives dropouts (protocol.ts): the step stops waiting for it and
   * the attempt no longer waits for its report. Audited, so every party's chain shows who the round went on without.
   */
  const dropHost = (record: JobRecord, live: LiveRun, party: string, code: string) => {
    if (live.barrier === null || !live.barrier.waiting.has(party)) return;
    core.deps.log.warn({ job: record.spec.id, party, code, attempt: live.run.attempt }, 'a party dropped out');
    live.run.hostDropped(party, code);
    live.barrier.settle(party);
    try {
      core.deps.onPartyDropped?.(record.spec.protocol, party, code);
    } catch (error) {
      core.deps.log.warn({ err: error, job: record.spec.id }, 'onPartyDropped threw');
    }
    void core.audit({
      spec: record.spec,
      action: 'job-party-dropped',
      outcome: 'error',
      detail: { party, code, step: live.run.step, attempt: live.run.attempt },
    });
  };

  /** Starts the attempt at every host; with dropouts survived, a host that cannot be reached in time is dropped. */
  const startHosts = async ({
    record,
    live,
    deadlineAt,
    signal,
    survivesDropouts,
  }: {
    record: JobRecord;
    live: LiveRun;
    deadlineAt: number;
    signal: AbortSignal;
    survivesDropouts: boolean;
  }) => {
    const { step, attempt } = live.run;
    const body = (h: string) => [h, JOB_PEER_PATHS.start, { job: record.spec.id, step, attempt }] as const;
    if (!survivesDropouts) {
      await Promise.all(
        hostsOf(record).map((h) => peer.callUntil(...body(h), opts(record, `${step}.start`, deadlineAt))),
      );
      return;
    }
    // A host that is down must not hold the round for the whole step: it has the acceptance deadline to answer.
    const startBy = Math.min(deadlineAt, Date.now() + record.spec.deadlines.acceptMs);
    await Promise.all(
      hostsOf(record).map(async (h) => {
        try {
          await peer.callUntil(...body(h), opts(record, `${step}.start`, startBy));
        } catch (error) {
          if (signal.aborted) throw error;
          dropHost(record, live, h, isGatewayError(error) ? error.code : 'INTERNAL');
        }
      }),
    );
  };

  /** How long a finished attempt that survives dropouts still waits for the other hosts' reports. */
  const REPORT_GRACE_MS = 5_000;

  /** One attempt: start it at every host, then run it here, until every party reports it done or it fails. */
  const runAttempt = async (record: JobRecord, step: JobStepName, attempt: number, deadlineAt: number) => {
    const id = record.spec.id;
    const job = core.liveOf(id);
    const controller = new AbortController();
    const timeout = AbortSignal.timeout(Math.max(1, deadlineAt - Date.now()));
    const signal = AbortSignal.any([controller.signal, timeout, job.stop.signal]);
    const hosts = hostsOf(record);
    const run = core.startRun({ record, step, attempt, signal, deadlineAt });
    const barrier = createBarrier(hosts, signal);
    const live: LiveRun = { run, controller, barrier, blame: null };
    const survivesDropouts = core.survivesDropouts(record.spec);
    job.run = live;
    await core.recordEntry(id, core.runningEntry(run));
    try {
      await startHosts({ record, live, deadlineAt, signal, survivesDropouts });
      if (!survivesDropouts) {
        const [own] = await Promise.all([run.run(), barrier.promise]);
        return own;
      }
      const own = await run.run();
      for (const { party, code } of run.dropped()) dropHost(record, live, party, code);
      // The round is over; the reports only fill the timeline, so a host that dies now cannot fail it.
      const grace = Math.max(0, Math.min(REPORT_GRACE_MS, deadlineAt - Date.now()));
      await Promise.race([barrier.promise.catch(() => undefined), sleep(grace, undefined, { signal }).catch(() => 0)]);
      return own;
    } catch (error) {
      controller.abort(abortReason('attempt-failed'));
      const silent = [...barrier.waiting][0] ?? null;
      const cause =
        timeout.aborted && !isGatewayError(error)
          ? peerTimeout(silent ?? hosts[0] ?? self, step, error)
          : blamed(error, live.blame);
      await core.recordEnd(record, core.failedEntry(run, isGatewayError(cause) ? cause.code : 'INTERNAL'));
      throw cause;
    } finally {
      if (job.run === live) job.run = null;
    }
  };

  const runStep = async (id: string, step: JobStepName) => {
    let record = await core.load(id);
    const deadlineAt = Date.now() + record.spec.deadlines.stepMs;
    for (let retry = 0; ; retry++) {
      const attempt = record.state.attempt + 1;
      record = await core.transition(id, { type: 'step-start', step, attempt });
      await core.audit({ spec: record.spec, action: 'job-step-start', outcome: 'ok', detail: { step, attempt } });
      let own: { entry: TimelineEntry; output: JobOutputSummary | null };
      try {
        own = await runAttempt(record, step, attempt, deadlineAt);
      } catch (error) {
        record = await core.load(id);
        if (isTerminal(record.state.status)) throw error;
        await core.transition(id, { type: 'step-fail', step, attempt }).catch(() => undefined);
        record = await core.load(id);
        const left = deadlineAt - Date.now();
        if (!isTransientError(error)) throw error;
        if (left <= RETRY_BASE_MS)
          throw peerTimeout(
            isGatewayError(error) && typeof error.detail.peer === 'string' ? error.detail.peer : self,
            step,
            error,
          );
        core.deps.log.info(
          { job: id, step, attempt, code: isGatewayError(error) ? error.code : null },
          'job attempt failed transiently; trying again',
        );
        await sleep(Math.min(left - RETRY_BASE_MS, RETRY_BASE_MS * 2 ** Math.min(retry, 4)), undefined, {
          signal: core.liveOf(id).stop.signal,
        });
        continue;
      }
      await core.recordEnd(record, own.entry);
      await core.transition(id, { type: 'step-complete', step, attempt }, own.output ?? undefined);
      await core.audit({
        spec: record.spec,
        action: 'job-step-complete',
        outcome: 'ok',
        detail: {
          step,
          attempt,
          rows: own.entry.rows,
          bytesIn: own.entry.bytesIn,
          bytesOut: own.entry.bytesOut,
        },
      });
      return;
    }
  };

  const finish = async (id: string) => {
    const record = await core.transition(id, { type: 'complete' });
    await core.audit({
      spec: record.spec,
      action: 'job-complete',
      outcome: 'ok',
      detail: { count: record.output?.count ?? null },
    });
    const body = { count: record.output?.count ?? null };
    await notify({ record, parties: hostsOf(record), kind: 'complete', body, step: 'complete' });
  };

  /** Runs the job from where its state says, to its end. One drive per job at a time. */
  const drive = async (id: string): Promise<void> => {
    const job = core.liveOf(id);
    if (job.isDriving) return;
    job.isDriving = true;
    if (job.stop.signal.aborted) job.stop = new AbortController();
    try {
      let record = await core.load(id);
      if (record.state.status === 'proposed') await proposeRound(record);
      for (;;) {
        record = await core.load(id);
        if (isTerminal(record.state.status)) return;
        const step = firstIncompleteStep(record.state);
        if (step === null) break;
        await runStep(id, step);
      }
      await finish(id);
    } catch (error) {
      if (core.isClosing) return;
      const record = await core.load(id).catch(() => null);
      if (record !== null && !isTerminal(record.state.status)) {
        await failEverywhere(id, error).catch((e: unknown) =>
          core.deps.log.error({ err: e, job: id }, 'could not fail a job'),
        );
      }
    } finally {
      job.isDriving = false;
    }
  };

  /**
   * Takes a resumable job back to running from `fromStep`, here and at every party, then drives it on in the
   * background. Resolves once every party is running again; rejects (and fails the job) if one cannot be reached.
   */
  const resume = async (id: string, fromStep: JobStepName): Promise<void> => {
    const job = core.liveOf(id);
    if (job.isDriving) throw new GatewayError('CONFLICT', 'the job is running', { job: id });
    job.isDriving = true;
    // Failure notices still being repeated to a silent party belong to the run that failed: drop them.
    job.notices.abort(abortReason('superseded'));
    job.notices = new AbortController();
    if (job.stop.signal.aborted) job.stop = new AbortController();
    try {
      const record = await core.transition(id, { type: 'resume', fromStep });
      await core.audit({ spec: record.spec, action: 'job-resume', outcome: 'ok', detail: { fromStep } });
      const deadlineAt = Date.now() + record.spec.deadlines.acceptMs;
      await Promise.all(
        hostsOf(record).map((h) =>
          peer.callUntil(
            h,
            JOB_PEER_PATHS.resume,
            { job: id, fromStep, epoch: record.state.epoch },
            opts(record, 'resume', deadlineAt),
          ),
        ),
      );
    } catch (error) {
      job.isDriving = false;
      if (!core.isClosing)
        await failEverywhere(id, error).catch((e: unknown) =>
          core.deps.log.error({ err: e, job: id }, 'could not fail a job'),
        );
      throw error;
    }
    job.isDriving = false;
    void drive(id);
  };

  return {
    drive,
    resume,
    failEverywhere,
    /**
     * A host's own failure notice: in the live attempt of a protocol that survives dropouts, the host is dropped from
     * it and the job goes on (true); otherwise the caller fails the job everywhere (false).
     */
    async dropFailedHost(from: string, id: string, code: string): Promise<boolean> {
      const record = await core.load(id);
      const live = core.live.get(id)?.run ?? null;
      if (!core.survivesDropouts(record.spec) || live === null) return false;
      if (live.barrier === null || !live.barrier.waiting.has(from)) return false;
      dropHost(record, live, from, code);
      return true;
    },
    /**
     * A participant's report of an attempt: recorded in the timeline, and counted towards the attempt's end. Only the
     * sender's own report of the live attempt, once: a report of another attempt, a second report or one for an
     * ended job is stale and stored nowhere. A failure it carries is the sender's own (`party` is the sender).
     */
    async onReport(from: string, id: string, step: JobStepName, body: ReportBody): Promise<{ isStale: boolean }> {
      const record = await core.load(id);
      if (!hostsOf(record).includes(from)) throw new GatewayError('FORBIDDEN', 'only a party of the job reports on it');
      const live = core.live.get(id)?.run;
      const isLive =
        live !== undefined &&
        live !== null &&
        live.run.step === step &&
        live.run.attempt === body.attempt &&
        live.barrier !== null &&
        live.barrier.waiting.has(from);
      if (!isLive) return { isStale: true };
      await core.recordEntry(id, { ...body.entry, party: from, step, attempt: body.attempt });
      if (body.outcome === 'completed') live.barrier?.settle(from);
      else if (body.failure !== null && core.survivesDropouts(record.spec))
        dropHost(record, live, from, body.failure.code);
      else if (body.failure !== null) {
        const failure = ownFailure(record, { from, self }, body.failure);
        live.barrier?.fail(
          body.isTransient
            ? new GatewayError(errorCodeOr(failure.code, 'PEER_UNAVAILABLE'), failure.message, {
                party: from,
                peer: failure.peer ?? from,
              })
            : failureError(failure),
        );
      }
      return { isStale: false };
    },
  };
}
