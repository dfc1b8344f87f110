// One party's run of one attempt at one job step (docs/jobs.md): the protocol does the work (protocol.ts); the
// runtime gives it the transport, the deadline and the stores, and measures rows, bytes and time the same way at
// every party for the timeline. Both the coordinator and the participants run steps through here.
import type { ConsentLog } from '../../consent/consent-log.ts';
import type { Purpose } from '../../consent/purpose.ts';
import type { Attestation } from '../peers/attestation.ts';
import type { Connectors } from '../../connectors/connectors.ts';
import { GatewayError, isGatewayError } from '../../core/errors.ts';
import type { JobSpec, JobStepName } from './job.ts';
import { messagePath, type JobPeer } from './job-peer.ts';
import type { JobProtocol, StepProgress } from './protocol.ts';
import type { JobOutputSummary, JobStore, TimelineEntry } from './store.ts';

export type { StepProgress } from './protocol.ts';

export type StepRun = {
  readonly step: JobStepName;
  readonly attempt: number;
  readonly startedAt: string;
  /** Live counters, for GET /v1/jobs/{id} while the step runs. */
  progress(): StepProgress;
  /** Where this attempt's incoming frames go; undefined for a step that receives none. */
  deliver: ((sender: string, frame: Uint8Array) => Promise<{ isDuplicate: boolean; isStale?: boolean }>) | undefined;
  /** True once the step has failed here: it takes no more frames. */
  readonly hasFailed: boolean;
  /** The coordinator of a protocol that survives dropouts tells the step of a host that dropped (protocol.ts). */
  hostDropped(party: string, code: string): void;
  /** The hosts the step went on without (protocol.ts); empty for a protocol that needs every party. */
  dropped(): readonly { party: string; code: string }[];
  /** Runs the step; resolves with this party's timeline entry and, when the step has one, what it learned. */
  run(): Promise<{ entry: TimelineEntry; output: JobOutputSummary | null }>;
};

export type StepDeps = {
  connectors: Connectors;
  consent: Pick<ConsentLog, 'uncoveredSubjects'>;
  store: JobStore;
  subjectKey: Uint8Array;
  now: () => Date;
  /** A purpose of the policy bundle in force, by id. */
  purposeOf: (id: string) => Purpose | undefined;
  attestation: Attestation;
  self: string;
  peer: JobPeer;
  /** Absolute deadline of this attempt (ms since the epoch): every message is due by then. */
  deadlineAt: number;
  traceparent: string;
};

/** The latest completed entry of `step` of each party but `self`, from the timeline the reports built. */
export function latestHostEntries(
  timeline: readonly TimelineEntry[],
  step: JobStepName,
  self: string,
): TimelineEntry[] {
  const latest = new Map<string, TimelineEntry>();
  for (const e of timeline) {
    if (e.step !== step || e.status !== 'completed' || e.party === self) continue;
    if ((latest.get(e.party)?.attempt ?? -1) < e.attempt) latest.set(e.party, e);
  }
  return [...latest.values()];
}

export type StepRunOptions = {
  deps: StepDeps;
  protocol: JobProtocol;
  spec: JobSpec;
  step: JobStepName;
  attempt: number;
  signal: AbortSignal;
  /** The coordinator reads its hosts' reports of earlier steps; a host has none. */
  isCoordinator: boolean;
};

export function createStepRun({ deps, protocol, spec, step, attempt, signal, isCoordinator }: StepRunOptions): StepRun {
  const startedAt = deps.now().toISOString();
  const work = protocol.startStep({
    spec,
    self: deps.self,
    step,
    attempt,
    signal,
    deadlineAt: deps.deadlineAt,
    connectors: deps.connectors,
    consent: deps.consent,
    store: deps.store,
    subjectKey: deps.subjectKey,
    now: deps.now,
    purpose: () => deps.purposeOf(spec.purpose),
    attestation: deps.attestation,
    hostReports: async (earlier) =>
      isCoordinator ? latestHostEntries(await deps.store.timeline(spec.id), earlier, deps.self) : [],
    send: async (peer, frame, meta) => {
      let answer: unknown;
      try {
        answer = await deps.peer.call(peer, messagePath(spec.id, attempt), frame, {
          jobId: spec.id,
          step: meta.auditStep,
          traceparent: deps.traceparent,
          deadlineAt: Math.min(deps.deadlineAt, meta.deadlineAt ?? deps.deadlineAt),
          isBlinded: meta.isBlinded ?? false,
          isEncrypted: meta.isEncrypted ?? false,
        });
      } catch (error) {
        const code = isGatewayError(error) && error.code === 'PEER_REJECTED' ? error.detail.peerCode : undefined;
        throw (typeof code === 'string' ? protocol.peerRefusal?.(code, peer, deps.self, error) : null) ?? error;
      }
      // The peer is not running this attempt (a newer one started, or it restarted): this attempt is over here too.
      if ((answer as { isStale?: unknown } | null)?.isStale === true) {
        throw new GatewayError('PEER_UNAVAILABLE', `party ${peer} is no longer running attempt ${attempt}`, {
          peer,
          reason: 'stale-attempt',
        });
      }
    },
  });

  // A frame a step holds (one that arrived ahead of its turn) is answered when the attempt ends, however it ends: no
  // peer request stays open past the attempt. The sender hears that the attempt is over (isStale).
  let isEnded = false;
  let end: () => void = () => undefined;
  const ended = new Promise<{ isDuplicate: boolean; isStale: boolean }>((resolve) => {
    end = () => {
      isEnded = true;
      resolve({ isDuplicate: false, isStale: true });
    };
  });
  if (signal.aborted) end();
  else signal.addEventListener('abort', () => end(), { once: true });
  const deliverTo = work.deliver?.bind(work);

  return {
    step,
    attempt,
    startedAt,
    progress: () => work.progress(),
    deliver:
      deliverTo === undefined
        ? undefined
        : async (sender, frame) => (isEnded ? ended : Promise.race([deliverTo(sender, frame), ended])),
    get hasFailed() {
      return work.hasFailed ?? false;
    },
    hostDropped: (party, code) => work.hostDropped?.(party, code),
    dropped: () => work.dropped?.() ?? [],
    async run() {
      const result = await work.run().finally(end);
      const endedAt = deps.now().toISOString();
      const entry: TimelineEntry = {
        step,
        party: deps.self,
        attempt,
        status: 'completed',
        startedAt,
        endedAt,
        durationMs: Date.parse(endedAt) - Date.parse(startedAt),
        bytesIn: result.bytesIn,
        bytesOut: result.bytesOut,
        rows: result.rows,
        // A total estimated at the start (PSI's host guesses the guest's set size) may fall short; a finished step's
        // entry never shows more rows than its total.
        rowsTotal: result.rowsTotal === null ? null : Math.max(result.rowsTotal, result.rows),
        errorCode: null,
        detail: result.detail,
      };
      return { entry, output: result.output ?? null };
    },
  };
}
