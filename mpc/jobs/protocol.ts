// A job protocol (docs/jobs.md, "Adding a protocol"): one module declares its name, its parameters, its steps, the
// columns each party reads, what each party does in each step over the runtime's transport, and its output. The
// runner, the store, the routes and the job view take any registered protocol without an edit; PSI (mpc/psi/) is the
// first. The registry turns the protocols into the zod schemas that parse a request and a proposed job record.
import type { z } from 'zod';
import type { ConsentLog } from '../../consent/consent-log.ts';
import type { Purpose } from '../../consent/purpose.ts';
import type { Connectors } from '../../connectors/connectors.ts';
import { GatewayError } from '../../core/errors.ts';
import type { Attestation } from '../peers/attestation.ts';
import { JobRequest, JobSpec, type JobParty, type JobRequestLike, type JobStepName } from './job.ts';
import type { JobOutputSummary, JobStore, TimelineEntry } from './store.ts';

export type StepProgress = {
  rows: number;
  total: number | null;
  bytesIn: number;
  bytesOut: number;
  /** A few numbers a long step shows while it runs (a federated model's round metric): never a row or a party's own. */
  metrics?: Record<string, number>;
};

/** What the runtime gives one attempt at one step at this party. */
export type StepContext = {
  spec: JobSpec;
  /** This party's id. */
  self: string;
  step: JobStepName;
  attempt: number;
  /** Aborted when the attempt is over here: its deadline, a cancellation, a newer attempt, a failure elsewhere. */
  signal: AbortSignal;
  /** Absolute deadline of the attempt (ms since the epoch): every message is due by then. */
  deadlineAt: number;
  connectors: Connectors;
  consent: Pick<ConsentLog, 'uncoveredSubjects'>;
  store: JobStore;
  subjectKey: Uint8Array;
  now: () => Date;
  /** The job's purpose as this gateway's policy bundle declares it now (its k-threshold, say), or undefined. */
  purpose(): Purpose | undefined;
  /** Signs and checks statements parties vouch for inside the protocol (mpc/peers/attestation.ts). */
  attestation: Attestation;
  /**
   * Sends one frame of this attempt to `peer` over the signed peer protocol; resolves once the peer accepted it.
   * `auditStep` names the message in both parties' audit chains; `deadlineAt` (never past the attempt's) bounds a send
   * to a phase of the protocol. Throws PEER_UNAVAILABLE when the peer no longer
   * runs this attempt, or the peer's refusal as the protocol translates it (`JobProtocol.peerRefusal`).
   */
  send(
    peer: string,
    frame: Uint8Array,
    meta: { auditStep: string; isBlinded?: boolean; isEncrypted?: boolean; deadlineAt?: number },
  ): Promise<void>;
  /**
   * The coordinator's view of the hosts: each host's latest completed timeline entry of an earlier `step`, as its
   * reports brought them. Empty at a host.
   */
  hostReports(step: JobStepName): Promise<TimelineEntry[]>;
};

/** What a step returns once it is done here: its counters for the timeline and, when it has one, the output. */
export type StepResult = {
  rows: number;
  rowsTotal: number | null;
  bytesIn: number;
  bytesOut: number;
  /** Counts only: never a subject, key, value or point (the timeline is shared with every party). */
  detail: TimelineEntry['detail'];
  output?: JobOutputSummary;
};

/** One attempt at one step at this party, as the protocol runs it. */
export type ProtocolStep = {
  /** Live counters, for GET /v1/jobs/{id} while the step runs. */
  progress(): StepProgress;
  run(): Promise<StepResult>;
  /**
   * Absorbs one frame from the authenticated peer `sender` (a step that receives messages). Rejects for a bad
   * frame, which fails the step; a frame already absorbed is a duplicate (a retried request).
   */
  deliver?(sender: string, frame: Uint8Array): Promise<{ isDuplicate: boolean }>;
  /** True once the step has failed here: it absorbs nothing more. */
  readonly hasFailed?: boolean;
  /**
   * At the coordinator of a protocol that survives dropouts: `party` could not start this attempt, or failed in it
   * (`code`). The step stops waiting for it and goes on without it, if enough parties remain.
   */
  hostDropped?(party: string, code: string): void;
  /** At the coordinator of a protocol that survives dropouts: the hosts it went on without, once `run()` ended. */
  dropped?(): readonly { party: string; code: string }[];
};

/** What one party reads for a job: admission checks `[idColumn, ...columns]` of `view` against the purpose. */
export type PartyReads = { view: string; idColumn: string; columns: readonly string[] };

export type JobProtocol = {
  /** The `protocol` of a job record. */
  readonly name: string;
  /** The job's `params`; checked at submission and at every party's proposal. */
  readonly params: z.ZodType<Record<string, unknown>>;
  /** The steps, in order. */
  readonly steps: readonly [JobStepName, ...JobStepName[]];
  /**
   * Whether a step goes on when hosts drop out (secure aggregation): the coordinator then starts each attempt at the
   * hosts it can reach, and a host that fails or falls silent in the attempt is dropped from it rather than failing
   * the job; the step itself decides whether enough parties remain (its `hostDropped` and `dropped`). Such a protocol
   * has one step, so a dropped host is never asked to run a later one. The other protocols need every party.
   */
  readonly survivesDropouts?: boolean;
  /** Rules of this protocol on parties and receivers, beyond every job's (job.ts), given parsed params. */
  check?(job: JobRequestLike, ctx: z.RefinementCtx): void;
  /** What `party` reads. */
  reads(spec: JobSpec, party: JobParty): PartyReads;
  /** One attempt at `context.step` at this party. */
  startStep(context: StepContext): ProtocolStep;
  /** Whether a receiver's output has rows to page through (`GET /v1/jobs/{id}/output`), beside its summary. */
  hasOutputRows(output: JobOutputSummary): boolean;
  /** Counts or modes the job's submission audit entry records beside purpose and parties. */
  auditDetail?(spec: JobSpec): Record<string, string | number | boolean | null>;
  /**
   * A peer refused one of this protocol's frames with `code`: the error to fail the step with, or null to keep the
   * refusal as it came. Lets both ends of a bad frame fail with the same protocol code.
   */
  peerRefusal?(code: string, peer: string, self: string, cause: unknown): GatewayError | null;
  /** Releases what the protocol holds (worker threads); called once, when the runner closes. */
  close?(): Promise<void>;
};

export type ProtocolRegistry = {
  readonly names: readonly string[];
  /** Parses a steward's request: every job's rules and the named protocol's. */
  readonly request: z.ZodType<JobRequest, unknown>;
  /** Parses a proposed job record the same way. */
  readonly spec: z.ZodType<JobSpec, unknown>;
  /** The protocol of a stored or proposed job; BAD_INPUT when this gateway runs no such protocol. */
  get(name: string): JobProtocol;
  close(): Promise<void>;
};

export function createProtocolRegistry(protocols: readonly JobProtocol[]): ProtocolRegistry {
  const byName = new Map<string, JobProtocol>();
  for (const protocol of protocols) {
    if (byName.has(protocol.name)) throw new GatewayError('INTERNAL', `protocol ${protocol.name} is registered twice`);
    if (protocol.survivesDropouts === true && protocol.steps.length !== 1)
      throw new GatewayError('INTERNAL', `protocol ${protocol.name} survives dropouts, so it must have one step`);
    byName.set(protocol.name, protocol);
  }
  const names = [...byName.keys()];

  const checkProtocol = (job: JobRequestLike, ctx: z.RefinementCtx) => {
    const protocol = byName.get(job.protocol);
    if (protocol === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['protocol'],
        message: `unknown protocol: this gateway runs ${names.join(', ')}`,
      });
      return;
    }
    const params = protocol.params.safeParse(job.params);
    if (!params.success) {
      for (const issue of params.error.issues)
        ctx.addIssue({ code: 'custom', path: ['params', ...issue.path], message: issue.message });
      return;
    }
    protocol.check?.({ ...job, params: params.data }, ctx);
  };

  return {
    names,
    request: JobRequest.superRefine(checkProtocol),
    spec: JobSpec.superRefine(checkProtocol),
    get(name) {
      const protocol = byName.get(name);
      if (protocol === undefined)
        throw new GatewayError(
          'BAD_INPUT',
          `unknown protocol ${name.slice(0, 32)}: this gateway runs ${names.join(', ')}`,
        );
      return protocol;
    },
    async close() {
      await Promise.all(protocols.map((p) => p.close?.()));
    },
  };
}
