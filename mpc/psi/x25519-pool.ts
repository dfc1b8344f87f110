// A pool of worker threads doing X25519 scalar multiplication (RFC 7748) for ECDH-PSI: work is cut into chunks of
// contiguous 32-byte points, queued first-in first-out, and results come back as transferred ArrayBuffers.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { abytes } from '../../core/bytes.ts';
import { GatewayError } from '../../core/errors.ts';
import type { IdentifierBatch } from './identifier-batch.ts';
import { pointDomain } from './point-hash.ts';
import { PsiProtocolError } from './psi-error.ts';
import type { X25519Reply, X25519Task } from './x25519-worker.ts';

export type X25519Pool = {
  readonly size: number;
  /**
   * X25519(scalar, u) for each 32-byte u of `points`, into `out` (a new Buffer if omitted). Each chunk of `points`
   * is copied when a worker takes it, so `points` must not change until the promise settles; it is never modified
   * or detached. `scalar` is copied at once.
   */
  multiply(scalar: Uint8Array, points: Uint8Array, out?: Uint8Array): Promise<Buffer>;
  /** X25519(scalar, u(id)) for each identifier of the batch, hashing on the worker (see point-hash.ts). */
  hashAndMultiply(scalar: Uint8Array, jobId: string, batch: IdentifierBatch): Promise<Buffer>;
  close(): Promise<void>;
};

export type X25519PoolOptions = { size?: number; chunkPoints?: number };

/**
 * 8192 points is about a quarter of a second of work: long enough to hide the message round trip, short enough to
 * balance the tail.
 */
export const DEFAULT_CHUNK_POINTS = 8192;

/** `prepare` builds the task when a worker is free, so queued chunks cost no copy until they run. */
type Job = {
  prepare: () => { task: X25519Task; transfer: ArrayBuffer[] };
  resolve: (points: Uint8Array) => void;
  reject: (e: unknown) => void;
};
type Slot = { worker: Worker; job: Job | null };

const WORKER_URL = new URL('./x25519-worker.ts', import.meta.url);

/** Creates `size` workers (default: os.availableParallelism()). */
export function createX25519Pool(options: X25519PoolOptions = {}): X25519Pool {
  const size = options.size ?? availableParallelism();
  const chunkPoints = options.chunkPoints ?? DEFAULT_CHUNK_POINTS;
  if (!Number.isInteger(size) || size < 1) throw new RangeError('pool size must be a positive integer');
  if (!Number.isInteger(chunkPoints) || chunkPoints < 1) throw new RangeError('chunkPoints must be a positive integer');
  const queue: Job[] = [];
  const slots: Slot[] = [];
  let nextId = 0;
  let isClosed = false;

  const spawn = (): Slot => {
    const slot: Slot = {
      worker: new Worker(WORKER_URL, { resourceLimits: { maxYoungGenerationSizeMb: 4 } }),
      job: null,
    };
    slot.worker.on('message', (reply: X25519Reply) => {
      const job = slot.job;
      slot.job = null;
      if (job !== null) settle(job, reply);
      dispatch();
    });
    // A crashed worker fails only its own chunk; a fresh one takes its place so the pool keeps its size.
    const replace = (error: unknown) => {
      const index = slots.indexOf(slot);
      if (index === -1) return;
      const job = slot.job;
      slot.job = null;
      if (job !== null) job.reject(new GatewayError('INTERNAL', 'X25519 worker failed', {}, { cause: error }));
      if (isClosed) return;
      slots[index] = spawn();
      dispatch();
    };
    slot.worker.on('error', replace);
    slot.worker.on('exit', (code) => replace(new Error(`X25519 worker exited with ${code}`)));
    slot.worker.unref();
    return slot;
  };

  const settle = (job: Job, reply: X25519Reply) => {
    if ('points' in reply) job.resolve(reply.points);
    else if ('smallOrderIndex' in reply)
      job.reject(
        new PsiProtocolError('PSI_SMALL_ORDER_POINT', 'a point has small order: X25519 gives all zeros', {
          index: reply.smallOrderIndex,
        }),
      );
    else job.reject(new GatewayError('INTERNAL', 'X25519 worker rejected a chunk', { reason: reply.error }));
  };

  const dispatch = () => {
    for (const slot of slots) {
      if (slot.job !== null) continue;
      const job = queue.shift();
      if (job === undefined) break;
      slot.job = job;
      const { task, transfer } = job.prepare();
      slot.worker.postMessage(task, transfer);
    }
    // Keep the process alive only while work is out, so a forgotten close() cannot hang shutdown.
    for (const slot of slots) {
      if (slot.job !== null) slot.worker.ref();
      else slot.worker.unref();
    }
  };

  const submit = (prepare: Job['prepare']): Promise<Uint8Array> => {
    if (isClosed) return Promise.reject(new GatewayError('INTERNAL', 'X25519 pool is closed'));
    return new Promise((resolve, reject) => {
      queue.push({ prepare, resolve, reject });
      dispatch();
    });
  };

  for (let i = 0; i < size; i++) slots.push(spawn());

  return {
    size,
    async multiply(scalar, points, out = Buffer.allocUnsafeSlow(points.length)) {
      // A peer's points were already checked as whole records when their message was decoded (psi-message.ts).
      abytes(points, { multipleOf: 32 }, 'points');
      abytes(out, points.length, 'out');
      const n = points.length / 32;
      const chunks: Promise<void>[] = [];
      const key = Uint8Array.from(scalar);
      for (let start = 0; start < n; start += chunkPoints) {
        const end = Math.min(n, start + chunkPoints);
        // Copied into its own ArrayBuffer only when a worker takes it (Buffer#slice would be a view), so a long
        // queue holds views, not copies; transferring the copy leaves `points` intact.
        const prepare = () => {
          const chunk = copyOf(points.subarray(start * 32, end * 32));
          return {
            task: { id: nextId++, op: 'multiply', scalar: key, points: chunk } satisfies X25519Task,
            transfer: [chunk.buffer],
          };
        };
        chunks.push(
          submit(prepare).then(
            (product) => {
              out.set(product, start * 32);
            },
            (error: unknown) => {
              throw withOffset(error, start);
            },
          ),
        );
      }
      await settleAll(chunks);
      return Buffer.isBuffer(out) ? out : Buffer.from(out.buffer, out.byteOffset, out.length);
    },
    async hashAndMultiply(scalar, jobId, batch) {
      // Copies, so the caller's batch stays usable; they travel to the worker and back without further copying.
      const bytes = copyOf(batch.bytes);
      const ends = Uint32Array.from(batch.ends);
      const task: X25519Task = {
        id: nextId++,
        op: 'hash-multiply',
        scalar: Uint8Array.from(scalar),
        domain: pointDomain(jobId),
        bytes,
        ends,
      };
      const product = await submit(() => ({ task, transfer: [bytes.buffer, ends.buffer] }));
      return Buffer.from(product.buffer, product.byteOffset, product.length);
    },
    async close() {
      isClosed = true;
      for (const job of queue.splice(0)) job.reject(new GatewayError('INTERNAL', 'X25519 pool is closed'));
      await Promise.all(slots.splice(0).map((slot) => slot.worker.terminate()));
    },
  };
}

/** A copy in a fresh ArrayBuffer of exactly its size, so it can be transferred without detaching the caller's data. */
function copyOf(view: Uint8Array): Uint8Array<ArrayBuffer> {
  const copy = new Uint8Array(view.length);
  copy.set(view);
  return copy;
}

/** A small-order index from a chunk becomes an index into the caller's whole buffer. */
function withOffset(error: unknown, offset: number): unknown {
  if (error instanceof PsiProtocolError && error.code === 'PSI_SMALL_ORDER_POINT') {
    return new PsiProtocolError(error.code, error.message, { index: (error.detail.index as number) + offset });
  }
  return error;
}

/** Waits for every chunk (so none is left running unobserved) and then throws the first failure, if any. */
async function settleAll(chunks: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(chunks);
  const failure = results.find((r) => r.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
}
