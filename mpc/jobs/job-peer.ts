// The job protocol between gateways (docs/jobs.md) over the signed peer client (docs/peer-protocol.md): the zod
// bodies of every /peer/v1/jobs call, and calls with a deadline that retry transient failures until it, then name
// the silent peer with PEER_TIMEOUT.
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { JobFailure, JobId, JobSpec, JobStepName } from './job.ts';
import { GatewayError, isGatewayError } from '../../core/errors.ts';
import { JobOutputSummary, TimelineEntry } from './store.ts';
import type { PeerClient } from '../peers/peer-client.ts';

/**
 * Every job call names its job (and step, attempt) in the body or, for binary protocol frames, the query string: peer
 * paths carry no parameters, so a malformed one is refused by the signature check like any unsigned call.
 */
export const JOB_PEER_PATHS = {
  propose: '/peer/v1/jobs',
  start: '/peer/v1/jobs/start',
  report: '/peer/v1/jobs/report',
  messages: '/peer/v1/jobs/messages',
  fail: '/peer/v1/jobs/fail',
  cancel: '/peer/v1/jobs/cancel',
  complete: '/peer/v1/jobs/complete',
  resume: '/peer/v1/jobs/resume',
} as const;

/** The path of one protocol frame (a PSI bucket, say) of attempt `attempt` of job `job`. */
export const messagePath = (job: string, attempt: number) =>
  `${JOB_PEER_PATHS.messages}?job=${encodeURIComponent(job)}&attempt=${attempt}`;

export const ProposalBody = z.strictObject({ spec: JobSpec });
export const ProposalAnswer = z.object({
  decision: z.enum(['accepted', 'declined']),
  code: z.string().max(64).optional(),
  message: z.string().max(500).optional(),
});
export type ProposalAnswer = z.infer<typeof ProposalAnswer>;

export const StartBody = z.strictObject({ job: JobId, step: JobStepName, attempt: z.int().min(1) });
export const ReportBody = z.strictObject({
  job: JobId,
  step: JobStepName,
  attempt: z.int().min(1),
  outcome: z.enum(['completed', 'failed']),
  entry: TimelineEntry,
  output: JobOutputSummary.nullable(),
  failure: JobFailure.nullable(),
  /** A failure of reachability during this attempt: the coordinator may try the step again. */
  isTransient: z.boolean(),
});
export type ReportBody = z.infer<typeof ReportBody>;
export const FailBody = z.strictObject({ job: JobId, failure: JobFailure, epoch: z.int().min(0) });
export const CancelBody = z.strictObject({ job: JobId, reason: z.string().max(256).optional() });
export const CompleteBody = z.strictObject({ job: JobId, count: z.int().min(0).nullable() });
export const ResumeBody = z.strictObject({ job: JobId, fromStep: JobStepName, epoch: z.int().min(0) });
export const MessageQuery = z.strictObject({ job: JobId, attempt: z.coerce.number().int().min(1).max(1_000_000) });
export const PeerAck = z.object({
  ok: z.boolean(),
  isDuplicate: z.boolean().optional(),
  isStale: z.boolean().optional(),
});

/**
 * A peer's answer, checked with `schema`. A malformed one is the peer's fault, not this party's: PEER_BAD_RESPONSE
 * naming the peer, final (a peer that answers garbage once will not be asked again in this attempt).
 */
export function parsePeerAnswer<T>(schema: z.ZodType<T>, answer: unknown, peer: string): T {
  const parsed = schema.safeParse(answer);
  if (parsed.success) return parsed.data;
  const where = parsed.error.issues[0]?.path.join('.') ?? '';
  throw new GatewayError('PEER_BAD_RESPONSE', `party ${peer} sent a malformed answer (${where || 'body'})`, {
    peer,
    isFinal: true,
  });
}

/** Codes that mean "could not reach or be heard by the peer": retried until the deadline. */
const TRANSIENT = new Set(['PEER_UNAVAILABLE', 'PEER_OVERLOADED', 'PEER_TIMEOUT']);
export const isTransientError = (error: unknown): boolean =>
  isGatewayError(error) && TRANSIENT.has(error.code) && error.detail.isFinal !== true;

export type JobCallOptions = {
  jobId: string;
  step: string;
  traceparent: string;
  /** Absolute time (ms since epoch, performance-independent) by which the call must have been answered. */
  deadlineAt: number;
  isBlinded?: boolean;
  isEncrypted?: boolean;
  /** Extra attempts inside one peer-client call. */
  retries?: number;
  /** Stops repeating (callUntil): a notice that no longer applies is dropped. */
  signal?: AbortSignal;
};

export type JobPeer = {
  /** One signed call with what is left of the deadline. Throws what the peer client throws. */
  call(peer: string, path: string, body: unknown, options: JobCallOptions): Promise<unknown>;
  /** Repeats transient failures (backing off) until the deadline; then PEER_TIMEOUT naming `peer`. */
  callUntil(peer: string, path: string, body: unknown, options: JobCallOptions): Promise<unknown>;
};

const MAX_CALL_MS = 600_000;

/** The final word on a silent peer: the job fails with this, and it is not retried again. */
export function peerTimeout(peer: string, step: string | null, cause?: unknown): GatewayError {
  return new GatewayError(
    'PEER_TIMEOUT',
    `party ${peer} did not answer within the deadline`,
    { peer, step, isFinal: true },
    cause === undefined ? undefined : { cause },
  );
}

export function createJobPeer(peers: { client: PeerClient }, now: () => number = Date.now): JobPeer {
  const call: JobPeer['call'] = async (peer, path, body, options) => {
    const remaining = Math.min(MAX_CALL_MS, Math.floor(options.deadlineAt - now()));
    if (remaining < 1) throw peerTimeout(peer, options.step);
    // Read the client at call time: an operator (or a test) may swap the peer services' client.
    const answer = await peers.client.request({
      peerId: peer,
      method: 'POST',
      path,
      body,
      options: {
        deadlineMs: remaining,
        traceparent: options.traceparent,
        jobId: options.jobId,
        step: options.step,
        isBlinded: options.isBlinded ?? false,
        isEncrypted: options.isEncrypted ?? false,
        ...(options.retries === undefined ? {} : { retries: options.retries }),
      },
    });
    return answer.body;
  };

  return {
    call,
    async callUntil(peer, path, body, options) {
      for (let attempt = 0; ; attempt++) {
        try {
          return await call(peer, path, body, options);
        } catch (error) {
          if (!isTransientError(error)) throw error;
          const left = options.deadlineAt - now();
          if (left <= 0) throw peerTimeout(peer, options.step, error);
          await sleep(
            Math.min(left, 200 * 2 ** Math.min(attempt, 4)),
            undefined,
            options.signal === undefined ? {} : { signal: options.signal },
          );
        }
      }
    },
  };
}
