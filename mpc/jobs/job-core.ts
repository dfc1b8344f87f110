// What the coordinator and the participant sides of the job runner share (docs/jobs.md): the live state of each job
// in this process, serialized state transitions over the durable store, local failure and cancellation, the audit
// trail, and the job view with live progress.
import type { Logger } from 'pino';
import type { ConsentLog } from '../../consent/consent-log.ts';
import type { PolicyHolder } from '../../consent/policy-holder.ts';
import { findPurpose } from '../../consent/purpose.ts';
import { PARTY_ID_PATTERN } from '../../core/party-id.ts';
import type { Attestation } from '../peers/attestation.ts';
import type { Connectors } from '../../connectors/connectors.ts';
import {
  applyJobEvent,
  firstIncompleteStep,
  isResumable,
  isTerminal,
  JobFailure,
  type JobEvent,
  type JobSpec,
  type JobStepName,
} from './job.ts';
import type { Clock } from '../../core/clock.ts';
import { GatewayError, errorCodeOr, isGatewayError } from '../../core/errors.ts';
import type { JobPeer } from './job-peer.ts';
import { createProtocolRegistry, type JobProtocol } from './protocol.ts';
import { createStepRun, type StepRun } from './step-run.ts';
import type { JobOutputSummary, JobRecord, JobStore, TimelineEntry } from './store.ts';
import type { PeerClient } from '../peers/peer-client.ts';
import { parseTraceparent } from '../../core/trace-context.ts';

export type JobRunnerDeps = {
  partyId: string;
  clock: Clock;
  log: Logger;
  consent: ConsentLog;
  policies: PolicyHolder;
  peers: { client: PeerClient };
  connectors: Connectors;
  subjectKey: Uint8Array;
  /** Signs and checks the statements protocols exchange (mpc/peers/attestation.ts). */
  attestation: Attestation;
  /** The protocols this gateway runs (PSI is mpc/psi/psi-protocol.ts); the runner closes them when it closes. */
  protocols: readonly JobProtocol[];
  /**
   * Called once per attempt this party ends, as its timeline records it (the shell turns it into a metric). 'failed'
   * includes an attempt a cancellation or a newer attempt stopped; one cut short by the runner closing is not reported.
   */
  onStepEnded?: StepEndedListener;
  /** Called at the coordinator each time a job that survives dropouts goes on without a host (the shell counts it). */
  onPartyDropped?: (protocol: string, party: string, code: string) => void;
};

/** How one attempt at a step ended here, and how long it ran by the runner's clock. */
export type StepEndedListener = (
  protocol: string,
  step: JobStepName,
  outcome: 'completed' | 'failed',
  seconds: number,
) => void;

/**
 * Why an attempt was stopped from inside this process; all but 'attempt-failed' end it without a failure of its own.
 */
export type AbortKind = 'superseded' | 'cancelled' | 'failed' | 'closing' | 'attempt-failed';
export const abortReason = (kind: AbortKind) => new GatewayError('CONFLICT', `job attempt ${kind}`, { abort: kind });
export const isQuietAbort = (signal: AbortSignal): boolean =>
  signal.aborted &&
  isGatewayError(signal.reason) &&
  typeof signal.reason.detail.abort === 'string' &&
  signal.reason.detail.abort !== 'attempt-failed';

export type Barrier = {
  waiting: Set<string>;
  promise: Promise<void>;
  settle(party: string): void;
  fail(error: unknown): void;
};

export type LiveRun = {
  run: StepRun;
  controller: AbortController;
  /** The coordinator's wait for every participant's report of this attempt. */
  barrier: Barrier | null;
  /** The peer whose message broke the exchange, for the failure record. */
  blame: string | null;
};

export type LiveJob = {
  lock: Promise<unknown>;
  run: LiveRun | null;
  watchdog: NodeJS.Timeout | null;
  isDriving: boolean;
  /** Aborted when the job ends here or the runner closes: stops backoffs and waits. */
  stop: AbortController;
  /** Aborted when the job resumes: stops repeating failure notices that no longer apply. */
  notices: AbortController;
  settled: ((record: JobRecord) => void)[];
  /** The highest attempt whose end was reported to `onStepEnded`: a failure can be recorded twice, reported once. */
  endedAttempt: number;
};

export type JobCore = ReturnType<typeof createJobCore>;

export function createBarrier(parties: readonly string[], signal: AbortSignal): Barrier {
  const waiting = new Set(parties);
  let resolve: () => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  if (waiting.size === 0) resolve();
  signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  return {
    waiting,
    promise,
    settle(party) {
      waiting.delete(party);
      if (waiting.size === 0) resolve();
    },
    fail: (error) => reject(error),
  };
}

export type FailureContext = {
  self: string;
  /** The job's step when the error names none of the job's steps itself. */
  step: JobStepName | null;
  /** The job's steps: a `step` in an error's detail counts only when it is one of them (a PSI error names its own). */
  steps: readonly { name: JobStepName }[];
  blame?: string | null;
};

/** A failure record for `error` raised at this party: its code, a safe message, and who is blamed. */
export function toFailure(error: unknown, { self, step, steps, blame = null }: FailureContext): JobFailure {
  if (!isGatewayError(error)) return { code: 'INTERNAL', message: 'internal error', party: self, peer: blame, step };
  const detail = error.detail;
  const isId = (v: unknown): v is string => typeof v === 'string' && PARTY_ID_PATTERN.test(v);
  return JobFailure.parse({
    code: error.code,
    message: error.message.slice(0, 500),
    party: isId(detail.party) ? detail.party : self,
    peer: isId(detail.peer) ? detail.peer : blame,
    step: steps.some((s) => s.name === detail.step) ? detail.step : step,
  });
}

/** `error` with `peer` named as the party to blame, when it names nobody yet (a bad message's sender). */
export function blamed(error: unknown, peer: string | null): unknown {
  if (peer === null || !isGatewayError(error) || typeof error.detail.peer === 'string') return error;
  return new GatewayError(error.code, error.message, { ...error.detail, peer }, { cause: error });
}

/**
 * `failure` as the party `from` reported it to this party (`self`), bound to `from`. A party reports its own
 * failures, so `party` becomes the authenticated sender whatever the body says, and whom it blames (`peer`) must be
 * a party of the job. One claim about another party is taken as it comes, because it blames only the sender: "you
 * refused my message" (`party` is this party, `peer` the sender), which is how a sender passes on the refusal of
 * its own frame (a PSI code) so that every party tells the same story. Without this a hostile host could make every
 * other party record a failure an innocent party never raised.
 */
export function ownFailure(
  record: Pick<JobRecord, 'spec'>,
  { from, self }: { from: string; self: string },
  failure: JobFailure,
): JobFailure {
  if (failure.party === self && failure.peer === from) return failure;
  const isParty = failure.peer !== null && record.spec.parties.some((p) => p.id === failure.peer);
  return { ...failure, party: from, peer: isParty ? failure.peer : null };
}

/** The error a failure record stands for, so a remote failure travels through the same paths as a local one. */
export function failureError(failure: JobFailure): GatewayError {
  return new GatewayError(errorCodeOr(failure.code, 'PEER_BAD_RESPONSE'), failure.message, {
    party: failure.party,
    peer: failure.peer,
    step: failure.step,
    isFinal: true,
  });
}

export function createJobCore(deps: JobRunnerDeps, store: JobStore, peer: JobPeer) {
  const self = deps.partyId;
  const live = new Map<string, LiveJob>();
  const protocols = createProtocolRegistry(deps.protocols);
  let isClosing = false;

  const liveOf = (id: string): LiveJob => {
    let job = live.get(id);
    if (job === undefined) {
      job = {
        lock: Promise.resolve(),
        run: null,
        watchdog: null,
        isDriving: false,
        stop: new AbortController(),
        notices: new AbortController(),
        settled: [],
        endedAttempt: -1,
      };
      live.set(id, job);
    }
    return job;
  };

  /** Runs `work` alone for this job: handlers of concurrent peer calls never interleave a read-modify-write. */
  const locked = <T>(id: string, work: () => Promise<T>): Promise<T> => {
    const job = liveOf(id);
    const next = job.lock.then(work, work);
    job.lock = next.catch(() => undefined);
    return next;
  };

  const load = async (id: string): Promise<JobRecord> => {
    const record = await store.get(id);
    if (record === undefined) throw new GatewayError('NOT_FOUND', 'no such job', { job: id.slice(0, 64) });
    return record;
  };

  const audit = async ({
    spec,
    action,
    outcome,
    detail,
    actor = self,
  }: {
    spec: Pick<JobSpec, 'id'>;
    action: string;
    outcome: 'ok' | 'error' | 'rejected';
    detail: Record<string, unknown>;
    actor?: string;
  }) => {
    try {
      await deps.consent.appendAudit({ kind: 'job', actor, action, outcome, refs: [spec.id], detail });
    } catch (error) {
      deps.log.error({ err: error, job: spec.id, action }, 'could not audit a job event');
    }
  };

  const afterTerminal = async (record: JobRecord) => {
    const job = liveOf(record.spec.id);
    if (job.watchdog !== null) clearTimeout(job.watchdog);
    job.watchdog = null;
    job.stop.abort(abortReason('closing'));
    // Inputs are kept only while the job can still resume; outputs stay with the receivers.
    if (!isResumable(record.state))
      await store
        .clearInputs(record.spec.id)
        .catch((error: unknown) => deps.log.warn({ err: error }, 'could not clear job inputs'));
    for (const waiter of job.settled.splice(0)) waiter(record);
  };

  /** Applies `event` (CONFLICT when not allowed), persists it, and settles waiters when the job ends. */
  const apply = async (id: string, event: JobEvent, output?: JobOutputSummary): Promise<JobRecord> => {
    const record = await load(id);
    const state = applyJobEvent(record.spec, record.state, event, deps.clock.now());
    if (state === record.state) return record;
    await store.saveState(id, state, output);
    const next = { ...record, state, ...(output === undefined ? {} : { output }) };
    if (isTerminal(state.status)) await afterTerminal(next);
    return next;
  };
  /** `apply` under the job's lock; inside a `locked` section call `apply` itself (the lock is not re-entrant). */
  const transition = (id: string, event: JobEvent, output?: JobOutputSummary): Promise<JobRecord> =>
    locked(id, () => apply(id, event, output));

  /** Whether the job's protocol goes on without a host that drops out (protocol.ts `survivesDropouts`). */
  const survivesDropouts = (spec: Pick<JobSpec, 'protocol'>): boolean =>
    protocols.get(spec.protocol).survivesDropouts === true;

  const abortRun = (id: string, kind: AbortKind) => {
    const job = live.get(id);
    if (job?.run === null || job?.run === undefined) return;
    job.run.controller.abort(abortReason(kind));
    job.run = null;
  };

  const recordEntry = async (id: string, entry: TimelineEntry) => {
    try {
      await store.recordStep(id, entry);
    } catch (error) {
      if (!isClosing) deps.log.warn({ err: error, job: id }, 'could not record a timeline entry');
    }
  };

  /**
   * Records how this party's attempt ended (completed or failed) and reports it once to `onStepEnded`: a failed
   * attempt may be recorded both by the attempt and by the job's failure.
   */
  const recordEnd = async (record: Pick<JobRecord, 'spec'>, entry: TimelineEntry) => {
    const id = record.spec.id;
    await recordEntry(id, entry);
    const job = liveOf(id);
    if (isClosing || deps.onStepEnded === undefined || entry.attempt <= job.endedAttempt) return;
    job.endedAttempt = entry.attempt;
    const outcome = entry.status === 'completed' ? 'completed' : 'failed';
    try {
      deps.onStepEnded(record.spec.protocol, entry.step, outcome, Math.max(0, entry.durationMs ?? 0) / 1000);
    } catch (error) {
      // A metric is never worth a job: the attempt has ended whatever the listener does.
      deps.log.warn({ err: error, job: id }, 'onStepEnded threw');
    }
  };

  const failedEntry = (run: StepRun, code: string): TimelineEntry => {
    const p = run.progress();
    const endedAt = deps.clock.now().toISOString();
    return {
      step: run.step,
      party: self,
      attempt: run.attempt,
      status: 'failed',
      startedAt: run.startedAt,
      endedAt,
      durationMs: Date.parse(endedAt) - Date.parse(run.startedAt),
      bytesIn: p.bytesIn,
      bytesOut: p.bytesOut,
      rows: p.rows,
      rowsTotal: p.total,
      errorCode: code,
      detail: {},
    };
  };

  /**
   * Fails the job here (if it has not ended): stops the running attempt and records why. Returns false if it had
   * ended, or if the failure belongs to an `epoch` before the job's current one (a notice of a run that a resume has
   * since replaced). The check and the transition share one lock: a resume cannot slip in between them.
   */
  const failLocal = async (id: string, failure: JobFailure, epoch?: number): Promise<boolean> => {
    if (isClosing) return false;
    const job = liveOf(id);
    const running = job.run;
    let record: JobRecord;
    try {
      record = await locked(id, async () => {
        const current = await load(id);
        if (isTerminal(current.state.status) || (epoch !== undefined && epoch < current.state.epoch))
          throw abortReason('failed');
        abortRun(id, 'failed');
        return apply(id, { type: 'fail', failure });
      });
    } catch (error) {
      if (isGatewayError(error) && error.code === 'CONFLICT') return false;
      throw error;
    }
    if (running !== null) await recordEnd(record, failedEntry(running.run, failure.code));
    deps.log.warn(
      {
        job: id,
        code: failure.code,
        party: failure.party,
        peer: failure.peer,
        step: failure.step,
        traceId: parseTraceparent(record.traceparent)?.traceId,
      },
      'job failed',
    );
    await audit({
      spec: record.spec,
      action: 'job-fail',
      outcome: 'error',
      detail: {
        code: failure.code,
        party: failure.party,
        peer: failure.peer,
        step: failure.step,
      },
    });
    return true;
  };

  const cancelLocal = async (id: string, actor: string): Promise<boolean> => {
    if (isClosing) return false;
    try {
      abortRun(id, 'cancelled');
      const record = await transition(id, { type: 'cancel' });
      await audit({ spec: record.spec, action: 'job-cancel', outcome: 'ok', detail: { by: actor }, actor });
      return true;
    } catch (error) {
      if (isGatewayError(error) && error.code === 'CONFLICT') return false;
      throw error;
    }
  };

  /** One attempt at `step` of `record`'s job at this party, under `signal` and the attempt's deadline. */
  const startRun = ({
    record,
    step,
    attempt,
    signal,
    deadlineAt,
  }: {
    record: JobRecord;
    step: JobStepName;
    attempt: number;
    signal: AbortSignal;
    deadlineAt: number;
  }): StepRun =>
    createStepRun({
      deps: {
        connectors: deps.connectors,
        consent: deps.consent,
        store,
        subjectKey: deps.subjectKey,
        now: () => deps.clock.now(),
        purposeOf: (id) => findPurpose(deps.policies.bundle.purposes, id),
        attestation: deps.attestation,
        self,
        peer,
        deadlineAt,
        traceparent: record.traceparent,
      },
      protocol: protocols.get(record.spec.protocol),
      spec: record.spec,
      step,
      attempt,
      signal,
      isCoordinator: record.spec.coordinator === self,
    });

  const runningEntry = (run: StepRun): TimelineEntry => {
    const p = run.progress();
    return {
      step: run.step,
      party: self,
      attempt: run.attempt,
      status: 'running',
      startedAt: run.startedAt,
      endedAt: null,
      durationMs: null,
      bytesIn: p.bytesIn,
      bytesOut: p.bytesOut,
      rows: p.rows,
      rowsTotal: p.total,
      errorCode: null,
      detail: {},
    };
  };

  return {
    self,
    deps,
    store,
    peer,
    live,
    liveOf,
    locked,
    load,
    audit,
    apply,
    transition,
    abortRun,
    survivesDropouts,
    recordEntry,
    recordEnd,
    failLocal,
    cancelLocal,
    protocols,
    startRun,
    runningEntry,
    failedEntry,
    afterTerminal,
    get isClosing() {
      return isClosing;
    },
    /** The step the job is at, for failure records. */
    currentStep: (record: JobRecord): JobStepName | null => firstIncompleteStep(record.state),
    async close() {
      isClosing = true;
      for (const job of live.values()) {
        if (job.watchdog !== null) clearTimeout(job.watchdog);
        job.watchdog = null;
        job.run?.controller.abort(abortReason('closing'));
        job.run = null;
        job.stop.abort(abortReason('closing'));
        job.notices.abort(abortReason('closing'));
      }
      await protocols.close();
    },
  };
}
