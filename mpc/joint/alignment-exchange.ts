// The parties agree on the aligned rows a joint job keeps (docs/joint-modeling.md, "Alignment"). Every host sends the
// guest the positions it drops; the guest sends every host the union, its own included. Each party then keeps the
// same positions, in the same order. What crosses the wire is positions in the PSI job's shared order and the row
// count: a receiver learns that the customers at those positions were dropped somewhere, never why or by whom (the
// guest learns which host dropped which).
import { z } from 'zod';
import { GatewayError } from '../../core/errors.ts';
import { sendMessage, type Mailbox } from '../jobs/framed-messages.ts';
import { guestOf } from '../jobs/job.ts';
import type { StepContext } from '../jobs/protocol.ts';
import type { LocalAlignment } from './aligned-rows.ts';

export const ALIGNMENT_KINDS = { dropped: 'align-dropped', agreed: 'align-agreed' } as const;

const Meta = z.strictObject({ rows: z.int().min(0) });

/** Mailbox rule for the two alignment messages: hosts send their drops to the guest, the guest the union back. */
export function acceptsAlignment(context: Pick<StepContext, 'spec' | 'self'>, kind: string, sender: string): boolean {
  const guest = guestOf(context.spec).id;
  if (kind === ALIGNMENT_KINDS.dropped) return context.self === guest && sender !== guest;
  if (kind === ALIGNMENT_KINDS.agreed) return context.self !== guest && sender === guest;
  return false;
}

const encode = (positions: readonly number[]) => {
  const out = new Uint8Array(positions.length * 4);
  const view = new DataView(out.buffer);
  positions.forEach((p, i) => view.setUint32(i * 4, p, true));
  return out;
};

function decode(message: { meta: unknown; blobs: Uint8Array[] }, rows: number): number[] {
  const bad = (reason: string) =>
    new GatewayError('JOB_BAD_MESSAGE', `alignment message refused: ${reason}`, { reason });
  const meta = Meta.safeParse(message.meta);
  if (!meta.success || message.blobs.length !== 1) throw bad('malformed alignment message');
  if (meta.data.rows !== rows)
    throw new GatewayError('JOB_ALIGNMENT_UNAVAILABLE', 'the parties hold different numbers of aligned rows', {
      reason: 'row counts differ',
      rows,
      peerRows: meta.data.rows,
    });
  const bytes = message.blobs[0] as Uint8Array;
  if (bytes.length % 4 !== 0 || bytes.length / 4 > rows) throw bad('positions are not whole 32-bit numbers');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const positions: number[] = [];
  for (let i = 0; i < bytes.length / 4; i++) {
    const p = view.getUint32(i * 4, true);
    if (p >= rows || (i > 0 && p <= (positions[i - 1] as number))) throw bad('positions not ascending within range');
    positions.push(p);
  }
  return positions;
}

export type AgreedRows = {
  /** Aligned positions every party keeps, ascending. */
  kept: Uint32Array;
  /** Positions dropped by the other parties only. */
  droppedElsewhere: number;
  bytesOut: number;
};

export async function agreeOnRows(
  context: StepContext,
  mailbox: Mailbox,
  local: LocalAlignment,
  auditPrefix: string,
): Promise<AgreedRows> {
  const guest = guestOf(context.spec).id;
  const hosts = context.spec.parties.map((p) => p.id).filter((id) => id !== guest);
  let union: number[];
  let bytesOut = 0;
  if (context.self === guest) {
    const all = new Set(local.dropped);
    for (const host of hosts) {
      const message = await mailbox.take(host, ALIGNMENT_KINDS.dropped, 0);
      for (const p of decode(message, local.rows)) all.add(p);
    }
    union = [...all].sort((a, b) => a - b);
    const blobs = [encode(union)];
    for (const host of hosts)
      bytesOut += await sendMessage(
        context,
        host,
        { kind: ALIGNMENT_KINDS.agreed, seq: 0, meta: { rows: local.rows }, blobs },
        { auditStep: `${auditPrefix}.${ALIGNMENT_KINDS.agreed}` },
      );
  } else {
    bytesOut += await sendMessage(
      context,
      guest,
      { kind: ALIGNMENT_KINDS.dropped, seq: 0, meta: { rows: local.rows }, blobs: [encode(local.dropped)] },
      { auditStep: `${auditPrefix}.${ALIGNMENT_KINDS.dropped}` },
    );
    union = decode(await mailbox.take(guest, ALIGNMENT_KINDS.agreed, 0), local.rows);
    const own = new Set(union);
    if (!local.dropped.every((p) => own.has(p)))
      throw new GatewayError('JOB_BAD_MESSAGE', 'the agreed rows keep a customer this party dropped', {
        reason: 'agreed rows omit a drop',
      });
  }
  const droppedSet = new Set(union);
  const kept = new Uint32Array(local.rows - union.length);
  let k = 0;
  for (let i = 0; i < local.rows; i++) if (!droppedSet.has(i)) kept[k++] = i;
  return { kept, droppedElsewhere: union.length - new Set(local.dropped).size, bytesOut };
}

/** The values of `column` at the kept positions. */
export function keptValues<T>(values: readonly T[], kept: Uint32Array): T[] {
  return Array.from(kept, (p) => values[p] as T);
}
