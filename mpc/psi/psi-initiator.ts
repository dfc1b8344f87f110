// The initiator ("A", the guest) of ECDH-PSI (DESIGN.md §6): sends X25519(α, u(a)) shuffled, raises each
// responder's set to α, and intersects it with its own set as re-blinded by that responder. With several
// responders it aligns pairwise and intersects at home (docs/psi.md, "three or more parties").
import { GatewayError } from '../../core/errors.ts';
import { blindIdentifiers, type BlindedSet } from './blinded-set.ts';
import { createPointTable } from './point-table.ts';
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
import { randomPermutation } from './shuffle.ts';
import { createStepAssembler, type StepAssembler } from './step-assembler.ts';
import { isAllZero } from './x25519.ts';

type Peer = {
  id: string;
  /** responder-blinded, raised to α here: X(α, X(β, u(b))) in the responder's sent order. */
  blinded: StepAssembler;
  theirPoints: Buffer | null;
  /** initiator-reblinded, X(β, X(α, u(a))), in our sent order (intersection) or shuffled (cardinality). */
  reblinded: StepAssembler | null;
  ourPoints: Buffer | null;
  pending: number;
  isMatched: boolean;
  /** For each of our sent positions, the matching position in the responder's sent order, or -1. */
  matchAt: Int32Array | null;
  count: number;
};

export function createInitiator(options: PsiResolvedOptions): PsiParty {
  const { jobId, self, mode, pool, random, bucketRecords, maxRows } = options;
  const alpha = Uint8Array.from(random(32).subarray(0, 32));
  const latch = createFailureLatch();
  const peers = new Map<string, Peer>(
    options.peers.map((id) => [
      id,
      {
        id,
        blinded: createStepAssembler({ maxTotal: maxRows, limitCode: 'PSI_SET_TOO_LARGE' }),
        theirPoints: null,
        reblinded: null,
        ourPoints: null,
        pending: 0,
        isMatched: false,
        matchAt: null,
        count: 0,
      },
    ]),
  );
  let own: Pick<BlindedSet, 'rowAt' | 'size'> | null = null;
  let isStarted = false;
  let result: PsiResult | null = null;

  const absorbTheirSet = async (peer: Peer, header: PsiHeader, payload: Uint8Array): Promise<PsiMessage[]> => {
    const offset = peer.blinded.accept(header);
    const target = (peer.theirPoints ??= Buffer.allocUnsafeSlow(header.total * 32));
    peer.pending++;
    try {
      await pool.multiply(alpha, payload, target.subarray(offset * 32, (offset + header.count) * 32));
    } catch (error) {
      throw locate(error, header);
    } finally {
      peer.pending--;
    }
    return afterBucket(peer);
  };

  const absorbReblinded = (peer: Peer, header: PsiHeader, payload: Uint8Array): PsiMessage[] => {
    if (peer.reblinded === null)
      throw new PsiProtocolError('PSI_UNEXPECTED_STEP', 'PSI re-blinded set arrived before this party sent its set', {
        step: header.step,
        bucket: header.bucket,
        reason: 'before-sent',
      });
    const offset = peer.reblinded.accept(header);
    for (let i = 0; i < header.count; i++) {
      if (isAllZero(payload.subarray(i * 32, i * 32 + 32)))
        throw new PsiProtocolError('PSI_SMALL_ORDER_POINT', 'a re-blinded point is all zeros', {
          step: header.step,
          bucket: header.bucket,
          index: i,
        });
    }
    peer.ourPoints ??= Buffer.allocUnsafeSlow(header.total * 32);
    peer.ourPoints.set(payload, offset * 32);
    return afterBucket(peer);
  };

  const afterBucket = (peer: Peer): PsiMessage[] => {
    latch.check();
    if (peer.isMatched || peer.pending > 0 || !peer.blinded.isComplete || peer.reblinded?.isComplete !== true)
      return [];
    match(peer);
    for (const p of peers.values()) if (!p.isMatched) return [];
    return finish();
  };

  const match = (peer: Peer): void => {
    peer.isMatched = true;
    const theirs = peer.theirPoints ?? Buffer.alloc(0);
    const ours = peer.ourPoints ?? Buffer.alloc(0);
    const table = createPointTable(theirs, random);
    if (table.duplicate !== null) throw duplicateError('responder-blinded', table.duplicate);
    const ourDuplicate = createPointTable(ours, random).duplicate;
    if (ourDuplicate !== null) throw duplicateError('initiator-reblinded', ourDuplicate);
    const found = table.lookup(ours);
    peer.theirPoints = null;
    if (mode === 'cardinality') {
      for (const at of found) if (at >= 0) peer.count++;
      peer.ourPoints = null;
    } else {
      peer.matchAt = found;
      if (options.outputTo === 'initiator') peer.ourPoints = null;
    }
  };

  const finish = (): PsiMessage[] => {
    const peerSizes = Object.fromEntries([...peers.values()].map((p) => [p.id, p.blinded.total ?? 0]));
    const messages: PsiMessage[] = [];
    if (mode === 'cardinality') {
      const [peer] = [...peers.values()] as [Peer];
      result = { count: peer.count, rows: null, peerSizes };
      if (options.outputTo === 'all') {
        const record = Buffer.alloc(4);
        record.writeUInt32LE(peer.count, 0);
        messages.push(
          ...bucketMessages({ jobId, step: 'cardinality', party: self, to: peer.id }, record, bucketRecords),
        );
      }
      return messages;
    }
    const size = own?.size ?? 0;
    const rowAt = own?.rowAt ?? new Uint32Array(0);
    const matched = new Uint32Array(size);
    let m = 0;
    for (let j = 0; j < size; j++) {
      let isEverywhere = true;
      for (const p of peers.values())
        if ((p.matchAt?.[j] ?? -1) < 0) {
          isEverywhere = false;
          break;
        }
      if (isEverywhere) matched[m++] = j;
    }
    // The aligned order is random: sorting by our row number would show the responders how our rows are ordered.
    const order = randomPermutation(m, random);
    const aligned = new Uint32Array(m);
    const rows = new Uint32Array(m);
    for (let k = 0; k < m; k++) {
      aligned[k] = matched[order[k] as number] as number;
      rows[k] = rowAt[aligned[k] as number] as number;
    }
    result = { count: m, rows, peerSizes };
    if (options.outputTo === 'all') {
      for (const p of peers.values()) {
        const records = Buffer.allocUnsafeSlow(m * 36);
        for (let k = 0; k < m; k++) {
          const j = aligned[k] as number;
          (p.ourPoints as Buffer).copy(records, k * 36, j * 32, j * 32 + 32);
          records.writeUInt32LE((p.matchAt as Int32Array)[j] as number, k * 36 + 32);
        }
        messages.push(...bucketMessages({ jobId, step: 'matches', party: self, to: p.id }, records, bucketRecords));
      }
    }
    for (const p of peers.values()) {
      p.ourPoints = null;
      p.matchAt = null;
    }
    return messages;
  };

  return {
    role: 'initiator',
    self,
    get isDone() {
      return result !== null;
    },
    async start(ids) {
      latch.check();
      if (isStarted) throw new GatewayError('CONFLICT', 'PSI party was already started');
      isStarted = true;
      let set: BlindedSet;
      try {
        set = await blindIdentifiers({ ids, jobId, scalar: alpha, pool, random, batchRecords: bucketRecords, maxRows });
      } catch (error) {
        throw latch.record(error);
      }
      own = { rowAt: set.rowAt, size: set.size };
      const messages: PsiMessage[] = [];
      for (const peer of peers.values()) {
        peer.reblinded = createStepAssembler({
          expectedTotal: set.size,
          maxTotal: maxRows,
          limitCode: 'PSI_COUNT_MISMATCH',
        });
        messages.push(
          ...bucketMessages({ jobId, step: 'initiator-blinded', party: self, to: peer.id }, set.points, bucketRecords),
        );
      }
      return messages;
    },
    async receive(message) {
      try {
        const header = checkReceivable(options, latch, message, result !== null);
        const peer = peers.get(header.party) as Peer;
        if (header.step === 'responder-blinded') return await absorbTheirSet(peer, header, message.payload);
        if (header.step === 'initiator-reblinded') return absorbReblinded(peer, header, message.payload);
        throw new PsiProtocolError('PSI_UNEXPECTED_STEP', 'an initiator does not receive this PSI step', {
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
