// Messages between any two parties of a vertical model. Gateways talk only to the guest (the coordinator), so a
// message between two hosts goes through the guest: the sender hands it over as `relay-<kind>` naming the receiver,
// and the guest forwards it as `<kind>` naming the sender. What a host sends another host is sealed end to end
// (relay-seal.ts), on top of being a ciphertext under one of the two hosts' keys or a sum the receiver masked.
//
// Sequence numbers: round · 32 + the index (in the job's parties) of the other end, so one kind can carry one message
// per round from every party.
import { GatewayError } from '../../core/errors.ts';
import { sendMessage, type FramedMessage, type Mailbox } from '../jobs/framed-messages.ts';
import { guestOf } from '../jobs/job.ts';
import type { StepContext } from '../jobs/protocol.ts';
import { open, seal } from './relay-seal.ts';

export const MAX_PARTIES = 32;
export const VFL_KINDS = ['key', 'vector', 'products', 'sums', 'scores', 'norms', 'decision'] as const;
export type VflKind = (typeof VFL_KINDS)[number];
/** Kinds a host may send another host (through the guest). */
const RELAYED: ReadonlySet<string> = new Set(['key', 'vector', 'products', 'sums', 'scores']);

export type VflTransport = {
  /** Host to host: the AES keys that seal what this host sends each other host through the guest (relay-seal.ts). */
  setRelayKeys(keys: ReadonlyMap<string, Buffer>): void;
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
  let relayKeys: ReadonlyMap<string, Buffer> = new Map();
  const isHostToHost = (a: string, b: string) => a !== guest && b !== guest;
  const aadOf = (kind: string, round: number, from: string, to: string) => `${spec.id}/${kind}/${round}/${from}/${to}`;
  const keyFor = (peer: string) => {
    const key = relayKeys.get(peer);
    if (key === undefined) throw new GatewayError('INTERNAL', `no relay key for host ${peer}`);
    return key;
  };
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
    setRelayKeys(keys) {
      relayKeys = keys;
    },
    async send(to, kind, round, message) {
      if (!isHostToHost(self, to)) {
        await post(to, kind, round * MAX_PARTIES + indexOf(self), message);
        return;
      }
      // The public keys go in the clear (they are what the sealing keys are made from); everything else sealed.
      const aad = aadOf(kind, round, self, to);
      const blobs = kind === 'key' ? message.blobs : message.blobs.map((b) => seal(keyFor(to), b, aad));
      await post(guest, `relay-${kind}`, round * MAX_PARTIES + indexOf(to), { meta: message.meta, blobs });
    },
    async take(from, kind, round) {
      if (!isHostToHost(self, from)) return mailbox.take(from, kind, round * MAX_PARTIES + indexOf(from));
      const message = await mailbox.take(guest, kind, round * MAX_PARTIES + indexOf(from));
      if (kind === 'key') return message;
      const aad = aadOf(kind, round, from, self);
      return { ...message, blobs: message.blobs.map((b) => open(keyFor(from), b, aad)) };
    },
    async relay(from, to, kind, round) {
      const message = await mailbox.take(from, `relay-${kind}`, round * MAX_PARTIES + indexOf(to));
      await post(to, kind, round * MAX_PARTIES + indexOf(from), { meta: message.meta, blobs: message.blobs });
    },
  };
}
