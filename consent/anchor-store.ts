// The DuckDB side of anchoring (DESIGN.md §4 "Anchoring"): one row per Merkle batch of consent events
// and audit entries, with the root committed BEFORE its transaction is sent, and read-only access to the
// leaf hashes of the `events` and `audit` chains. Tree encoding: docs/merkle.md.
//
// The queue is not a table: what is still to batch is the gap between the last batched seq of each
// chain and that chain's head, so it survives any crash by construction. Batches cover contiguous,
// non-overlapping seq ranges (checked on insert), which is what makes "anchored exactly once" hold.
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';
import { timestampText, type Database } from '../core/database.ts';
import { Bytes32Hex, KeyId, ZERO_ROOT, type AnchorSent } from './ledger-port.ts';
import { StatusLeafValue } from './status-tree.ts';

const MIGRATIONS = [
  {
    id: '001-anchor-batches',
    sql: `
CREATE TABLE anchor_batches (batch_no BIGINT PRIMARY KEY, events_from BIGINT NOT NULL, events_to BIGINT NOT NULL,
  audit_from BIGINT NOT NULL, audit_to BIGINT NOT NULL, count INTEGER NOT NULL, root VARCHAR NOT NULL UNIQUE,
  prev_root VARCHAR NOT NULL, status VARCHAR NOT NULL, tx_hash VARCHAR, block_number BIGINT, block_time BIGINT,
  gas_used BIGINT, chain_id BIGINT, contract VARCHAR, built_at TIMESTAMPTZ NOT NULL, anchored_at TIMESTAMPTZ,
  attempts INTEGER NOT NULL, last_error VARCHAR)`,
  },
  {
    // Each anchor commits to its events' key id and the status tree root (docs/receipts.md). Rows from before stay
    // NULL until the anchoring service fills them in (anchoring.ts backfills before it sends anything).
    id: '002-anchor-commitments',
    sql: `ALTER TABLE anchor_batches ADD COLUMN key_id VARCHAR; ALTER TABLE anchor_batches ADD COLUMN state_root VARCHAR`,
  },
];

export const RecordChain = z.enum(['events', 'audit']);
export type RecordChain = z.infer<typeof RecordChain>;

export const BatchStatus = z.enum(['built', 'anchored']);
export type BatchStatus = z.infer<typeof BatchStatus>;

/**
 * One batch. Leaves are the event hashes of [eventsFrom, eventsTo] in seq order, then the audit hashes of
 * [auditFrom, auditTo] in seq order; an empty range has to = from - 1. The anchor fields are null until
 * status is 'anchored'.
 */
export const AnchorBatch = z.object({
  batchNo: z.number().int().min(1),
  eventsFrom: z.number().int().min(1),
  eventsTo: z.number().int().min(0),
  auditFrom: z.number().int().min(1),
  auditTo: z.number().int().min(0),
  count: z.number().int().min(1),
  root: Bytes32Hex,
  prevRoot: Bytes32Hex,
  status: BatchStatus,
  txHash: z.string().nullable(),
  blockNumber: z.number().int().nullable(),
  blockTime: z.number().int().nullable(),
  gasUsed: z.number().int().nullable(),
  chainId: z.number().int().nullable(),
  contract: z.string().nullable(),
  builtAt: z.string(),
  anchoredAt: z.string().nullable(),
  attempts: z.number().int().min(0),
  lastError: z.string().nullable(),
  /** The key id the batch's events were signed with (every event of a batch has the same); null on rows from before. */
  keyId: KeyId.nullable(),
  /** The status tree root as of eventsTo (consent/status-tree.ts); null on rows from before. */
  stateRoot: Bytes32Hex.nullable(),
});
export type AnchorBatch = z.infer<typeof AnchorBatch>;

export type NewBatch = Pick<
  AnchorBatch,
  'batchNo' | 'eventsFrom' | 'eventsTo' | 'auditFrom' | 'auditTo' | 'root' | 'prevRoot'
> & { keyId: string; stateRoot: Bytes32Hex };

/** Every consent and delegation record's last event up to some seq: the status tree's leaves. */
export type StatusLeafRow = StatusLeafValue;
export type AnchoredAt = Omit<AnchorSent, 'gasUsed'> & { gasUsed: number | null; chainId: number; contract: string };
export type ChainHeads = { events: number; audit: number };

/** Records committed and not yet in an anchored batch: how many, and when the oldest of them occurred. */
export type AnchoringBacklog = { pendingRecords: number; oldestPendingAt: string | null };

export type AnchorStore = {
  /** Highest committed seq of each chain (0 when empty). */
  readHeads(): Promise<ChainHeads>;
  /** Highest seq of each chain already in some batch (0 when none). */
  readBatchedUpTo(): Promise<ChainHeads>;
  /**
   * What is committed up to `heads` and not yet anchored (built batches count as pending). The oldest is read from the
   * tables: while it is still in the audit journal (about a second) it is null, and it is younger than that anyway.
   */
  readBacklog(heads: ChainHeads): Promise<AnchoringBacklog>;
  lastBatch(): Promise<AnchorBatch | null>;
  lastAnchoredBatch(): Promise<AnchorBatch | null>;
  getBatch(batchNo: number): Promise<AnchorBatch | null>;
  findBatchByRoot(root: string): Promise<AnchorBatch | null>;
  /** The batch whose range holds `seq` of `chain`, or null while it is still unbatched. */
  findBatchOf(chain: RecordChain, seq: number): Promise<AnchorBatch | null>;
  /** Batches in batch order, after `afterBatchNo`; for reports and reconciliation. */
  listBatches(afterBatchNo: number, limit: number): Promise<AnchorBatch[]>;
  listBuilt(): Promise<AnchorBatch[]>;
  hasRecordedAnchors(): Promise<boolean>;
  /** Record hashes (hex) of seq `from`..`to` of `chain`, in seq order. INTERNAL if the range has a gap. */
  readLeafHashes(chain: RecordChain, from: number, to: number): Promise<string[]>;
  /** A batch's leaves in tree order: event hashes, then audit hashes. */
  readBatchLeaves(batch: AnchorBatch): Promise<string[]>;
  /**
   * The key id of event `from` and the first seq in (from, to] signed with another key, or null when none is: a batch
   * ends before a key change, so every batch has one key.
   */
  readKeyRun(from: number, to: number): Promise<{ keyId: string; changesAt: number | null }>;
  /** The key id of the newest event at or before `seq`, or null when there is none. */
  readKeyIdAt(seq: number): Promise<string | null>;
  /**
   * Each record's last event with seq ≤ `upTo` (consent and delegation records alike); with `after`, only records with
   * an event in (after, upTo]: what changed between two points.
   */
  readStatusLeaves(upTo: number, after?: number): Promise<StatusLeafRow[]>;
  /** One record's last event with seq ≤ `upTo`, or null. */
  readStatusLeaf(recordId: string, upTo: number): Promise<StatusLeafRow | null>;
  /** Fills in the commitment of a row from before migration 002; CONFLICT if the row already has another. */
  setCommitment(batchNo: number, keyId: string, stateRoot: Bytes32Hex): Promise<void>;
  /** Commits a 'built' batch; CONFLICT unless it continues the last batch exactly (number, ranges, prevRoot). */
  insertBatch(batch: NewBatch, builtAt: Date): Promise<AnchorBatch>;
  markAnchored(batchNo: number, anchor: AnchoredAt, at: Date): Promise<void>;
  recordFailure(batchNo: number, error: string): Promise<void>;
  /** Back to 'built' (the chain lost the anchor, e.g. a local chain that lost state): it is sent again as is. */
  resetToBuilt(batchNo: number, reason: string): Promise<void>;
};

const COLUMNS = `batch_no, events_from, events_to, audit_from, audit_to, count, root, prev_root, status, tx_hash, block_number,
  block_time, gas_used, chain_id, contract, built_at, anchored_at, attempts, last_error, key_id, state_root`;
const MAX_ERROR_CHARS = 500;

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const iso = (v: unknown): string | null => (v === null || v === undefined ? null : timestampText(v));

function rowToBatch(r: Record<string, unknown>): AnchorBatch {
  return AnchorBatch.parse({
    batchNo: num(r.batch_no),
    eventsFrom: num(r.events_from),
    eventsTo: num(r.events_to),
    auditFrom: num(r.audit_from),
    auditTo: num(r.audit_to),
    count: num(r.count),
    root: str(r.root),
    prevRoot: str(r.prev_root),
    status: str(r.status),
    txHash: str(r.tx_hash),
    blockNumber: num(r.block_number),
    blockTime: num(r.block_time),
    gasUsed: num(r.gas_used),
    chainId: num(r.chain_id),
    contract: str(r.contract),
    builtAt: iso(r.built_at),
    anchoredAt: iso(r.anchored_at),
    attempts: num(r.attempts),
    lastError: str(r.last_error),
    keyId: str(r.key_id),
    stateRoot: str(r.state_root),
  });
}

const statusLeafOf = (r: Record<string, unknown>): StatusLeafRow =>
  StatusLeafValue.parse({
    recordId: String(r.record_id),
    kind: String(r.kind),
    lastEventSeq: Number(r.seq),
    lastEventType: String(r.type),
    lastEventHash: String(r.hash),
  });

/** Records in a batch from its ranges; the ranges are authoritative, `count` is what goes on chain. */
export const countOf = (b: Pick<AnchorBatch, 'eventsFrom' | 'eventsTo' | 'auditFrom' | 'auditTo'>): number =>
  b.eventsTo - b.eventsFrom + 1 + (b.auditTo - b.auditFrom + 1);

/** Migrates (owner 'anchor'). Open it after openConsentStore: it reads the `events` and `audit` tables. */
export async function openAnchorStore(db: Database): Promise<AnchorStore> {
  await db.migrate('anchor', MIGRATIONS);
  const one = async (sql: string, params: (string | number)[] = []): Promise<AnchorBatch | null> => {
    const [row] = await db.all(`SELECT ${COLUMNS} FROM anchor_batches ${sql} LIMIT 1`, params);
    return row === undefined ? null : rowToBatch(row);
  };
  const readLeafHashes = async (chain: RecordChain, from: number, to: number): Promise<string[]> => {
    if (to < from) return [];
    const table = RecordChain.parse(chain); // an identifier, so never from input unparsed
    const rows = await db.all(`SELECT seq, hash FROM ${table} WHERE seq BETWEEN $1 AND $2 ORDER BY seq`, [from, to]);
    rows.forEach((r, i) => {
      // Both chains are gapless by construction; a gap means rows were deleted, and a proof over it would lie.
      if (Number(r.seq) !== from + i)
        throw new GatewayError('INTERNAL', `the ${table} chain has a gap`, {
          chain: table,
          seq: from + i,
          reason: 'seq-gap',
        });
    });
    if (rows.length !== to - from + 1)
      throw new GatewayError('INTERNAL', `the ${table} chain has a gap`, {
        chain: table,
        seq: from + rows.length,
        reason: 'seq-gap',
      });
    return rows.map((r) => String(r.hash));
  };

  return {
    async readHeads() {
      const [row] = await db.all(
        'SELECT (SELECT coalesce(max(seq), 0) FROM events) AS e, (SELECT coalesce(max(seq), 0) FROM audit) AS a',
      );
      return { events: Number(row?.e ?? 0), audit: Number(row?.a ?? 0) };
    },
    async readBatchedUpTo() {
      const [row] = await db.all(
        'SELECT coalesce(max(events_to), 0) AS e, coalesce(max(audit_to), 0) AS a FROM anchor_batches',
      );
      return { events: Number(row?.e ?? 0), audit: Number(row?.a ?? 0) };
    },
    async readBacklog(heads) {
      // Batches are anchored in batch order, so the anchored ones cover each chain up to their highest seq.
      const [row] = await db.all(
        `WITH anchored AS (SELECT coalesce(max(events_to), 0) AS events_upto, coalesce(max(audit_to), 0) AS audit_upto
          FROM anchor_batches WHERE status = 'anchored')
        SELECT events_upto, audit_upto, least((SELECT occurred_at FROM events WHERE seq = events_upto + 1),
          (SELECT occurred_at FROM audit WHERE seq = audit_upto + 1)) AS oldest FROM anchored`,
      );
      const pendingRecords =
        Math.max(0, heads.events - Number(row?.events_upto ?? 0)) +
        Math.max(0, heads.audit - Number(row?.audit_upto ?? 0));
      return { pendingRecords, oldestPendingAt: pendingRecords === 0 ? null : iso(row?.oldest) };
    },
    lastBatch: () => one('ORDER BY batch_no DESC'),
    lastAnchoredBatch: () => one("WHERE status = 'anchored' ORDER BY batch_no DESC"),
    getBatch: (batchNo) => one('WHERE batch_no = $1', [batchNo]),
    findBatchByRoot: (root) => one('WHERE root = $1', [root.toLowerCase()]),
    findBatchOf(chain, seq) {
      const range =
        RecordChain.parse(chain) === 'events'
          ? 'events_from <= $1 AND events_to >= $1'
          : 'audit_from <= $1 AND audit_to >= $1';
      return one(`WHERE ${range}`, [seq]);
    },
    async listBatches(afterBatchNo, limit) {
      const rows = await db.all(
        `SELECT ${COLUMNS} FROM anchor_batches WHERE batch_no > $1 ORDER BY batch_no LIMIT $2`,
        [afterBatchNo, limit],
      );
      return rows.map(rowToBatch);
    },
    async listBuilt() {
      return (await db.all(`SELECT ${COLUMNS} FROM anchor_batches WHERE status = 'built' ORDER BY batch_no`)).map(
        rowToBatch,
      );
    },
    async hasRecordedAnchors() {
      const [row] = await db.all("SELECT count(*) AS n FROM anchor_batches WHERE status = 'anchored'");
      return Number(row?.n ?? 0) > 0;
    },
    readLeafHashes,
    async readBatchLeaves(batch) {
      return [
        ...(await readLeafHashes('events', batch.eventsFrom, batch.eventsTo)),
        ...(await readLeafHashes('audit', batch.auditFrom, batch.auditTo)),
      ];
    },
    async insertBatch(batch, builtAt) {
      const root = Bytes32Hex.parse(batch.root);
      const count = countOf(batch);
      if (count < 1 || batch.eventsTo < batch.eventsFrom - 1 || batch.auditTo < batch.auditFrom - 1) {
        throw new GatewayError('BAD_INPUT', 'a batch needs at least one record and well-formed ranges', {
          batchNo: batch.batchNo,
        });
      }
      return db.transaction(async (tx) => {
        // Re-read inside the write transaction: the continuity check and the insert are one atomic step.
        const [last] = await tx.all(
          `SELECT batch_no, events_to, audit_to, root FROM anchor_batches ORDER BY batch_no DESC LIMIT 1`,
        );
        const expected =
          last === undefined
            ? { batchNo: 1, eventsFrom: 1, auditFrom: 1, prevRoot: ZERO_ROOT }
            : {
                batchNo: Number(last.batch_no) + 1,
                eventsFrom: Number(last.events_to) + 1,
                auditFrom: Number(last.audit_to) + 1,
                prevRoot: String(last.root),
              };
        if (
          batch.batchNo !== expected.batchNo ||
          batch.eventsFrom !== expected.eventsFrom ||
          batch.auditFrom !== expected.auditFrom ||
          batch.prevRoot !== expected.prevRoot
        ) {
          throw new GatewayError('CONFLICT', 'batch does not continue the last batch', {
            batchNo: batch.batchNo,
            expectedBatchNo: expected.batchNo,
          });
        }
        await tx.run(
          `INSERT INTO anchor_batches (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'built', NULL, NULL, NULL, NULL, NULL, NULL,
          $9::TIMESTAMPTZ, NULL, 0, NULL, $10, $11)`,
          [
            batch.batchNo,
            batch.eventsFrom,
            batch.eventsTo,
            batch.auditFrom,
            batch.auditTo,
            count,
            root,
            batch.prevRoot,
            builtAt.toISOString(),
            KeyId.parse(batch.keyId),
            Bytes32Hex.parse(batch.stateRoot),
          ],
        );
        return {
          ...batch,
          root,
          count,
          status: 'built' as const,
          txHash: null,
          blockNumber: null,
          blockTime: null,
          gasUsed: null,
          chainId: null,
          contract: null,
          builtAt: builtAt.toISOString(),
          anchoredAt: null,
          attempts: 0,
          lastError: null,
        };
      });
    },
    async readKeyRun(from, to) {
      const [first] = await db.all('SELECT key_id FROM events WHERE seq = $1', [from]);
      if (first === undefined)
        throw new GatewayError('INTERNAL', 'the events chain has a gap', {
          chain: 'events',
          seq: from,
          reason: 'seq-gap',
        });
      const keyId = String(first.key_id);
      const [change] = await db.all(
        'SELECT min(seq) AS seq FROM events WHERE seq > $1 AND seq <= $2 AND key_id <> $3',
        [from, to, keyId],
      );
      return { keyId, changesAt: num(change?.seq) };
    },
    async readKeyIdAt(seq) {
      const [row] = await db.all('SELECT key_id FROM events WHERE seq <= $1 ORDER BY seq DESC LIMIT 1', [seq]);
      return row === undefined ? null : String(row.key_id);
    },
    async readStatusLeaves(upTo, after = 0) {
      // arg_max picks each column from the record's highest-seq event: its last event as of `upTo`.
      const rows = await db.all(
        `SELECT record_id, arg_max(kind, seq) AS kind, max(seq) AS seq, arg_max(type, seq) AS type,
          arg_max(hash, seq) AS hash FROM events WHERE seq > $1 AND seq <= $2 GROUP BY record_id`,
        [after, upTo],
      );
      return rows.map(statusLeafOf);
    },
    async readStatusLeaf(recordId, upTo) {
      const [row] = await db.all(
        `SELECT record_id, kind, seq, type, hash FROM events WHERE record_id = $1 AND seq <= $2 ORDER BY seq DESC LIMIT 1`,
        [recordId, upTo],
      );
      return row === undefined ? null : statusLeafOf(row);
    },
    async setCommitment(batchNo, keyId, stateRoot) {
      await db.transaction(async (tx) => {
        const [row] = await tx.all('SELECT key_id, state_root FROM anchor_batches WHERE batch_no = $1', [batchNo]);
        if (row === undefined) throw new GatewayError('NOT_FOUND', 'no such batch', { batchNo });
        if (row.key_id !== null && (row.key_id !== keyId || row.state_root !== stateRoot))
          throw new GatewayError('CONFLICT', 'the batch already has another commitment', { batchNo });
        await tx.run('UPDATE anchor_batches SET key_id = $2, state_root = $3 WHERE batch_no = $1', [
          batchNo,
          KeyId.parse(keyId),
          Bytes32Hex.parse(stateRoot),
        ]);
      });
    },
    async markAnchored(batchNo, a, at) {
      await db.transaction((tx) =>
        tx.run(
          `UPDATE anchor_batches SET status = 'anchored', tx_hash = $2, block_number = $3, block_time = $4,
        gas_used = $5, chain_id = $6, contract = $7, anchored_at = $8::TIMESTAMPTZ, last_error = NULL WHERE batch_no = $1`,
          [batchNo, a.txHash, a.blockNumber, a.blockTime, a.gasUsed, a.chainId, a.contract, at.toISOString()],
        ),
      );
    },
    async recordFailure(batchNo, error) {
      await db.transaction((tx) =>
        tx.run('UPDATE anchor_batches SET attempts = attempts + 1, last_error = $2 WHERE batch_no = $1', [
          batchNo,
          error.slice(0, MAX_ERROR_CHARS),
        ]),
      );
    },
    async resetToBuilt(batchNo, reason) {
      await db.transaction((tx) =>
        tx.run(
          `UPDATE anchor_batches SET status = 'built', tx_hash = NULL, block_number = NULL, block_time = NULL,
        gas_used = NULL, chain_id = NULL, contract = NULL, anchored_at = NULL, last_error = $2 WHERE batch_no = $1`,
          [batchNo, reason.slice(0, MAX_ERROR_CHARS)],
        ),
      );
    },
  };
}
