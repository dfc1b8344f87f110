// A multi-party job (DESIGN.md §6): the zod job record every party agrees to, and the pure state machine each party
// persists: proposed → accepted (by every party) → running step by step → completed | failed | cancelled.
// Transitions are validated here, without I/O, so the coordinator and every participant apply the same rules.
import { z } from 'zod';
import { ObjectName, SqlName } from '../../connectors/sql-name.ts';
import { PurposeId } from '../../consent/purpose.ts';
import { GatewayError } from '../../core/errors.ts';
import { PeerId } from '../peers/peer-signature.ts';

/**
 * A lower-case UUID, like consent record ids: fits every id rule it meets (URL path, audit ref, peer-client job id).
 */
export const JobId = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'expected a lower-case UUID');
export type JobId = z.infer<typeof JobId>;

/** guest: the label holder, initiator and coordinator (exactly one); host: every other party. */
export const JobRole = z.enum(['guest', 'host']);
export type JobRole = z.infer<typeof JobRole>;

/**
 * What one party contributes: a connector view, the identifier column aligned on (a shared identifier such as a
 * phone number or VIN, classified `identifier`: it never leaves the gateway, docs/jobs.md), and the declared
 * columns a later step may read (checked against the purpose at that party).
 */
export const JobParty = z.strictObject({
  id: PeerId,
  role: JobRole,
  view: ObjectName,
  idColumn: SqlName,
  columns: z.array(SqlName).max(256).default([]),
});
export type JobParty = z.infer<typeof JobParty>;

/**
 * A protocol's name and a step's name: lower-case words joined by hyphens. The protocol is registered with the runner
 * (protocol.ts); the steps are its own, in order.
 */
export const ProtocolName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'expected a protocol name (lower-case letters, digits, hyphens)');
export const JobStepName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'expected a step name (lower-case letters, digits, hyphens)');
export type JobStepName = z.infer<typeof JobStepName>;

/** The protocol's own parameters: an object each protocol checks with its own schema (protocol.ts). */
export const JobParams = z.record(z.string().max(64), z.unknown());

export const JobDeadlines = z.strictObject({
  /** Every proposal and resume round: how long a party may take to answer. */
  acceptMs: z.int().min(1_000).max(600_000).default(30_000),
  /**
   * Every step, all attempts included; also how long a participant waits for the coordinator's next word. An hour
   * by default: a million-row exchange takes minutes on a small machine.
   */
  stepMs: z.int().min(1_000).max(86_400_000).default(3_600_000),
});
export type JobDeadlines = z.infer<typeof JobDeadlines>;

const requestShape = {
  protocol: ProtocolName,
  purpose: PurposeId,
  parties: z.array(JobParty).min(2).max(16),
  params: JobParams,
  /** Who learns the output: parties of the job; each protocol says which sets it offers. */
  receivers: z.array(PeerId).min(1).max(16),
  deadlines: JobDeadlines.prefault({}),
};

/** The parts of a request every protocol's own rules may look at. */
export type JobRequestLike = {
  protocol: string;
  parties: JobParty[];
  receivers: string[];
  params: Record<string, unknown>;
};

/** The rules of every job, whatever its protocol; a protocol adds its own (protocol.ts). */
function checkJob(job: JobRequestLike, ctx: z.RefinementCtx): void {
  const ids = job.parties.map((p) => p.id);
  if (new Set(ids).size !== ids.length)
    ctx.addIssue({ code: 'custom', path: ['parties'], message: 'party ids must be unique' });
  const guests = job.parties.filter((p) => p.role === 'guest');
  if (guests.length !== 1)
    ctx.addIssue({ code: 'custom', path: ['parties'], message: 'exactly one party must be the guest' });
  if (new Set(job.receivers).size !== job.receivers.length)
    ctx.addIssue({ code: 'custom', path: ['receivers'], message: 'receivers must be unique' });
  job.receivers.forEach((r, i) => {
    if (!ids.includes(r))
      ctx.addIssue({ code: 'custom', path: ['receivers', i], message: 'a receiver must be a party of the job' });
  });
}

/** What a data steward submits (POST /v1/jobs); the coordinator adds id, coordinator and createdAt. */
export const JobRequest = z.strictObject(requestShape).superRefine(checkJob);
export type JobRequest = z.infer<typeof JobRequest>;
export type JobRequestInput = z.input<typeof JobRequest>;

/** The job record every party stores and checks: identical bytes at every party (sent whole in the proposal). */
export const JobSpec = z
  .strictObject({
    id: JobId,
    coordinator: PeerId,
    createdAt: z.iso.datetime({ offset: true }),
    ...requestShape,
  })
  .superRefine((spec, ctx) => {
    checkJob(spec, ctx);
    const guest = spec.parties.find((p) => p.role === 'guest');
    if (guest !== undefined && guest.id !== spec.coordinator)
      ctx.addIssue({ code: 'custom', path: ['coordinator'], message: 'the guest coordinates the job' });
  });
export type JobSpec = z.infer<typeof JobSpec>;

export const JobStatus = z.enum(['proposed', 'accepted', 'running', 'completed', 'failed', 'cancelled']);
export type JobStatus = z.infer<typeof JobStatus>;
export const StepStatus = z.enum(['pending', 'running', 'completed', 'failed']);
export type StepStatus = z.infer<typeof StepStatus>;

/** A stable code from the catalogue, where it was raised, and the silent or offending peer when there is one. */
export const JobFailure = z.strictObject({
  code: z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/),
  message: z.string().max(500),
  party: PeerId,
  peer: PeerId.nullable(),
  step: JobStepName.nullable(),
});
export type JobFailure = z.infer<typeof JobFailure>;

export const JobState = z.strictObject({
  status: JobStatus,
  acceptedBy: z.array(PeerId),
  steps: z.array(z.strictObject({ name: JobStepName, status: StepStatus, attempt: z.int().min(0) })),
  /** The highest attempt number started: attempts are numbered across the whole job, so a stale one is recognisable. */
  attempt: z.int().min(0),
  failure: JobFailure.nullable(),
  /**
   * How many times the job has resumed. Failure notices carry it, so a notice still on its way from before a
   * resume cannot fail the resumed run.
   */
  epoch: z.int().min(0).default(0),
  updatedAt: z.string(),
});
export type JobState = z.infer<typeof JobState>;

export type JobEvent =
  | { type: 'accept'; party: string }
  | { type: 'step-start'; step: JobStepName; attempt: number }
  | { type: 'step-complete'; step: JobStepName; attempt: number }
  /** One attempt failed transiently; the job goes on and the coordinator may start a higher attempt. */
  | { type: 'step-fail'; step: JobStepName; attempt: number }
  | { type: 'complete' }
  | { type: 'fail'; failure: JobFailure }
  | { type: 'cancel' }
  /**
   * Back to running from `fromStep` (default: the first step not completed), which and every later step start over;
   * allowed after a resumable failure or an interrupted run. The epoch grows by one, or becomes `epoch` (a
   * participant takes the coordinator's).
   */
  | { type: 'resume'; fromStep?: JobStepName; epoch?: number };

/** Failures of reachability, not of the data or the rules: resuming the job may succeed. */
export const RESUMABLE_CODES: ReadonlySet<string> = new Set([
  'PEER_TIMEOUT',
  'PEER_UNAVAILABLE',
  'PEER_OVERLOADED',
  'STORE_UNAVAILABLE',
]);

export const isTerminal = (status: JobStatus): boolean =>
  status === 'completed' || status === 'failed' || status === 'cancelled';

export function isResumable(state: JobState): boolean {
  if (state.status === 'running') return true;
  return state.status === 'failed' && state.failure !== null && RESUMABLE_CODES.has(state.failure.code);
}

export function guestOf(spec: Pick<JobSpec, 'parties'>): JobParty {
  const guest = spec.parties.find((p) => p.role === 'guest');
  if (guest === undefined) throw new GatewayError('INTERNAL', 'job has no guest');
  return guest;
}

export function partyOf(spec: Pick<JobSpec, 'parties'>, id: string): JobParty | undefined {
  return spec.parties.find((p) => p.id === id);
}

/** The state of a job just proposed: `steps` are its protocol's, in order. */
export function initialJobState(spec: JobSpec, steps: readonly JobStepName[], at: Date): JobState {
  return {
    status: 'proposed',
    acceptedBy: [spec.coordinator],
    steps: steps.map((name) => ({ name, status: 'pending' as const, attempt: 0 })),
    attempt: 0,
    failure: null,
    epoch: 0,
    updatedAt: at.toISOString(),
  };
}

/** The first step not completed, or null when all are. */
export function firstIncompleteStep(state: JobState): JobStepName | null {
  return state.steps.find((s) => s.status !== 'completed')?.name ?? null;
}

const refuse = (state: JobState, event: JobEvent, why: string) =>
  new GatewayError('CONFLICT', `job cannot ${event.type} while ${state.status}: ${why}`, {
    status: state.status,
    event: event.type,
  });

/**
 * The next state, or CONFLICT when `event` is not allowed now. Pure: the same spec, state and event give the same
 * answer at every party. Repeating an accept, a step-start of the running attempt or a step-complete of a completed
 * attempt returns the state unchanged, so retried peer calls are harmless.
 */
export function applyJobEvent(spec: JobSpec, state: JobState, event: JobEvent, at: Date): JobState {
  const next = (patch: Partial<JobState>): JobState => ({ ...state, ...patch, updatedAt: at.toISOString() });
  const stepIndex = (name: JobStepName) => state.steps.findIndex((s) => s.name === name);
  const withStep = (index: number, patch: Partial<JobState['steps'][number]>) =>
    state.steps.map((s, i) => (i === index ? { ...s, ...patch } : s));
  if (isTerminal(state.status) && !(event.type === 'resume' && isResumable(state)))
    throw refuse(state, event, 'the job has ended');

  switch (event.type) {
    case 'accept': {
      if (state.status !== 'proposed') {
        if (state.acceptedBy.includes(event.party)) return state;
        throw refuse(state, event, 'the proposal is settled');
      }
      if (partyOf(spec, event.party) === undefined) throw refuse(state, event, 'not a party of the job');
      if (state.acceptedBy.includes(event.party)) return state;
      const acceptedBy = [...state.acceptedBy, event.party];
      const isAll = spec.parties.every((p) => acceptedBy.includes(p.id));
      return next({ acceptedBy, status: isAll ? 'accepted' : 'proposed' });
    }
    case 'step-start': {
      if (state.status !== 'accepted' && state.status !== 'running')
        throw refuse(state, event, 'the job is not accepted by every party');
      const index = stepIndex(event.step);
      const step = state.steps[index];
      if (step === undefined) throw refuse(state, event, 'no such step');
      if (state.steps.slice(0, index).some((s) => s.status !== 'completed'))
        throw refuse(state, event, 'an earlier step is not completed');
      if (step.status === 'completed') throw refuse(state, event, 'the step is already completed');
      if (step.status === 'running' && step.attempt === event.attempt) return state;
      if (!Number.isInteger(event.attempt) || event.attempt <= step.attempt || event.attempt < state.attempt)
        throw refuse(state, event, 'attempt numbers only grow');
      return next({
        status: 'running',
        steps: withStep(index, { status: 'running', attempt: event.attempt }),
        attempt: event.attempt,
      });
    }
    case 'step-complete':
    case 'step-fail': {
      const index = stepIndex(event.step);
      const step = state.steps[index];
      if (state.status !== 'running' || step === undefined) throw refuse(state, event, 'no step is running');
      if (event.type === 'step-complete' && step.status === 'completed' && step.attempt === event.attempt) return state;
      if (step.status !== 'running' || step.attempt !== event.attempt)
        throw refuse(state, event, 'that attempt is not the running one');
      return next({ steps: withStep(index, { status: event.type === 'step-complete' ? 'completed' : 'failed' }) });
    }
    case 'complete': {
      if (state.status !== 'running' || state.steps.some((s) => s.status !== 'completed'))
        throw refuse(state, event, 'not every step is completed');
      return next({ status: 'completed' });
    }
    case 'fail':
      return next({ status: 'failed', failure: JobFailure.parse(event.failure) });
    case 'cancel':
      return next({ status: 'cancelled' });
    case 'resume': {
      if (!isResumable(state)) throw refuse(state, event, 'only a resumable failure or an interrupted run can resume');
      if (!spec.parties.every((p) => state.acceptedBy.includes(p.id)))
        throw refuse(state, event, 'the proposal was never accepted by every party');
      const from =
        event.fromStep === undefined
          ? state.steps.findIndex((s) => s.status !== 'completed')
          : stepIndex(event.fromStep);
      if (from < 0 && event.fromStep !== undefined) throw refuse(state, event, 'no such step');
      const epoch = event.epoch ?? state.epoch + 1;
      if (!Number.isInteger(epoch) || epoch < state.epoch) throw refuse(state, event, 'epochs only grow');
      return next({
        status: 'running',
        failure: null,
        epoch,
        steps: state.steps.map((s, i) => (from >= 0 && i >= from ? { ...s, status: 'pending' as const } : s)),
      });
    }
  }
}
