// Messages between any two parties of a vertical model. Gateways talk only to the guest (the coordinator), so a
// message between two hosts goes through the guest: the sender hands it over as `relay-<kind>` naming the receiver,
// and the guest forwards it as `<kind>` naming the sender. What a host sends another host is a ciphertext under one
// of the two hosts' keys or a sum masked by the receiver, so the guest learns nothing from carrying it.
//
// Sequence numbers: round · 32 + the index (in the job's parties) of the other end, so one kind can carry one message
// per round from every party.
import { sendMessage, type FramedMessage, type Mailbox } from '../jobs/framed-messages.ts';
import { guestOf } from '../jobs/job.ts';
import type { StepContext } from '../jobs/protocol.ts';

export const MAX_PARTIES = 32;
export const VFL_KINDS = ['key', 'vector', 'products', 'sums', 'scores', 'norms', 'decision'] as const;
export type VflKind = (typeof VFL_KINDS)[number];
/** Kinds a host may send another host (through the guest). */
const RELAYED: ReadonlySet<string> = new Set(['key', 'vector', 'products', 'sums', 'scores']);

export type VflTransport = {
  send(
    to: string,
    kind: VflKind,
    round: number,
    message: { meta?: unknown; blobs: readonly Uint8Array[] },
  ): Promise<void>;
  take(from: string, kind: VflKind, round: number): Promise<FramedMessage>;
  /** At the guest: forwards host `from`'s `kind` message of `round` to host `to`. */
  relay(from: string, to: string, kind: VflKind, round: number): Promise<void>;
  /** Fails every wait of the attempt with `error` (a forward that could not be delivered). */
  abort(error: unknown): void;
  readonly bytesOut: number;
};

/** The mailbox rule of a vertical model job at `self`. */
export function acceptsVfl(context: Pick<StepContext, 'spec' | 'self'>, kind: string, sender: string): boolean {
  const guest = guestOf(context.spec).id;
  if (context.self === guest) {
    if (sender === guest) return false;
    if (kind.startsWith('relay-')) return RELAYED.has(kind.slice('relay-'.length));
    return (VFL_KINDS as readonly string[]).includes(kind) && kind !== 'decision';
  }
  return sender === guest && (VFL_KINDS as readonly string[]).includes(kind) && kind !== 'norms';
}

export function createVflTransport(context: StepContext, mailbox: Mailbox, auditPrefix: string): VflTransport {
  const { spec, self } = context;
  const guest = guestOf(spec).id;
  const indexOf = (id: string) => spec.parties.findIndex((p) => p.id === id);
  let bytesOut = 0;
  const post = async (
    to: string,
    kind: string,
    seq: number,
    message: { meta?: unknown; blobs: readonly Uint8Array[] },
  ) => {
    bytesOut += await sendMessage(
      context,
      to,
      { kind, seq, meta: message.meta ?? null, blobs: message.blobs },
      { auditStep: `${auditPrefix}.${kind}`, isEncrypted: kind !== 'norms' && kind !== 'decision' },
    );
  };
  return {
    get bytesOut() {
      return bytesOut;
    },
    abort: (error) => mailbox.abort(error),
    async send(to, kind, round, message) {
      if (self !== guest && to !== guest)
        await post(guest, `relay-${kind}`, round * MAX_PARTIES + indexOf(to), message);
      else await post(to, kind, round * MAX_PARTIES + indexOf(self), message);
    },
    take(from, kind, round) {
      const via = self !== guest && from !== guest ? guest : from;
      return mailbox.take(via, kind, round * MAX_PARTIES + indexOf(from));
    },
    async relay(from, to, kind, round) {
      const message = await mailbox.take(from, `relay-${kind}`, round * MAX_PARTIES + indexOf(to));
      await post(to, kind, round * MAX_PARTIES + indexOf(from), { meta: message.meta, blobs: message.blobs });
    },
  };
}
