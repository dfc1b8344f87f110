// The PSI exchange of one party in a job (DESIGN.md §6, docs/jobs.md): an ECDH-PSI session (psi-party.ts) wired to
// a message transport. Outgoing buckets leave in order with a small window per peer; incoming buckets may arrive out
// of order over concurrent HTTP requests and are put back in order before the session sees them.
import { createHash } from 'node:crypto';
import { GatewayError } from '../../core/errors.ts';
import { guestOf, type JobSpec } from '../jobs/job.ts';
import { PsiJobParams } from './psi-params.ts';
import { PsiProtocolError } from './psi-error.ts';
import { decodePsiMessage, encodePsiMessage, type PsiHeader, type PsiMessage } from './psi-message.ts';
import { createPsiParty } from './psi-party.ts';
import type { PsiParty, PsiResult } from './psi-session.ts';
import type { RandomSource } from './shuffle.ts';
import type { X25519Pool } from './x25519-pool.ts';

/** How far ahead of the next expected bucket a bucket may arrive and wait; beyond it the session rejects it. */
export const MAX_BUCKETS_AHEAD = 32;
/** Frames in flight per peer: enough to keep the peer's pool busy while the next request is signed. */
export const DEFAULT_SEND_WINDOW = 2;

export type PsiExchangeStats = {
  /** Own identifiers blinded. */
  rowsIn: number;
  /** Records absorbed from peers and records sent to them. */
  recordsIn: number;
  recordsOut: number;
  bytesIn: number;
  bytesOut: number;
};

export type PsiExchangeOptions = {
  spec: JobSpec;
  self: string;
  pool: X25519Pool;
  random?: RandomSource;
  bucketRecords?: number;
  /** Delivers one frame to `peer`; resolves once the peer accepted it, rejects when it could not. */
  send(peer: string, frame: Buffer, header: PsiHeader): Promise<void>;
  window?: number;
  /** Aborting fails the exchange with the signal's reason (the step deadline, a cancellation, a newer attempt). */
  signal: AbortSignal;
};

export type PsiExchange = {
  readonly stats: Readonly<PsiExchangeStats>;
  /** True once the exchange has failed or was aborted: it absorbs nothing more. */
  readonly hasFailed: boolean;
  /** Blinds `ids` and runs the session to its end; resolves once every outgoing frame was accepted by its peer. */
  run(ids: AsyncIterable<string> | Iterable<string>): Promise<PsiResult>;
  /**
   * Absorbs one frame received from the authenticated peer `sender`. Rejects with a PsiProtocolError for a bad
   * message (which also fails the exchange); a bucket already absorbed is ignored (a retried request).
   */
  deliver(sender: string, frame: Uint8Array): Promise<{ isDuplicate: boolean }>;
};

/**
 * One (sender, step) stream: the next bucket expected, the buckets waiting for their turn, and the SHA-256 of every
 * bucket that arrived, so a repeated bucket is a retry only when it is the same bytes.
 */
type Order = { next: number; waiters: Map<number, () => void>; digests: Map<number, string> };
type Outbox = { queue: PsiMessage[]; inFlight: number };

/** The job's PSI roles: the guest initiates with every host; a host responds to the guest alone. */
export function createPsiExchange(options: PsiExchangeOptions): PsiExchange {
  const { spec, self, signal } = options;
  const guest = guestOf(spec).id;
  const isGuest = self === guest;
  const party: PsiParty = createPsiParty({
    jobId: spec.id,
    role: isGuest ? 'initiator' : 'responder',
    mode: PsiJobParams.parse(spec.params).mode,
    self,
    peers: isGuest ? spec.parties.filter((p) => p.id !== guest).map((p) => p.id) : [guest],
    outputTo: spec.receivers.length > 1 ? 'all' : 'initiator',
    pool: options.pool,
    ...(options.random === undefined ? {} : { random: options.random }),
    ...(options.bucketRecords === undefined ? {} : { bucketRecords: options.bucketRecords }),
  });
  const window = options.window ?? DEFAULT_SEND_WINDOW;
  const stats: PsiExchangeStats = { rowsIn: 0, recordsIn: 0, recordsOut: 0, bytesIn: 0, bytesOut: 0 };
  const orders = new Map<string, Order>();
  const outboxes = new Map<string, Outbox>();
  let failure: { error: unknown } | null = null;
  let isStarted = false;
  let absorbing = 0;
  let onChange: () => void = () => undefined;
  let onFailure: (error: unknown) => void = () => undefined;

  const fail = (error: unknown): unknown => {
    if (failure === null) {
      failure = { error };
      for (const order of orders.values()) for (const wake of order.waiters.values()) wake();
      onFailure(error);
    }
    return failure.error;
  };
  const aborted = () => fail(signal.reason ?? new GatewayError('INTERNAL', 'PSI exchange aborted'));
  if (signal.aborted) aborted();
  else signal.addEventListener('abort', aborted, { once: true });

  const pump = (peer: string): void => {
    const box = outboxes.get(peer);
    if (box === undefined) return;
    while (failure === null && box.inFlight < window && box.queue.length > 0) {
      const message = box.queue.shift() as PsiMessage;
      const frame = encodePsiMessage(message);
      box.inFlight++;
      options.send(peer, frame, message.header).then(
        () => {
          box.inFlight--;
          stats.recordsOut += message.header.count;
          stats.bytesOut += frame.length;
          pump(peer);
          onChange();
        },
        (error: unknown) => {
          box.inFlight--;
          fail(error);
        },
      );
    }
  };

  const enqueue = (messages: readonly PsiMessage[]): void => {
    for (const message of messages) {
      const peer = message.header.to;
      const box = outboxes.get(peer) ?? { queue: [], inFlight: 0 };
      outboxes.set(peer, box);
      box.queue.push(message);
    }
    for (const peer of new Set(messages.map((m) => m.header.to))) pump(peer);
  };

  const isIdle = () => [...outboxes.values()].every((b) => b.queue.length === 0 && b.inFlight === 0) && absorbing === 0;

  async function* counted(ids: AsyncIterable<string> | Iterable<string>): AsyncGenerator<string> {
    for await (const id of ids) {
      if (failure !== null) throw failure.error;
      stats.rowsIn++;
      yield id;
    }
  }

  /** Resolves when the bucket is next in its (sender, step) stream; rejects once the exchange has failed. */
  const waitTurn = (order: Order, bucket: number): Promise<void> =>
    new Promise((resolve, reject) => {
      order.waiters.set(bucket, () => {
        order.waiters.delete(bucket);
        if (failure !== null) reject(failure.error);
        else resolve();
      });
    });

  return {
    stats,
    get hasFailed() {
      return failure !== null;
    },
    async run(ids) {
      if (isStarted) throw new GatewayError('CONFLICT', 'PSI exchange already started');
      isStarted = true;
      const done = new Promise<PsiResult>((resolve, reject) => {
        onFailure = reject;
        onChange = () => {
          if (party.isDone && isIdle()) resolve(party.result());
        };
      });
      // A failure during start() settles `done` before it is awaited; it is rethrown from there.
      done.catch(() => undefined);
      if (failure !== null) throw failure.error;
      try {
        enqueue(await party.start(counted(ids)));
      } catch (error) {
        throw fail(error);
      }
      onChange();
      try {
        return await done;
      } finally {
        signal.removeEventListener('abort', aborted);
      }
    },
    async deliver(sender, frame) {
      if (failure !== null)
        throw new PsiProtocolError('PSI_UNEXPECTED_STEP', 'PSI exchange has already ended', {
          reason: 'session-failed',
        });
      let message: PsiMessage;
      try {
        message = decodePsiMessage(frame);
        // The transport authenticated the sender; a header naming anyone else is a forgery.
        if (message.header.party !== sender)
          throw new PsiProtocolError('PSI_WRONG_PARTY', 'PSI message header names another sender', {
            reason: 'sender',
          });
      } catch (error) {
        throw fail(error);
      }
      const { header } = message;
      const key = `${header.party}\n${header.step}`;
      const order = orders.get(key) ?? { next: 0, waiters: new Map(), digests: new Map() };
      orders.set(key, order);
      const digest = createHash('sha256').update(frame).digest('hex');
      const seen = order.digests.get(header.bucket);
      if (seen !== undefined) {
        if (seen === digest) return { isDuplicate: true };
        const detail = { reason: 'conflicting-duplicate', step: header.step, bucket: header.bucket };
        throw fail(new PsiProtocolError('PSI_BAD_MESSAGE', 'a PSI bucket arrived again with other content', detail));
      }
      if (header.bucket < order.next) return { isDuplicate: true };
      order.digests.set(header.bucket, digest);
      if (header.bucket > order.next && header.bucket - order.next <= MAX_BUCKETS_AHEAD) {
        await waitTurn(order, header.bucket);
        if (header.bucket < order.next) return { isDuplicate: true };
      }
      // receive() checks the bucket's order synchronously; after that call the next bucket may go in.
      absorbing++;
      const absorbed = party.receive(message);
      order.next = Math.max(order.next, header.bucket + 1);
      order.waiters.get(order.next)?.();
      try {
        const replies = await absorbed;
        stats.recordsIn += header.count;
        stats.bytesIn += frame.length;
        enqueue(replies);
      } catch (error) {
        throw fail(error);
      } finally {
        absorbing--;
        onChange();
      }
      return { isDuplicate: false };
    },
  };
}
