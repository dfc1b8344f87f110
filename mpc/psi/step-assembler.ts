// Tracks the buckets of one incoming PSI step from one peer: buckets arrive once and in order, every bucket
// repeats the same total, counts add up to it exactly, and a finished step accepts nothing more.
import { MAX_BUCKET_RECORDS, type PsiHeader } from './psi-message.ts';
import { PsiProtocolError, type PsiErrorCode } from './psi-error.ts';

export type StepAssembler = {
  readonly total: number | null;
  readonly received: number;
  readonly isComplete: boolean;
  /** Checks the bucket against the step so far and returns the record offset where it belongs. */
  accept(header: PsiHeader): number;
};

export type StepLimits = {
  /** The total must equal this (e.g. the re-blinded set has exactly as many points as were sent). */
  expectedTotal?: number;
  /** The total may not exceed this; `limitCode` says whether that is a resource limit or a protocol lie. */
  maxTotal: number;
  limitCode: Extract<PsiErrorCode, 'PSI_SET_TOO_LARGE' | 'PSI_COUNT_MISMATCH'>;
};

export function createStepAssembler(limits: StepLimits): StepAssembler {
  let total: number | null = null;
  let received = 0;
  let nextBucket = 0;
  return {
    get total() {
      return total;
    },
    get received() {
      return received;
    },
    get isComplete() {
      return total !== null && received === total;
    },
    accept(header) {
      const where = { step: header.step, bucket: header.bucket };
      if (total !== null && received === total)
        throw new PsiProtocolError('PSI_UNEXPECTED_STEP', 'PSI step is already complete', {
          ...where,
          reason: 'step-finished',
        });
      if (header.bucket !== nextBucket)
        throw new PsiProtocolError('PSI_UNEXPECTED_STEP', 'PSI bucket is out of order or repeated', {
          ...where,
          reason: 'bucket-order',
          expected: nextBucket,
        });
      if (header.count > MAX_BUCKET_RECORDS)
        throw new PsiProtocolError('PSI_SET_TOO_LARGE', 'PSI bucket is larger than allowed', {
          ...where,
          limit: MAX_BUCKET_RECORDS,
        });
      if (total === null) {
        if (header.total > limits.maxTotal) {
          throw new PsiProtocolError(limits.limitCode, 'PSI step announces more records than allowed', {
            ...where,
            total: header.total,
            limit: limits.maxTotal,
          });
        }
        if (limits.expectedTotal !== undefined && header.total !== limits.expectedTotal) {
          throw new PsiProtocolError('PSI_COUNT_MISMATCH', 'PSI step total differs from the expected size', {
            ...where,
            total: header.total,
            expected: limits.expectedTotal,
          });
        }
      } else if (header.total !== total) {
        throw new PsiProtocolError('PSI_COUNT_MISMATCH', 'PSI bucket changes the step total', {
          ...where,
          total: header.total,
          expected: total,
        });
      }
      // An empty bucket in a non-empty step would let a peer stall the step forever without sending anything.
      if (header.count === 0 && header.total !== 0)
        throw new PsiProtocolError('PSI_COUNT_MISMATCH', 'PSI bucket is empty', where);
      if (received + header.count > header.total)
        throw new PsiProtocolError('PSI_COUNT_MISMATCH', 'PSI buckets overrun the step total', {
          ...where,
          total: header.total,
          received: received + header.count,
        });
      total = header.total;
      const offset = received;
      received += header.count;
      nextBucket++;
      return offset;
    },
  };
}
