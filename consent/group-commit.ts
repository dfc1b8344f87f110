// Group commit (as in database WAL writers): concurrent writers share one durable COMMIT, so throughput is bounded
// by batches per fsync rather than by fsyncs per write. Generic over the item and result types.
import { GatewayError } from '../core/errors.ts';

export type GroupCommitOptions<T, R> = {
  /** Makes a batch durable; returns one result per item, in order. A throw rejects every item of the batch. */
  flush: (items: T[]) => Promise<R[]>;
  /** Upper bound on items per flush. */
  maxBatch: number;
  /** How long the first item of an idle committer may wait for company. 0 or absent: flush on the next microtask. */
  maxDelayMs?: number;
};

export type GroupCommitter<T, R> = {
  /** Resolves with the item's result only after its batch's flush resolved (i.e. after COMMIT). */
  submit(item: T): Promise<R>;
  /** Resolves once everything submitted so far has been flushed (or failed). */
  drain(): Promise<void>;
  /** Stops accepting items (STORE_UNAVAILABLE) and drains. */
  close(): Promise<void>;
  readonly pending: number;
};

type Entry<T, R> = { item: T; resolve: (r: R) => void; reject: (e: unknown) => void };

export function createGroupCommitter<T, R>(options: GroupCommitOptions<T, R>): GroupCommitter<T, R> {
  const { flush, maxBatch } = options;
  const maxDelayMs = options.maxDelayMs ?? 0;
  if (!Number.isSafeInteger(maxBatch) || maxBatch < 1)
    throw new GatewayError('BAD_INPUT', 'maxBatch must be a positive integer');
  if (!Number.isFinite(maxDelayMs) || maxDelayMs < 0)
    throw new GatewayError('BAD_INPUT', 'maxDelayMs must be a non-negative number');

  const queue: Entry<T, R>[] = [];
  let isFlushing = false;
  let isScheduled = false;
  let isClosed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let idleWaiters: (() => void)[] = [];

  const notifyIdle = () => {
    if (isFlushing || isScheduled || queue.length > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const wake of waiters) wake();
  };

  const run = async (): Promise<void> => {
    isScheduled = false;
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (isFlushing) return;
    const batch = queue.splice(0, maxBatch);
    if (batch.length === 0) {
      notifyIdle();
      return;
    }
    isFlushing = true;
    try {
      const results = await flush(batch.map((e) => e.item));
      if (!Array.isArray(results) || results.length !== batch.length) {
        throw new GatewayError('INTERNAL', 'group commit flush returned the wrong number of results');
      }
      batch.forEach((e, i) => e.resolve(results[i] as R));
    } catch (error) {
      for (const e of batch) e.reject(error);
    } finally {
      isFlushing = false;
    }
    // Items that queued up during the flush have already waited one commit: flush them at once.
    if (queue.length > 0) void run();
    else notifyIdle();
  };

  const schedule = () => {
    if (isFlushing || isScheduled) return;
    if (maxDelayMs > 0 && queue.length < maxBatch) {
      if (timer === undefined) timer = setTimeout(() => void run(), maxDelayMs);
      return;
    }
    isScheduled = true;
    queueMicrotask(() => void run());
  };

  const drain = (): Promise<void> => {
    if (!isFlushing && !isScheduled && queue.length === 0 && timer === undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      idleWaiters.push(resolve);
    });
  };

  return {
    get pending() {
      return queue.length;
    },
    submit(item) {
      if (isClosed) return Promise.reject(new GatewayError('STORE_UNAVAILABLE', 'commit queue is closed'));
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        schedule();
      });
    },
    drain,
    close() {
      isClosed = true;
      // A pending delay would only postpone shutdown: flush now.
      if (timer !== undefined && !isFlushing) void run();
      return drain();
    },
  };
}
