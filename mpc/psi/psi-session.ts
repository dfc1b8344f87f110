// The contract shared by both PSI roles (DESIGN.md §6): options, result, the party interface, and the checks every
// incoming message passes before either role looks at its step.
import { GatewayError } from '../../core/errors.ts';
import { checkPayload, parsePsiHeader, type PsiHeader, type PsiMessage } from './psi-message.ts';
import { PsiProtocolError } from './psi-error.ts';
import type { RandomSource } from './shuffle.ts';
import type { X25519Pool } from './x25519-pool.ts';

export type PsiRole = 'initiator' | 'responder';
/** intersection: the initiator learns which of its rows match; cardinality: it learns only how many. */
export type PsiMode = 'intersection' | 'cardinality';
/** initiator: only the initiator learns the output; all: the responders learn it too (and so reveal it to them). */
export type PsiOutputTo = 'initiator' | 'all';

export type PsiPartyOptions = {
  jobId: string;
  role: PsiRole;
  mode: PsiMode;
  /** This party's id, as it appears in message headers. */
  self: string;
  /** An initiator's responders (one, or several for the star alignment of docs/psi.md); a responder's initiator. */
  peers: readonly string[];
  outputTo?: PsiOutputTo;
  pool: X25519Pool;
  /** Source of the blinding scalars and every shuffle: cryptographic by default. */
  random?: RandomSource;
  bucketRecords?: number;
  /** The largest set this party blinds or accepts from a peer (peak memory is about 150 to 250 bytes per row). */
  maxRows?: number;
};

export type PsiResolvedOptions = Required<PsiPartyOptions>;

/**
 * What the party learned. `rows` are this party's own row numbers (input order, from 0) in the intersection, in
 * the job's aligned order: a random order shared by every receiver, so aligned position k is the same subject at
 * every party. `rows` is null in cardinality mode; `count` is null at a responder that receives no output.
 * `peerSizes` is each peer's set size, which the protocol reveals in every mode.
 */
export type PsiResult = { count: number | null; rows: Uint32Array | null; peerSizes: Record<string, number> };

export type PsiParty = {
  readonly role: PsiRole;
  readonly self: string;
  readonly isDone: boolean;
  /** Blinds and shuffles this party's identifiers; resolves to the messages carrying them to the peer(s). */
  start(ids: AsyncIterable<string> | Iterable<string>): Promise<PsiMessage[]>;
  /**
   * Checks and absorbs one peer message; resolves to the messages to send in reply (often none). Buckets of one
   * step must be delivered in order, but a call need not wait for the previous one to resolve. The payload must
   * stay unchanged until the returned promise settles (it is read as workers become free, not copied up front).
   * Rejects with a PsiProtocolError; after one, the session is failed and every later message is refused.
   */
  receive(message: PsiMessage): Promise<PsiMessage[]>;
  /** The output once `isDone`; throws CONFLICT before. */
  result(): PsiResult;
};

export const DEFAULT_MAX_ROWS = 2 ** 25;

/**
 * The checks every incoming message passes before its step is looked at: header schema and version, job, sender,
 * recipient, payload shape. Returns the parsed header.
 */
export function checkIncoming(options: PsiResolvedOptions, message: PsiMessage): PsiHeader {
  if (typeof message !== 'object' || message === null)
    throw new PsiProtocolError('PSI_BAD_MESSAGE', 'PSI message is not an object', { reason: 'message' });
  const header = parsePsiHeader(message.header);
  const where = { step: header.step, bucket: header.bucket };
  if (header.jobId !== options.jobId)
    throw new PsiProtocolError('PSI_WRONG_JOB', 'PSI message belongs to another job', where);
  if (!options.peers.includes(header.party))
    throw new PsiProtocolError('PSI_WRONG_PARTY', 'PSI message is from a party that is not a peer of this session', {
      ...where,
      reason: 'sender',
    });
  if (header.to !== options.self)
    throw new PsiProtocolError('PSI_WRONG_PARTY', 'PSI message is addressed to another party', {
      ...where,
      reason: 'recipient',
    });
  checkPayload(header, message.payload);
  return header;
}

export type FailureLatch = ReturnType<typeof createFailureLatch>;

/** Wraps a session so that its first protocol failure is final: fail closed, never half-continue. */
export function createFailureLatch() {
  let failedWith: string | null = null;
  return {
    check(): void {
      if (failedWith !== null)
        throw new PsiProtocolError('PSI_UNEXPECTED_STEP', 'PSI session has already failed', {
          reason: 'session-failed',
          failedWith,
        });
    },
    /** Records the first failure and hands the error back for rethrowing. */
    record(error: unknown): unknown {
      failedWith ??= error instanceof GatewayError ? error.code : 'INTERNAL';
      return error;
    },
  };
}

/**
 * What `receive` checks in both roles before it looks at the step: the session has not failed, the message passes
 * checkIncoming, and the session has not finished. Returns the parsed header.
 */
export function checkReceivable(
  options: PsiResolvedOptions,
  latch: FailureLatch,
  message: PsiMessage,
  isFinished: boolean,
): PsiHeader {
  latch.check();
  const header = checkIncoming(options, message);
  if (isFinished)
    throw new PsiProtocolError('PSI_UNEXPECTED_STEP', 'PSI session is already finished', {
      step: header.step,
      bucket: header.bucket,
      reason: 'session-finished',
    });
  return header;
}

/** The output of a finished session; CONFLICT before. */
export function finishedResult(result: PsiResult | null): PsiResult {
  if (result === null) throw new GatewayError('CONFLICT', 'PSI session has not finished');
  return result;
}

/** Adds the step and bucket to a pool's small-order error, whose index is relative to the bucket. */
export function locate(error: unknown, header: PsiHeader): unknown {
  if (error instanceof PsiProtocolError && error.code === 'PSI_SMALL_ORDER_POINT') {
    return new PsiProtocolError(error.code, error.message, {
      step: header.step,
      bucket: header.bucket,
      index: error.detail.index,
    });
  }
  return error;
}

export function duplicateError(
  step: PsiHeader['step'],
  duplicate: { first: number; second: number },
): PsiProtocolError {
  return new PsiProtocolError('PSI_DUPLICATE_POINT', 'a PSI set from the peer repeats a point', {
    step,
    positions: [duplicate.first, duplicate.second],
  });
}
