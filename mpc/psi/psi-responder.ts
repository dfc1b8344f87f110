// The responder ("B", a host) of ECDH-PSI (DESIGN.md §6): sends X25519(β, u(b)) shuffled, and returns the
// initiator's points raised to β, in the order received (intersection) or shuffled again (cardinality). As a named
// receiver it checks the initiator's claimed matches before mapping them to its own rows.
import { GatewayError } from '../../core/errors.ts';
import { blindIdentifiers } from './blinded-set.ts';
import { createPointTable, type PointTable } from './point-table.ts';
import { PsiProtocolError } from './psi-error.ts';
import { bucketMessages, type PsiHeader, type PsiMessage } from './psi-message.ts';
import {
  checkReceivable,
  createFailureLatch,
  duplicateError,
  finishedResult,
  locate,
  type PsiParty,
  type PsiResolvedOptions,
  type PsiResult,
} from './psi-session.ts';
import { permuteRecords, randomPermutation } from './shuffle.ts';
import { createStepAssembler, type StepAssembler } from './step-assembler.ts';

export function createResponder(options: PsiResolvedOptions): PsiParty {
  const { jobId, self, mode, pool, random, bucketRecords, maxRows } = options;
  const initiator = options.peers[0] as string;
  const isReceiver = options.outputTo === 'all';
  const outputStep = mode === 'intersection' ? 'matches' : 'cardinality';
  const beta = Uint8Array.from(random(32).subarray(0, 32));
  const latch = createFailureLatch();
  const incoming = createStepAssembler({ maxTotal: maxRows, limitCode: 'PSI_SET_TOO_LARGE' });
  let reblinded: Buffer | null = null;
  let pending = 0;
  let isReplied = false;
  /** Over what we returned, kept only to check claimed matches: each must be a point the initiator really sent. */
  let returned: PointTable | null = null;
  let own: { rowAt: Uint32Array; size: number } | null = null;
  let isStarted = false;
  let output: StepAssembler | null = null;
  let alignedRows: Uint32Array | null = null;
  let seenPosition: Uint8Array | null = null;
  let seenMatch: Uint8Array | null = null;
  let result: PsiResult | null = null;

  const peerSizes = () => ({ [initiator]: incoming.total ?? 0 });
  const settleIfSilent = () => {
    if (!isReceiver && own !== null && isReplied) result = { count: null, rows: null, peerSizes: peerSizes() };
  };

  const absorbTheirSet = async (header: PsiHeader, payload: Uint8Array): Promise<PsiMessage[]> => {
    const offset = incoming.accept(header);
    const target = (reblinded ??= Buffer.allocUnsafeSlow(header.total * 32));
    pending++;
    try {
      await pool.multiply(beta, payload, target.subarray(offset * 32, (offset + header.count) * 32));
    } catch (error) {
      throw locate(error, header);
    } finally {
      pending--;
    }
    latch.check();
    if (isReplied || pending > 0 || !incoming.isComplete) return [];
    isReplied = true;
    const table = createPointTable(target, random);
    if (table.duplicate !== null) throw duplicateError('initiator-blinded', table.duplicate);
    // Cardinality: a fresh shuffle cuts the link between what the initiator sent and what comes back.
    const reply =
      mode === 'intersection' ? target : permuteRecords(target, randomPermutation(target.length / 32, random), 32);
    if (isReceiver && mode === 'intersection') returned = table;
    reblinded = null;
    settleIfSilent();
    return bucketMessages({ jobId, step: 'initiator-reblinded', party: self, to: initiator }, reply, bucketRecords);
  };

  const absorbOutput = (header: PsiHeader, payload: Uint8Array): PsiMessage[] => {
    const where = { step: header.step, bucket: header.bucket };
    if (!isReceiver || header.step !== outputStep)
      throw new PsiProtocolError('PSI_UNEXPECTED_STEP', 'this responder does not receive this PSI step', {
        ...where,
        reason: 'not-for-role',
      });
    if (own === null || !isReplied)
      throw new PsiProtocolError('PSI_UNEXPECTED_STEP', 'PSI output arrived before this party sent its sets', {
        ...where,
        reason: 'before-sent',
      });
    const mine = own;
    const largest = Math.min(mine.size, incoming.total ?? 0);
    if (mode === 'cardinality') {
      (output ??= createStepAssembler({ expectedTotal: 1, maxTotal: 1, limitCode: 'PSI_COUNT_MISMATCH' })).accept(
        header,
      );
      const count = Buffer.from(payload.buffer, payload.byteOffset, 4).readUInt32LE(0);
      if (count > largest)
        throw new PsiProtocolError('PSI_COUNT_MISMATCH', 'claimed PSI cardinality exceeds a set size', {
          ...where,
          count,
          limit: largest,
        });
      result = { count, rows: null, peerSizes: peerSizes() };
      return [];
    }
    output ??= createStepAssembler({ maxTotal: largest, limitCode: 'PSI_COUNT_MISMATCH' });
    const offset = output.accept(header);
    const total = output.total as number;
    alignedRows ??= new Uint32Array(total);
    seenPosition ??= new Uint8Array(mine.size);
    seenMatch ??= new Uint8Array(returned?.size ?? 0);
    const records = Buffer.from(payload.buffer, payload.byteOffset, payload.length);
    const claimed = Buffer.allocUnsafe(header.count * 32);
    for (let i = 0; i < header.count; i++) records.copy(claimed, i * 32, i * 36, i * 36 + 32);
    const found = (returned as PointTable).lookup(claimed);
    for (let i = 0; i < header.count; i++) {
      const position = records.readUInt32LE(i * 36 + 32);
      const at = found[i] as number;
      if (position >= mine.size)
        throw new PsiProtocolError('PSI_BAD_MESSAGE', "PSI match names a position outside this party's set", {
          ...where,
          reason: 'position-out-of-range',
          index: i,
        });
      if (at < 0)
        throw new PsiProtocolError('PSI_BAD_MESSAGE', 'PSI match is not a point this party re-blinded', {
          ...where,
          reason: 'unknown-match',
          index: i,
        });
      if (seenPosition[position] === 1 || seenMatch[at] === 1)
        throw new PsiProtocolError('PSI_DUPLICATE_POINT', 'PSI matches repeat a point or a position', {
          ...where,
          index: i,
        });
      seenPosition[position] = 1;
      seenMatch[at] = 1;
      alignedRows[offset + i] = mine.rowAt[position] as number;
    }
    if (output.isComplete) {
      result = { count: total, rows: alignedRows, peerSizes: peerSizes() };
      returned = null;
      seenPosition = null;
      seenMatch = null;
    }
    return [];
  };

  return {
    role: 'responder',
    self,
    get isDone() {
      return result !== null;
    },
    async start(ids) {
      latch.check();
      if (isStarted) throw new GatewayError('CONFLICT', 'PSI party was already started');
      isStarted = true;
      try {
        const set = await blindIdentifiers({
          ids,
          jobId,
          scalar: beta,
          pool,
          random,
          batchRecords: bucketRecords,
          maxRows,
        });
        own = { rowAt: set.rowAt, size: set.size };
        settleIfSilent();
        return bucketMessages(
          { jobId, step: 'responder-blinded', party: self, to: initiator },
          set.points,
          bucketRecords,
        );
      } catch (error) {
        throw latch.record(error);
      }
    },
    async receive(message) {
      try {
        const header = checkReceivable(options, latch, message, result !== null);
        if (header.step === 'initiator-blinded') return await absorbTheirSet(header, message.payload);
        if (header.step === 'matches' || header.step === 'cardinality') return absorbOutput(header, message.payload);
        throw new PsiProtocolError('PSI_UNEXPECTED_STEP', 'a responder does not receive this PSI step', {
          step: header.step,
          bucket: header.bucket,
          reason: 'not-for-role',
        });
      } catch (error) {
        throw latch.record(error);
      }
    },
    result: () => finishedResult(result),
  };
}
