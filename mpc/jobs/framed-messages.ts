// Framed messages for protocols that exchange whole messages rather than streams (joint statistics, vertical models,
// secure aggregation): a message is a kind, a sequence number, a small JSON `meta` and a list of binary blobs (keys,
// ciphertexts, numbers). The sender cuts it into frames that fit a peer request body; the receiver checks every frame,
// reassembles the message, verifies its digest and hands it to the step that waits for it.
//
// Frame: u32 big-endian header length | header (UTF-8 JSON) | payload bytes. Every frame of one message carries the
// same header but for `part`, and the SHA-256 of the whole payload, so a part cannot be swapped between messages. A
// part received again with the same bytes is a duplicate (a retried request); with other bytes it is refused.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { GatewayError } from '../../core/errors.ts';
import type { StepContext } from './protocol.ts';

export const FRAMED_MESSAGE_VERSION = 1;
/** Frame budget: under the 1 MiB default request body limit with room for the header. */
export const DEFAULT_FRAME_BYTES = 960 * 1024;
const MAX_HEADER_BYTES = 64 * 1024;
const MAX_BLOBS = 4096;

export type FramedMessage = { sender: string; kind: string; seq: number; meta: unknown; blobs: Uint8Array[] };

const Header = z.strictObject({
  v: z.literal(FRAMED_MESSAGE_VERSION),
  job: z.string().max(64),
  step: z.string().max(32),
  kind: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/),
  seq: z.int().min(0),
  part: z.int().min(0),
  parts: z.int().min(1).max(65_536),
  sizes: z.array(z.int().min(0)).max(MAX_BLOBS),
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  meta: z.unknown(),
});
type Header = z.infer<typeof Header>;

export type MailboxRules = {
  /** Whether `sender` may send messages of `kind` to this party in this step. */
  accepts(kind: string, sender: string): boolean;
  /** Largest whole message, in payload bytes. */
  maxMessageBytes: number;
  /**
   * Most payload bytes held at once, in messages not yet taken (default: twice the largest message): a peer that
   * opens many messages without finishing them, or runs far ahead, is refused rather than filling memory.
   */
  maxBufferedBytes?: number;
  /** Largest sequence number (messages of one kind from one sender are numbered 0, 1, …). */
  maxSeq: number;
};

type Assembly = { header: string; parts: (Uint8Array | undefined)[]; partDigests: string[]; received: number };

const bad = (reason: string, detail: Record<string, unknown> = {}) =>
  new GatewayError('JOB_BAD_MESSAGE', `protocol message refused: ${reason}`, { reason, ...detail });

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const keyOf = (sender: string, kind: string, seq: number) => `${sender}\u0000${kind}\u0000${seq}`;

export type Mailbox = {
  /** The step's `deliver`: checks and files one frame. Rejects with JOB_BAD_MESSAGE. */
  deliver(sender: string, frame: Uint8Array): Promise<{ isDuplicate: boolean }>;
  /** The message `kind` #`seq` from `sender` once all its frames arrived; rejects when the attempt ends or fails. */
  take(sender: string, kind: string, seq: number): Promise<FramedMessage>;
  /** Fails the mailbox: every wait rejects with `error`, and so does every later frame or wait. */
  abort(error: unknown): void;
  readonly bytesIn: number;
  readonly hasFailed: boolean;
};

export function createMailbox(context: Pick<StepContext, 'spec' | 'step' | 'signal'>, rules: MailboxRules): Mailbox {
  const assemblies = new Map<string, Assembly>();
  const complete = new Map<string, FramedMessage>();
  const waiters = new Map<string, { resolve: (m: FramedMessage) => void; reject: (e: unknown) => void }>();
  let failure: unknown = null;
  let bytesIn = 0;
  /** Payload bytes of messages filed and not yet taken. */
  let buffered = 0;
  const maxBuffered = rules.maxBufferedBytes ?? 2 * rules.maxMessageBytes;
  const sizeOf = new Map<string, number>();

  const fail = (error: unknown) => {
    failure ??= error;
    for (const waiter of waiters.values()) waiter.reject(failure);
    waiters.clear();
    return failure;
  };
  context.signal.addEventListener('abort', () => fail(context.signal.reason), { once: true });

  /** A message handed to its step no longer counts against the buffer. */
  const release = (key: string) => {
    buffered -= sizeOf.get(key) ?? 0;
    sizeOf.delete(key);
  };

  const parse = (frame: Uint8Array): { header: Header; headerText: string; payload: Uint8Array } => {
    if (frame.length < 4) throw bad('frame shorter than its length prefix');
    const length = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0);
    if (length > MAX_HEADER_BYTES || 4 + length > frame.length) throw bad('header length out of range');
    const headerText = Buffer.from(frame.subarray(4, 4 + length)).toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(headerText);
    } catch {
      throw bad('header is not JSON');
    }
    const parsed = Header.safeParse(json);
    if (!parsed.success) throw bad('header fields are malformed');
    return { header: parsed.data, headerText, payload: frame.subarray(4 + length) };
  };

  const file = (sender: string, frame: Uint8Array): { isDuplicate: boolean } => {
    const { header, payload } = parse(frame);
    const { kind, seq, part, parts, sizes } = header;
    if (header.job !== context.spec.id) throw bad('message of another job');
    if (header.step !== context.step) throw bad('message of another step', { step: header.step.slice(0, 32) });
    if (!rules.accepts(kind, sender)) throw bad('kind not accepted from this sender', { kind });
    if (seq > rules.maxSeq) throw bad('sequence number out of range', { kind, seq });
    if (part >= parts) throw bad('part out of range', { kind, seq, part });
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total > rules.maxMessageBytes) throw bad('message larger than allowed', { kind, bytes: total });
    const partBytes = Math.ceil(total / parts);
    const expected = part === parts - 1 ? total - partBytes * (parts - 1) : partBytes;
    if (parts > 1 && partBytes * (parts - 1) >= total && total > 0) throw bad('more parts than bytes', { kind });
    if (payload.length !== expected) throw bad('part length disagrees with the header', { kind, seq, part });
    const key = keyOf(sender, kind, seq);
    // The header without its part number: identical in every frame of one message.
    const common = JSON.stringify({ ...header, part: 0 });
    let assembly = assemblies.get(key);
    if (assembly === undefined) {
      assembly = { header: common, parts: new Array(parts), partDigests: new Array(parts), received: 0 };
      assemblies.set(key, assembly);
    } else if (assembly.header !== common) throw bad('header differs from an earlier part', { kind, seq });
    const digest = sha256(payload);
    const earlier = assembly.partDigests[part];
    if (earlier !== undefined) {
      if (earlier !== digest) throw bad('part repeated with other content', { kind, seq, part });
      return { isDuplicate: true };
    }
    if (buffered + payload.length > maxBuffered)
      throw bad('too many bytes held in messages not yet taken', { kind, seq, buffered });
    buffered += payload.length;
    sizeOf.set(key, (sizeOf.get(key) ?? 0) + payload.length);
    assembly.partDigests[part] = digest;
    assembly.parts[part] = Uint8Array.from(payload);
    assembly.received++;
    bytesIn += frame.length;
    if (assembly.received < parts) return { isDuplicate: false };

    const whole = Buffer.concat(assembly.parts as Uint8Array[]);
    assembly.parts = [];
    if (sha256(whole) !== header.digest) throw bad('payload digest mismatch', { kind, seq });
    const blobs: Uint8Array[] = [];
    let at = 0;
    for (const size of sizes) {
      blobs.push(whole.subarray(at, at + size));
      at += size;
    }
    const message: FramedMessage = { sender, kind, seq, meta: header.meta, blobs };
    const waiter = waiters.get(key);
    if (waiter !== undefined) {
      waiters.delete(key);
      release(key);
      waiter.resolve(message);
    } else complete.set(key, message);
    return { isDuplicate: false };
  };

  return {
    get bytesIn() {
      return bytesIn;
    },
    get hasFailed() {
      return failure !== null;
    },
    abort: (error) => {
      fail(error);
    },
    async deliver(sender, frame) {
      if (failure !== null) throw failure;
      try {
        return file(sender, frame);
      } catch (error) {
        throw fail(error);
      }
    },
    take(sender, kind, seq) {
      if (failure !== null) return Promise.reject(failure);
      const key = keyOf(sender, kind, seq);
      const ready = complete.get(key);
      if (ready !== undefined) {
        complete.delete(key);
        release(key);
        return Promise.resolve(ready);
      }
      return new Promise((resolve, reject) => waiters.set(key, { resolve, reject }));
    },
  };
}

/** Cuts a message into frames of at most `frameBytes` and sends them in order; resolves to the bytes sent. */
export async function sendMessage(
  context: Pick<StepContext, 'spec' | 'step' | 'send'>,
  peer: string,
  message: { kind: string; seq: number; meta: unknown; blobs: readonly Uint8Array[] },
  options: { auditStep: string; isEncrypted?: boolean; frameBytes?: number; deadlineAt?: number },
): Promise<number> {
  if (message.blobs.length > MAX_BLOBS) throw new RangeError('too many blobs in one message');
  const whole = Buffer.concat(message.blobs as Uint8Array[]);
  const sizes = message.blobs.map((b) => b.length);
  const digest = sha256(whole);
  const headerOf = (part: number, parts: number) =>
    Buffer.from(
      JSON.stringify({
        v: FRAMED_MESSAGE_VERSION,
        job: context.spec.id,
        step: context.step,
        kind: message.kind,
        seq: message.seq,
        part,
        parts,
        sizes,
        digest,
        meta: message.meta,
      } satisfies Header),
    );
  const budget = (options.frameBytes ?? DEFAULT_FRAME_BYTES) - headerOf(0, 1).length - 64;
  if (budget < 1024) throw new RangeError('frame budget too small for the header');
  const parts = Math.max(1, Math.ceil(whole.length / budget));
  const partBytes = Math.ceil(whole.length / parts);
  let sent = 0;
  for (let part = 0; part < parts; part++) {
    const header = headerOf(part, parts);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(header.length);
    const frame = Buffer.concat([prefix, header, whole.subarray(part * partBytes, (part + 1) * partBytes)]);
    await context.send(peer, frame, {
      auditStep: options.auditStep,
      ...(options.isEncrypted === undefined ? {} : { isEncrypted: options.isEncrypted }),
      ...(options.deadlineAt === undefined ? {} : { deadlineAt: options.deadlineAt }),
    });
    sent += frame.length;
  }
  return sent;
}
