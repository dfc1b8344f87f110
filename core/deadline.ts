// Deadlines for cross-party waits (DESIGN.md §1 "No silent hangs"): every call to a peer or a chain
// RPC races a timer, and timers are injected so tests drive them without sleeping.
import { GatewayError, type ErrorCode } from './errors.ts';

/** The two timer functions the cores use; tests pass fakes, production passes the globals. */
export type Timers = {
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
};

export const systemTimers: Timers = {
  setTimeout: (run, ms) => {
    const handle = setTimeout(run, ms);
    // A pending retry or deadline must never keep a finished process alive.
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export type DeadlineOptions = {
  timers: Timers;
  ms: number;
  /** Names the wait in the error, e.g. 'ledger.anchorRoot'. */
  operation: string;
  /** The code of the timeout error: LEDGER_UNAVAILABLE for chain calls, PEER_TIMEOUT for peers. */
  code: ErrorCode;
};

/**
 * Resolves or rejects as `work` does, unless `ms` passes first; then rejects with `code` and reason
 * 'timeout'. The work itself is not cancelled (a sent transaction cannot be), so callers must treat a
 * timeout as "outcome unknown" and reconcile later.
 */
export async function withDeadline<T>(work: Promise<T>, options: DeadlineOptions): Promise<T> {
  const { timers, ms, operation, code } = options;
  if (!Number.isFinite(ms) || ms <= 0)
    throw new GatewayError('BAD_INPUT', 'deadline must be a positive number of ms', { field: 'ms' });
  let handle: unknown;
  const expired = new Promise<never>((_, reject) => {
    handle = timers.setTimeout(
      () =>
        reject(new GatewayError(code, `${operation} did not answer within ${ms} ms`, { operation, reason: 'timeout' })),
      ms,
    );
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    timers.clearTimeout(handle);
  }
}
