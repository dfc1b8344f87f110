// The anchoring service (DESIGN.md §4 "Anchoring"): batches consent events and audit entries by size or
// interval into a Merkle tree (docs/merkle.md), commits the batch with its root, then anchors the root in
// ConsentAnchor, in order, each batch's prevRoot being the previous batch's root.
//
// Leaf order of a batch: the event hashes of its events range in seq order, then the audit hashes of its
// audit range in seq order (anchor-store.ts). A verifier never needs the order (pairs are sorted), but a
// rebuilt tree must match the anchored root, so the order is fixed here and documented.
//
// Exactly once: a batch row (with its root) is committed before any transaction is sent; before each send
// the chain is asked whether the root is already there (a kill between send and record), and on start the
// gateway's last root on chain is matched to the batch table, so a mined-but-unrecorded batch is recorded
// and an anchor the chain lost (a local chain that lost state) is sent again, never a root twice.
// The service is asynchronous to consent writes: a dead RPC only delays anchoring and turns readiness to
// 'degraded'; retries back off exponentially with jitter up to a cap.
import { GatewayError } from '../core/errors.ts';
import { countOf, type AnchorBatch, type AnchorStore, type ChainHeads } from './anchor-store.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import { systemTimers, withDeadline, type Timers } from '../core/deadline.ts';
import { ZERO_ROOT, type Bytes32Hex, type LedgerPort, type OnChainAnchorTx } from './ledger-port.ts';
import { buildMerkleTree } from './merkle.ts';
import { incrementalStatusTree, type IncrementalStatusTree } from './status-tree-incremental.ts';

/** A pino logger satisfies this. Only codes, roots and counts are logged, never RPC URLs or keys. */
export type AnchoringLog = {
  info(detail: Record<string, unknown>, message: string): void;
  warn(detail: Record<string, unknown>, message: string): void;
};

export type AnchoringOptions = {
  store: AnchorStore;
  ledger: LedgerPort;
  clock?: Clock;
  timers?: Timers;
  /** In [0, 1); jitters retry delays so replicas do not retry in lockstep. */
  random?: () => number;
  log?: AnchoringLog;
  /** Committed chain heads without a query (e.g. from ConsentStore.heads); defaults to reading the tables. */
  readHeads?: () => ChainHeads | Promise<ChainHeads>;
  /**
   * The id of the key this gateway signs with now: the key of a batch without events (audit entries are hashed, not
   * signed, so they have no key of their own).
   */
  keyId: () => string;
  /** A batch holds at most this many records (events + audit entries). */
  maxRecords?: number;
  /** A partial batch is built once this long has passed since the last batch. */
  intervalMs?: number;
  /** How often the backlog is checked. */
  pollMs?: number;
  /** Deadline of each ledger call; an anchor's includes waiting for it to be mined. */
  rpcTimeoutMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** How long stop() waits for in-flight work. */
  stopTimeoutMs?: number;
};

export type AnchoringState = 'ok' | 'degraded';

export type AnchoringStatus = {
  state: AnchoringState;
  /** Why the state is degraded, as `CODE: reason`; null when ok. */
  reason: string | null;
  /** Committed records not yet anchored: unbatched ones plus those in built batches. */
  pendingRecords: number;
  unbatchedRecords: number;
  builtBatches: number;
  lastAnchoredBatch: Pick<AnchorBatch, 'batchNo' | 'root' | 'txHash' | 'blockNumber' | 'anchoredAt' | 'count'> | null;
  nextRetryAt: string | null;
  isRunning: boolean;
};

export type FlushResult = { built: number; anchored: number; error: GatewayError | null };

export type Anchoring = {
  /** Reconciles with the chain (a failure only degrades), then checks the backlog every pollMs. */
  start(): Promise<void>;
  /** Stops the timer and waits for in-flight work, at most stopTimeoutMs. Idempotent. */
  stop(): Promise<void>;
  /** Batches everything committed so far and tries to anchor it now, ignoring the retry backoff. */
  flushNow(): Promise<FlushResult>;
  /**
   * The chain may have lost blocks (an embedded chain restarted from its last state dump): the next cycle, without
   * waiting for a retry backoff, checks the recorded anchors against it and sends the missing ones again.
   */
  reconcileSoon(): void;
  status(): AnchoringStatus;
};

const hexOf = (bytes: Uint8Array): Bytes32Hex => `0x${Buffer.from(bytes).toString('hex')}`;

const toGatewayError = (error: unknown): GatewayError =>
  error instanceof GatewayError ? error : new GatewayError('INTERNAL', 'anchoring failed', {}, { cause: error });
const reasonOf = (e: GatewayError): string =>
  typeof e.detail['reason'] === 'string' ? `${e.code}: ${e.detail['reason']}` : e.code;

export function createAnchoring(options: AnchoringOptions): Anchoring {
  const { store, ledger } = options;
  const clock = options.clock ?? systemClock;
  const timers = options.timers ?? systemTimers;
  const random = options.random ?? Math.random;
  const maxRecords = options.maxRecords ?? 10_000;
  const intervalMs = options.intervalMs ?? 5_000;
  const pollMs = options.pollMs ?? Math.min(1_000, intervalMs);
  const rpcTimeoutMs = options.rpcTimeoutMs ?? 60_000;
  const retryBaseMs = options.retryBaseMs ?? 1_000;
  const retryMaxMs = options.retryMaxMs ?? 60_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  if (!Number.isSafeInteger(maxRecords) || maxRecords < 1)
    throw new GatewayError('BAD_INPUT', 'maxRecords must be a positive integer', { field: 'maxRecords' });
  for (const [field, ms] of Object.entries({
    intervalMs,
    pollMs,
    rpcTimeoutMs,
    retryBaseMs,
    retryMaxMs,
    stopTimeoutMs,
  })) {
    if (!Number.isFinite(ms) || ms <= 0)
      throw new GatewayError('BAD_INPUT', `${field} must be a positive number of ms`, { field });
  }
  const readHeads = options.readHeads ?? (() => store.readHeads());

  let queue: Promise<unknown> = Promise.resolve();
  let timer: unknown = null;
  let isRunning = false;
  let isReconciled = false;
  let failures = 0;
  /** The last ledger failure; cleared by the next successful round with the chain. Drives readiness. */
  let lastError: GatewayError | null = null;
  let nextRetryAt: number | null = null;
  let lastBuildAt = clock.now().getTime();
  let status: AnchoringStatus = {
    state: 'ok',
    reason: null,
    pendingRecords: 0,
    unbatchedRecords: 0,
    builtBatches: 0,
    lastAnchoredBatch: null,
    nextRetryAt: null,
    isRunning: false,
  };

  const call = <T>(operation: string, work: () => Promise<T>): Promise<T> =>
    withDeadline(work(), { timers, ms: rpcTimeoutMs, operation: `ledger.${operation}`, code: 'LEDGER_UNAVAILABLE' });

  /** One work item at a time: batch numbers, prevRoots and sends must never interleave. */
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  };

  /** Builds batches up to the heads read once (so a write storm cannot keep it looping); returns how many. */
  const buildPending = async (isFullOnly: boolean): Promise<number> => {
    const heads = await readHeads();
    let built = 0;
    for (;;) {
      const upTo = await store.readBatchedUpTo();
      const events = Math.max(0, heads.events - upTo.events);
      const audit = Math.max(0, heads.audit - upTo.audit);
      if (events + audit === 0 || (isFullOnly && events + audit < maxRecords)) return built;
      // Up to half the batch is reserved for audit entries so a flood of events cannot starve the audit chain.
      const auditShare = Math.min(audit, Math.floor(maxRecords / 2));
      let nEvents = Math.min(events, maxRecords - auditShare);
      // One key per batch: the anchor names it, and the contract takes only the gateway's current key. A batch ends
      // before the first event signed with the next key (after a rotation).
      let keyId = options.keyId();
      if (nEvents > 0) {
        const run = await store.readKeyRun(upTo.events + 1, upTo.events + nEvents);
        keyId = run.keyId;
        if (run.changesAt !== null) nEvents = run.changesAt - upTo.events - 1;
      }
      const nAudit = Math.min(audit, maxRecords - nEvents);
      const last = await store.lastBatch();
      const range = {
        eventsFrom: upTo.events + 1,
        eventsTo: upTo.events + nEvents,
        auditFrom: upTo.audit + 1,
        auditTo: upTo.audit + nAudit,
      };
      const leaves = [
        ...(await store.readLeafHashes('events', range.eventsFrom, range.eventsTo)),
        ...(await store.readLeafHashes('audit', range.auditFrom, range.auditTo)),
      ];
      const root = hexOf(buildMerkleTree(leaves.map((h) => Buffer.from(h, 'hex'))).root);
      await store.insertBatch(
        {
          batchNo: (last?.batchNo ?? 0) + 1,
          ...range,
          root,
          prevRoot: last?.root ?? ZERO_ROOT,
          keyId,
          stateRoot: await stateRootAt(range.eventsTo),
        },
        clock.now(),
      );
      lastBuildAt = clock.now().getTime();
      built++;
    }
  };

  /**
   * The status tree as of the last batch built, kept across batches: the next root costs the records the batch
   * changed, not a rebuild over every record. Built from the table on first use (after a restart, or to fill in an
   * older batch's root).
   */
  let statusTree: { upTo: number; tree: IncrementalStatusTree } | null = null;

  /** The status tree root over every record's last event up to `eventsTo`: what the batch commits to. */
  const stateRootAt = async (eventsTo: number): Promise<Bytes32Hex> => {
    if (statusTree === null || statusTree.upTo > eventsTo) {
      statusTree = { upTo: eventsTo, tree: incrementalStatusTree(await store.readStatusLeaves(eventsTo)) };
    } else if (statusTree.upTo < eventsTo) {
      for (const value of await store.readStatusLeaves(eventsTo, statusTree.upTo)) statusTree.tree.set(value);
      statusTree.upTo = eventsTo;
    }
    return hexOf(statusTree.tree.root());
  };

  /**
   * Rows built before anchors carried a key id and a status root get both now, before anything is sent: the key of
   * their events (no gateway rotated keys before then) or, without events, the current one.
   */
  const commitmentOf = async (batch: AnchorBatch): Promise<{ keyId: string; stateRoot: Bytes32Hex }> => {
    if (batch.keyId !== null && batch.stateRoot !== null) return { keyId: batch.keyId, stateRoot: batch.stateRoot };
    const keyId = (await store.readKeyIdAt(batch.eventsTo)) ?? options.keyId();
    const stateRoot = await stateRootAt(batch.eventsTo);
    await store.setCommitment(batch.batchNo, keyId, stateRoot);
    return { keyId, stateRoot };
  };

  /** The on-chain anchor must be this gateway's and this batch's; anything else is never recorded as ours. */
  const checkOnChain = (batch: AnchorBatch, found: OnChainAnchorTx): void => {
    if (
      found.gatewayId !== ledger.gatewayId ||
      found.count !== batch.count ||
      found.prevRoot !== batch.prevRoot ||
      (batch.keyId !== null && found.keyId !== batch.keyId) ||
      (batch.stateRoot !== null && found.stateRoot !== batch.stateRoot)
    ) {
      throw new GatewayError('CONFLICT', 'the root is anchored on chain with other attributes', {
        batchNo: batch.batchNo,
        reason: 'foreign-anchor',
      });
    }
  };

  const recordFound = async (batch: AnchorBatch): Promise<boolean> => {
    const found = await call('findAnchorTx', () => ledger.findAnchorTx(batch.root));
    if (found === null) return false;
    checkOnChain(batch, found);
    // The gas of a transaction this process did not see mined is unknown: recorded as null, not guessed.
    await store.markAnchored(
      batch.batchNo,
      { ...found, gasUsed: null, chainId: ledger.chainId, contract: ledger.contract },
      clock.now(),
    );
    options.log?.info(
      { batchNo: batch.batchNo, root: batch.root, txHash: found.txHash },
      'anchor found on chain and recorded',
    );
    return true;
  };

  /**
   * Matches the gateway's last root on chain to the batch table: built batches up to it were mined but not
   * recorded; anchored batches after it were lost by the chain and go back to 'built'.
   */
  const reconcile = async (): Promise<void> => {
    const lastRoot = await call('lastRootOf', () => ledger.lastRootOf(ledger.gatewayId));
    let onChainUpTo = 0;
    if (lastRoot !== ZERO_ROOT) {
      const batch = await store.findBatchByRoot(lastRoot);
      if (batch === null) {
        // Another database anchors under this gateway id: sending would fork or revert, so stop and say so.
        throw new GatewayError(
          'ANCHOR_CHAIN_BROKEN',
          "the gateway's last root on chain is not one of this store's batches",
          { reason: 'chain-diverged' },
        );
      }
      onChainUpTo = batch.batchNo;
    }
    for (const batch of await store.listBuilt()) {
      if (batch.batchNo > onChainUpTo) break;
      if (!(await recordFound(batch))) {
        throw new GatewayError('LEDGER_UNAVAILABLE', 'an anchor below the last root is missing on chain', {
          batchNo: batch.batchNo,
          reason: 'missing-anchor',
        });
      }
    }
    for (let after = onChainUpTo; ;) {
      const page = await store.listBatches(after, 500);
      for (const batch of page.filter((b) => b.status === 'anchored')) {
        await store.resetToBuilt(batch.batchNo, 'anchor missing on chain; re-anchoring');
        options.log?.warn(
          { batchNo: batch.batchNo, root: batch.root },
          'recorded anchor is missing on chain; it will be sent again',
        );
      }
      const last = page.at(-1);
      if (last === undefined) break;
      after = last.batchNo;
    }
    isReconciled = true;
  };

  const send = async (batch: AnchorBatch): Promise<void> => {
    if (await recordFound(batch)) return;
    let sent;
    try {
      const commitment = await commitmentOf(batch);
      sent = await call('anchorRoot', () => ledger.anchorRoot(batch.root, batch.count, batch.prevRoot, commitment));
    } catch (error) {
      if (error instanceof GatewayError && error.code === 'ANCHOR_DUPLICATE' && (await recordFound(batch))) return;
      if (error instanceof GatewayError && error.code === 'ANCHOR_CHAIN_BROKEN') isReconciled = false;
      throw error;
    }
    await store.markAnchored(
      batch.batchNo,
      { ...sent, chainId: ledger.chainId, contract: ledger.contract },
      clock.now(),
    );
    options.log?.info(
      { batchNo: batch.batchNo, root: batch.root, txHash: sent.txHash, count: batch.count, gasUsed: sent.gasUsed },
      'batch anchored',
    );
  };

  const refreshStatus = async (): Promise<void> => {
    const heads = await readHeads();
    const upTo = await store.readBatchedUpTo();
    const built = await store.listBuilt();
    const last = await store.lastAnchoredBatch();
    const unbatched = Math.max(0, heads.events - upTo.events) + Math.max(0, heads.audit - upTo.audit);
    status = {
      state: lastError === null ? 'ok' : 'degraded',
      reason: lastError === null ? null : reasonOf(lastError),
      pendingRecords: unbatched + built.reduce((n, b) => n + countOf(b), 0),
      unbatchedRecords: unbatched,
      builtBatches: built.length,
      lastAnchoredBatch:
        last === null
          ? null
          : {
              batchNo: last.batchNo,
              root: last.root,
              txHash: last.txHash,
              blockNumber: last.blockNumber,
              anchoredAt: last.anchoredAt,
              count: last.count,
            },
      nextRetryAt: nextRetryAt === null ? null : new Date(nextRetryAt).toISOString(),
      isRunning,
    };
  };

  const fail = (error: GatewayError): void => {
    lastError = error;
    failures++;
    const ceiling = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(failures - 1, 30));
    // "Equal jitter": at least half the delay, so a flapping RPC is not hammered.
    nextRetryAt = clock.now().getTime() + ceiling / 2 + random() * (ceiling / 2);
    options.log?.warn(
      {
        code: error.code,
        reason: error.detail['reason'] ?? null,
        failures,
        retryInMs: nextRetryAt - clock.now().getTime(),
      },
      'anchoring failed; will retry',
    );
  };

  const cycle = async (isFlush: boolean): Promise<FlushResult> => {
    const result: FlushResult = { built: 0, anchored: 0, error: null };
    try {
      // Building is local: it goes on while the chain is down, but only in full batches until the backlog drains.
      const backlog = await store.listBuilt();
      const isIntervalDue = clock.now().getTime() - lastBuildAt >= intervalMs;
      result.built = await buildPending(!isFlush && (backlog.length > 0 || !isIntervalDue));
      if (isFlush || nextRetryAt === null || clock.now().getTime() >= nextRetryAt) {
        if (!isReconciled) await reconcile();
        for (const batch of await store.listBuilt()) {
          await send(batch);
          result.anchored++;
        }
        failures = 0;
        nextRetryAt = null;
        lastError = null;
      }
    } catch (error) {
      result.error = toGatewayError(error);
      const built = await store.listBuilt().catch(() => []);
      if (built[0] !== undefined)
        await store.recordFailure(built[0].batchNo, reasonOf(result.error)).catch(() => undefined);
      fail(result.error);
    }
    await refreshStatus().catch(() => undefined);
    return result;
  };

  const schedule = (): void => {
    if (!isRunning) return;
    timer = timers.setTimeout(() => {
      timer = null;
      void exclusive(() => cycle(false))
        .catch(() => undefined)
        .finally(schedule);
    }, pollMs);
  };

  return {
    async start() {
      if (isRunning) return;
      isRunning = true;
      lastBuildAt = clock.now().getTime();
      await exclusive(async () => {
        try {
          await reconcile();
          lastError = null;
        } catch (error) {
          fail(toGatewayError(error));
        }
        await refreshStatus().catch(() => undefined);
      });
      schedule();
    },
    async stop() {
      if (!isRunning) return;
      isRunning = false;
      if (timer !== null) timers.clearTimeout(timer);
      timer = null;
      status = { ...status, isRunning: false };
      // A send in flight cannot be cancelled; if it outlives the deadline, the next start reconciles it.
      await withDeadline(queue, {
        timers,
        ms: stopTimeoutMs,
        operation: 'anchoring.stop',
        code: 'LEDGER_UNAVAILABLE',
      }).catch((error: unknown) =>
        options.log?.warn({ code: toGatewayError(error).code }, 'anchoring stopped with work in flight'),
      );
    },
    flushNow: () => exclusive(() => cycle(true)),
    reconcileSoon() {
      isReconciled = false;
      nextRetryAt = null;
    },
    status: () => status,
  };
}
