// The DuckDB side of the consent log: the event chain, the audit chain, idempotency rows and the consent_current
// projection table. The only consent module that speaks SQL. Chains follow event.ts / audit.ts (RFC 8785 + SHA-256).
import { LIST, VARCHAR, listValue, timestampTZValue } from '@duckdb/node-api';
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';
import type { Database, SqlValue, Transaction } from '../core/database.ts';
import { GENESIS_HASH } from './canonical.ts';
import { AuditKind, verifyAuditChain, type AuditEntry } from './audit.ts';
import { JOURNAL_COLUMNS, openAuditJournal, type AuditJournal } from './audit-journal.ts';
import type { ChainHead, CommitBatch, CurrentChange, CurrentRow, IdempotencyRow } from './commit-batch.ts';
import { Actor, verifyEventChain, type ChainPoint, type EventKeys, type LogEvent } from './event.ts';
import { isPseudonym } from './pseudonym.ts';
import { Instant } from './record.ts';

const MIGRATIONS = [
  {
    id: '001-consent-log',
    sql: `
CREATE TABLE events (seq BIGINT PRIMARY KEY, event_id VARCHAR NOT NULL, kind VARCHAR NOT NULL, type VARCHAR NOT NULL,
  subject_or_partner VARCHAR NOT NULL, record_id VARCHAR NOT NULL, occurred_at TIMESTAMPTZ NOT NULL, actor VARCHAR NOT NULL,
  payload VARCHAR NOT NULL, prev_hash VARCHAR NOT NULL, hash VARCHAR NOT NULL, signature VARCHAR NOT NULL, key_id VARCHAR NOT NULL);
CREATE TABLE audit (seq BIGINT PRIMARY KEY, entry_id VARCHAR NOT NULL, occurred_at TIMESTAMPTZ NOT NULL, kind VARCHAR NOT NULL,
  actor VARCHAR NOT NULL, action VARCHAR NOT NULL, outcome VARCHAR NOT NULL, refs VARCHAR[] NOT NULL, detail VARCHAR NOT NULL,
  prev_hash VARCHAR NOT NULL, hash VARCHAR NOT NULL);
CREATE TABLE idempotency (key VARCHAR PRIMARY KEY, request_hash VARCHAR NOT NULL, response VARCHAR NOT NULL, created_at TIMESTAMPTZ NOT NULL);
CREATE TABLE consent_current (record_id VARCHAR NOT NULL, subject VARCHAR NOT NULL, controller VARCHAR NOT NULL, status VARCHAR NOT NULL,
  purposes VARCHAR[] NOT NULL, recipients VARCHAR[] NOT NULL, not_before TIMESTAMPTZ NOT NULL, expires_at TIMESTAMPTZ)`,
  },
];
// Why a table and not a view over `events`: a view would re-fold the lifecycle in SQL (JSON extraction plus a
// window per record) on every bulk filter. The table holds each record's folded state, written in the same
// transaction as the events that changed it, so the filter is one hash join; it can be rebuilt from the log.
// No primary key on consent_current: rows are replaced by DELETE + append within one transaction.

/** Audit listing filters: `from` inclusive, `to` exclusive, `afterSeq` as a cursor; results in seq order. */
/** A record of a consent basis: its id, subject, and the hash of the event that put it in force (hex). */
export type CoveringRecord = { recordId: string; subject: string; eventHash: string };

export const AuditQuery = z
  .object({
    from: Instant.optional(),
    to: Instant.optional(),
    kind: AuditKind.optional(),
    actor: Actor.optional(),
    ref: z.string().min(1).max(128).optional(),
    limit: z.number().int().min(1).max(1000).default(100),
    afterSeq: z.number().int().min(0).optional(),
  })
  .strict();
export type AuditQuery = z.input<typeof AuditQuery>;

export type ChainVerification =
  | { ok: true; events: number; audit: number }
  | {
      ok: false;
      chain: 'events' | 'audit';
      seq: number;
      id: string | null;
      reason: 'hash-mismatch' | 'bad-signature' | 'broken-link' | 'seq-gap' | 'truncated';
    };

export type ConsentStore = {
  /** Chain heads as durable (what the journal holds included); updated after each successful commit. */
  readonly heads: { events: ChainHead; audit: ChainHead };
  /** Chain entries (audit entries and events) in the journal and not yet in the tables. */
  readonly journalPending: number;
  /** False when the audit journal refuses appends after a write it could not undo (see audit-journal.ts). */
  readonly isJournalWritable: boolean;
  /**
   * What start-up found in the audit journal: audit entries and events moved into the tables, bytes of a cut-short
   * append dropped.
   */
  readonly journalRecovery: { moved: number; movedEvents: number; discardedBytes: number };
  readEvents(afterSeq: number, limit: number): Promise<LogEvent[]>;
  /** The events with these seqs, in seq order (seqs that do not exist are simply absent). */
  readEventsBySeq(seqs: readonly number[]): Promise<LogEvent[]>;
  streamEvents(): AsyncGenerator<LogEvent>;
  findIdempotency(keys: string[]): Promise<Map<string, { requestHash: string; response: string }>>;
  /**
   * Makes a batch durable as a whole: events, their audit entries, idempotency rows and consent_current changes.
   * With a journal (a database file) that is one journal line; the rows move into the tables later, all of them in
   * one transaction. Without one (an in-memory database) it is one transaction. Commits take effect in call order,
   * which is seq order, so a batch still being made (its events waiting for their signatures) is passed as a
   * promise: its turn is taken at the call. The in-memory store begins its transaction while the signatures are made.
   */
  commit(batch: CommitBatch | Promise<CommitBatch>): Promise<void>;
  /**
   * Moves what is journaled into the tables. Every read of a table here does it first (a lookup by seq or
   * idempotency key reads what is journaled from memory instead); a reader of the tables outside this module
   * (anchoring) calls it before reading up to `settledHeads()`.
   */
  settle(): Promise<void>;
  /** The heads' seqs once settled: what a reader of both tables (anchoring) may read up to. */
  settledHeads(): Promise<{ events: number; audit: number }>;
  /** Moves what is journaled and closes the journal; the database stays open. */
  close(): Promise<void>;
  /** Rebuilds consent_current from folded states when its row count disagrees with the log's. */
  syncCurrent(rows: Iterable<CurrentRow>, recordCount: number): Promise<boolean>;
  filterSubjects(subjects: readonly string[], purpose: string, recipient: string, at: Date): Promise<string[]>;
  /**
   * The complement: the distinct subjects whose consent does not cover (purpose, recipient) at `at`, in input order.
   */
  uncoveredSubjects(subjects: readonly string[], purpose: string, recipient: string, at: Date): Promise<string[]>;
  /**
   * The records in force at `at` of the subjects among `subjects` that consent to at least one of `purposes`, for
   * `recipient` or, without one, for any: a data package's consent basis (exchange/consent-basis.ts). Sorted by id.
   */
  coveringRecords(
    subjects: readonly string[],
    purposes: readonly string[],
    at: Date,
    recipient?: string,
  ): Promise<CoveringRecord[]>;
  listAudit(query: AuditQuery): Promise<AuditEntry[]>;
  /** Walks both chains; events are checked with the key their keyId names (`keys`: one key or the gateway's ring). */
  verifyChains(keys: EventKeys): Promise<ChainVerification>;
};

// Replay and verification read the log a page at a time; small pages die young, which keeps the start-up peak low.
const PAGE = 1000;
const MAX_FILTER_SUBJECTS = 1_000_000;
const EVENT_COLUMNS =
  'seq, event_id, kind, type, subject_or_partner, record_id, occurred_at, actor, payload, prev_hash, hash, signature, key_id';
const AUDIT_COLUMNS = 'seq, entry_id, occurred_at, kind, actor, action, outcome, refs, detail, prev_hash, hash';
const VARCHAR_LIST = LIST(VARCHAR);

const microsAt = (ms: number) => timestampTZValue(BigInt(ms) * 1000n);
const micros = (iso: string) => microsAt(Date.parse(iso));
const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : String(value));
// A row edited into invalid JSON still has to come back as a value so the hash check can name it.
const parseJson = (text: unknown): unknown => {
  try {
    return JSON.parse(String(text));
  } catch {
    return String(text);
  }
};

function rowToEvent(r: Record<string, unknown>): LogEvent {
  return {
    seq: Number(r.seq),
    eventId: String(r.event_id),
    kind: String(r.kind) as LogEvent['kind'],
    type: String(r.type) as LogEvent['type'],
    subjectOrPartner: String(r.subject_or_partner),
    recordId: String(r.record_id),
    at: iso(r.occurred_at),
    actor: String(r.actor),
    payload: parseJson(r.payload),
    prevHash: String(r.prev_hash),
    hash: String(r.hash),
    signature: String(r.signature),
    keyId: String(r.key_id),
  };
}

function rowToAudit(r: Record<string, unknown>): AuditEntry {
  return {
    seq: Number(r.seq),
    entryId: String(r.entry_id),
    at: iso(r.occurred_at),
    kind: String(r.kind) as AuditEntry['kind'],
    actor: String(r.actor),
    action: String(r.action),
    outcome: String(r.outcome) as AuditEntry['outcome'],
    refs: Array.isArray(r.refs) ? r.refs.map(String) : [],
    detail: parseJson(r.detail) as AuditEntry['detail'],
    prevHash: String(r.prev_hash),
    hash: String(r.hash),
  };
}

async function appendCurrent(tx: Transaction, rows: Iterable<CurrentRow>): Promise<void> {
  const a = await tx.appender('consent_current');
  for (const r of rows) {
    a.appendVarchar(r.recordId);
    a.appendVarchar(r.subject);
    a.appendVarchar(r.controller);
    a.appendVarchar(r.status);
    a.appendList(listValue([...r.purposes]), VARCHAR_LIST);
    a.appendList(listValue([...r.recipients]), VARCHAR_LIST);
    a.appendTimestampTZ(microsAt(r.notBeforeMs));
    if (r.expiresAtMs === null) a.appendNull();
    else a.appendTimestampTZ(microsAt(r.expiresAtMs));
    a.endRow();
  }
  a.closeSync();
}

const isAuditOnly = (batch: CommitBatch): boolean =>
  batch.events.length === 0 && batch.idempotency.length === 0 && batch.current.length === 0;

async function insertBatch(tx: Transaction, batch: CommitBatch): Promise<void> {
  if (batch.events.length > 0) {
    const a = await tx.appender('events');
    for (const e of batch.events) {
      a.appendBigInt(BigInt(e.seq));
      a.appendVarchar(e.eventId);
      a.appendVarchar(e.kind);
      a.appendVarchar(e.type);
      a.appendVarchar(e.subjectOrPartner);
      a.appendVarchar(e.recordId);
      a.appendTimestampTZ(micros(e.at));
      a.appendVarchar(e.actor);
      a.appendVarchar(JSON.stringify(e.payload));
      a.appendVarchar(e.prevHash);
      a.appendVarchar(e.hash);
      a.appendVarchar(e.signature);
      a.appendVarchar(e.keyId);
      a.endRow();
    }
    a.closeSync();
  }
  if (batch.audit.length > 0) {
    const a = await tx.appender('audit');
    for (const e of batch.audit) {
      a.appendBigInt(BigInt(e.seq));
      a.appendVarchar(e.entryId);
      a.appendTimestampTZ(micros(e.at));
      a.appendVarchar(e.kind);
      a.appendVarchar(e.actor);
      a.appendVarchar(e.action);
      a.appendVarchar(e.outcome);
      a.appendList(listValue(e.refs), VARCHAR_LIST);
      a.appendVarchar(JSON.stringify(e.detail));
      a.appendVarchar(e.prevHash);
      a.appendVarchar(e.hash);
      a.endRow();
    }
    a.closeSync();
  }
  if (batch.idempotency.length > 0) {
    const a = await tx.appender('idempotency');
    for (const r of batch.idempotency) {
      a.appendVarchar(r.key);
      a.appendVarchar(r.requestHash);
      a.appendVarchar(r.response);
      a.appendTimestampTZ(micros(r.createdAt));
      a.endRow();
    }
    a.closeSync();
  }
  // Ids are UUIDs, so a comma-joined string is an unambiguous list parameter.
  const replaced = batch.current.filter((c) => !c.isNew).map((c) => c.row.recordId);
  if (replaced.length > 0) {
    await tx.run("DELETE FROM consent_current WHERE record_id IN (SELECT unnest(string_split($1, ',')))", [
      replaced.join(','),
    ]);
  }
  if (batch.current.length > 0)
    await appendCurrent(
      tx,
      batch.current.map((c) => c.row),
    );
}

/**
 * Journaled batches as one, for one move. A record changed in several keeps its last row; it replaces a row of the
 * table only if it was already there before the first of them (`isNew` of its first change).
 */
function mergeBatches(batches: readonly CommitBatch[]): CommitBatch {
  const current = new Map<string, CurrentChange>();
  for (const change of batches.flatMap((b) => b.current)) {
    current.set(change.row.recordId, {
      row: change.row,
      isNew: current.get(change.row.recordId)?.isNew ?? change.isNew,
    });
  }
  return {
    events: batches.flatMap((b) => b.events),
    audit: batches.flatMap((b) => b.audit),
    idempotency: batches.flatMap((b) => b.idempotency),
    current: [...current.values()],
  };
}

/**
 * Up to `limit` rows of a chain table after `afterSeq`, in seq order. Up to the committed head the seqs are gapless
 * (each entry links to seq - 1), so such a page is a seq range, which DuckDB answers from its zone maps; the general
 * "seq > x ORDER BY seq LIMIT n" sorts every later row and made reading a whole log quadratic (minutes at 1M).
 * A hole left by a deleted row only makes a range page short.
 */
async function readChainPage({
  db,
  table,
  columns,
  headSeq,
  afterSeq,
  limit,
}: {
  db: Database;
  table: 'events' | 'audit';
  columns: string;
  headSeq: number;
  afterSeq: number;
  limit: number;
}) {
  if (afterSeq + limit <= headSeq)
    return db.all(`SELECT ${columns} FROM ${table} WHERE seq > $1 AND seq <= $2 ORDER BY seq`, [
      afterSeq,
      afterSeq + limit,
    ]);
  return db.all(`SELECT ${columns} FROM ${table} WHERE seq > $1 ORDER BY seq LIMIT $2`, [afterSeq, limit]);
}

/**
 * A chain table a page at a time, in seq order, to the end (past `headSeq`, the committed head, if rows are there).
 * The next page is asked for before the current one is handed over, so DuckDB reads it on its own thread while this
 * one folds or verifies the current page. A short page before the head is a hole, not the end: reading goes on.
 */
async function* pagesInSeqOrder<T extends { seq: number }>(
  read: (afterSeq: number, limit: number) => Promise<T[]>,
  headSeq: number,
): AsyncGenerator<T[]> {
  let next = read(0, PAGE);
  for (;;) {
    const page = await next;
    const last = page.at(-1);
    const isLast = last === undefined || (page.length < PAGE && last.seq >= headSeq);
    if (!isLast) {
      next = read(last.seq, PAGE);
      // A consumer that stops early (a broken link found) leaves this read unawaited: its failure is not news.
      next.catch(() => undefined);
    }
    yield page;
    if (isLast) return;
  }
}

const auditHeadOf = (e: AuditEntry): ChainHead => ({ seq: e.seq, hash: e.hash, id: e.entryId });
const eventHeadOf = (e: LogEvent): ChainHead => ({ seq: e.seq, hash: e.hash, id: e.eventId });

async function readHead(db: Database, table: 'events' | 'audit', idColumn: string): Promise<ChainHead> {
  const [row] = await db.all(`SELECT seq, hash, ${idColumn} AS id FROM ${table} ORDER BY seq DESC LIMIT 1`);
  return row === undefined
    ? { seq: 0, hash: GENESIS_HASH, id: null }
    : { seq: Number(row.seq), hash: String(row.hash), id: String(row.id) };
}

// When the journal moves into the tables even without a reader asking: a bound on its size, and on how long the
// tables lag behind. A move of a few thousand rows costs about 10 µs of CPU per audit entry written alone (parsed on
// DuckDB's own thread) and 20–35 µs per row of a consent batch (appended from memory, on the request thread). What
// is journaled is also held in memory until it moves, so this bounds that memory too: about 3 KB per consent write.
const MOVE_AT_ENTRIES = 4096;
/**
 * While moves fail (DuckDB's disk full, say), appends would still succeed and what is held in memory would grow
 * without bound. At this many times the move size a commit moves first, and fails if the move does.
 */
const HOLD_AT_MOST_MOVES = 4;
/** DuckDB read_json's default maximum_object_size. */
const JSON_OBJECT_LIMIT = 16 * 1024 * 1024;
const MOVE_AFTER_MS = 1000;

export type ConsentStoreOptions = {
  /** How long after the first pending entry the journal moves on its own (default 1 s). */
  moveAfterMs?: number;
  /** How many chain entries the journal holds before it moves on its own (default 4,096). */
  moveAtEntries?: number;
};

/** The audit journal of a database file: beside it, as DuckDB's own WAL. An in-memory database has none. */
export const auditJournalPathOf = (db: Database): string | null =>
  db.path === ':memory:' ? null : `${db.path}.audit-journal`;

/**
 * Migrates (owner 'consent'), reads the chain heads and recovers the audit journal (audit-journal.ts) into the
 * tables. Throws STORE_UNAVAILABLE if the database is closed.
 */
export async function openConsentStore(db: Database, options: ConsentStoreOptions = {}): Promise<ConsentStore> {
  const moveAfterMs = options.moveAfterMs ?? MOVE_AFTER_MS;
  if (!Number.isFinite(moveAfterMs) || moveAfterMs <= 0)
    throw new GatewayError('BAD_INPUT', 'moveAfterMs must be a positive number of ms');
  const moveAtEntries = options.moveAtEntries ?? MOVE_AT_ENTRIES;
  if (!Number.isSafeInteger(moveAtEntries) || moveAtEntries < 1)
    throw new GatewayError('BAD_INPUT', 'moveAtEntries must be a positive integer');
  await db.migrate('consent', MIGRATIONS);
  const heads = { events: await readHead(db, 'events', 'event_id'), audit: await readHead(db, 'audit', 'entry_id') };
  // The tables' last seqs; `heads` run ahead of them by what the journal holds.
  let tableAuditSeq = heads.audit.seq;
  let tableEventsSeq = heads.events.seq;
  const journalPath = auditJournalPathOf(db);
  const opened = journalPath === null ? null : await openAuditJournal(journalPath, heads);
  const journal: AuditJournal | null = opened?.journal ?? null;

  // The journal's consent batches, in memory until they move: the move appends their rows from here, and a lookup
  // by seq or idempotency key answers from here without waiting for a move.
  let journaledBatches: CommitBatch[] = [];
  const journaledEvents = new Map<number, LogEvent>();
  const journaledIdempotency = new Map<string, IdempotencyRow>();
  /** Moves the heads past a batch made durable. */
  const advanceHeads = (batch: CommitBatch): void => {
    const lastEvent = batch.events.at(-1);
    const lastAudit = batch.audit.at(-1);
    if (lastEvent !== undefined) heads.events = eventHeadOf(lastEvent);
    if (lastAudit !== undefined) heads.audit = auditHeadOf(lastAudit);
  };
  const holdJournaled = (batch: CommitBatch): void => {
    journaledBatches.push(batch);
    for (const e of batch.events) journaledEvents.set(e.seq, e);
    for (const r of batch.idempotency) journaledIdempotency.set(r.key, r);
    advanceHeads(batch);
  };

  // Recovery: the journal's lines in file order. Entries written alone and batches interleave in seq order.
  const recovered = opened?.contents ?? { entries: [], batches: [] };
  for (const batch of recovered.batches) holdJournaled(batch);
  const lastAlone = recovered.entries.at(-1);
  if (lastAlone !== undefined && lastAlone.seq > heads.audit.seq) heads.audit = auditHeadOf(lastAlone);
  const recoveredAudit = recovered.entries.length + recovered.batches.reduce((n, b) => n + b.audit.length, 0);
  const recoveredEvents = journaledEvents.size;

  // Journal appends, moves and commits run one at a time: a move takes exactly what the journal holds.
  let lane: Promise<unknown> = Promise.resolve();
  const inLane = <T>(work: () => Promise<T>): Promise<T> => {
    const next = lane.then(work, work);
    lane = next.catch(() => undefined);
    return next;
  };

  /**
   * Empties the journal once the table holds all of it. If that fails, the table is still whole and what was
   * committed stays answered: the journal refuses appends from then on (readiness reports it), and a restart skips
   * its lines by seq.
   */
  const emptyMoved = (moved: AuditJournal): Promise<void> => moved.clear().catch(() => undefined);

  /**
   * Inside a transaction: everything journaled. Audit entries written alone are parsed by DuckDB from the file; the
   * batches' rows are appended from memory, one appender per table for all of them.
   */
  const insertJournaled = async (
    tx: Transaction,
    journaled: AuditJournal,
    through: { events: number; audit: number },
  ): Promise<void> => {
    // read_json refuses a line longer than maximum_object_size (16 MB unless told); a batch line of 2,048 large
    // grants can be longer, and a refused move would stop every read. No line is longer than the file.
    const maxLine = Math.max(JSON_OBJECT_LIMIT, journaled.bytes);
    await tx.run(
      `INSERT INTO audit SELECT seq, entryId, "at"::TIMESTAMPTZ, kind, actor, action, outcome, refs, detail, prevHash, hash
      FROM read_json($1, format = 'newline_delimited', columns = ${JOURNAL_COLUMNS}, maximum_object_size = ${maxLine}) WHERE seq > $2`,
      [journaled.path, tableAuditSeq],
    );
    await insertBatch(tx, mergeBatches(journaledBatches));
    const [row] = await tx.all('SELECT (SELECT max(seq) FROM audit) AS audit, (SELECT max(seq) FROM events) AS events');
    const moved = { events: Number(row?.events ?? 0), audit: Number(row?.audit ?? 0) };
    // The file is what this process wrote and fdatasync'd; anything else in it is damage, and must not be half moved.
    if (moved.audit !== through.audit || moved.events !== through.events) {
      throw new GatewayError('INTERNAL', 'the audit journal did not move whole into the tables', {
        expectedSeq: through.audit,
        tableSeq: moved.audit,
        expectedEventSeq: through.events,
        tableEventSeq: moved.events,
      });
    }
  };

  const move = async (): Promise<void> => {
    if (journal === null || journal.pending === 0) return;
    const through = { events: heads.events.seq, audit: heads.audit.seq };
    await db.transaction((tx) => insertJournaled(tx, journal, through));
    tableAuditSeq = through.audit;
    tableEventsSeq = through.events;
    journaledBatches = [];
    journaledEvents.clear();
    journaledIdempotency.clear();
    await emptyMoved(journal);
  };
  const settle = (): Promise<void> => (journal === null || journal.pending === 0 ? Promise.resolve() : inLane(move));

  let moveTimer: ReturnType<typeof setTimeout> | undefined;
  const scheduleMove = (pending: number): void => {
    // A failed move leaves the journal as it was; the next reader's settle() retries it and reports the error.
    if (pending >= moveAtEntries) void settle().catch(() => undefined);
    else if (moveTimer === undefined) {
      moveTimer = setTimeout(() => {
        moveTimer = undefined;
        void settle().catch(() => undefined);
      }, moveAfterMs);
      moveTimer.unref();
    }
  };

  if (journal !== null && journal.pending > 0) await move();

  const readEvents = async (afterSeq: number, limit: number) => {
    await settle();
    const rows = await readChainPage({
      db,
      table: 'events',
      columns: EVENT_COLUMNS,
      headSeq: tableEventsSeq,
      afterSeq,
      limit,
    });
    return rows.map(rowToEvent);
  };
  const readAudit = async (afterSeq: number, limit: number) => {
    const rows = await readChainPage({
      db,
      table: 'audit',
      columns: AUDIT_COLUMNS,
      headSeq: tableAuditSeq,
      afterSeq,
      limit,
    });
    return rows.map(rowToAudit);
  };

  /**
   * Runs `query` with `subjects` loaded as the temp table filter_candidates (ord, subject), after the checks every
   * bulk filter makes: at most MAX_FILTER_SUBJECTS pseudonyms and a valid time.
   */
  const withCandidates = async <T>(
    subjects: readonly string[],
    at: Date,
    query: (tx: Transaction) => Promise<T>,
    empty: T,
  ): Promise<T> => {
    if (subjects.length > MAX_FILTER_SUBJECTS)
      throw new GatewayError('PAYLOAD_TOO_LARGE', `at most ${MAX_FILTER_SUBJECTS} subjects per filter`);
    const bad = subjects.findIndex((s) => !isPseudonym(s));
    // Name the position only: a non-pseudonym here may well be a raw identifier.
    if (bad >= 0) throw new GatewayError('BAD_INPUT', 'subjects must be pseudonyms', { index: bad });
    if (Number.isNaN(at.getTime())) throw new GatewayError('BAD_INPUT', 'at is not a valid time');
    if (subjects.length === 0) return empty;
    await settle();
    return db.transaction(async (tx) => {
      // Temp tables are per connection and the database has one serialized connection, so this is private.
      await tx.run('CREATE TEMP TABLE IF NOT EXISTS filter_candidates (ord INTEGER, subject VARCHAR)');
      await tx.run('DELETE FROM filter_candidates');
      const a = await tx.appender('filter_candidates');
      subjects.forEach((s, i) => {
        a.appendInteger(i);
        a.appendVarchar(s);
        a.endRow();
      });
      a.closeSync();
      const result = await query(tx);
      await tx.run('DELETE FROM filter_candidates');
      return result;
    });
  };

  /** Records `g` in force at the time parameter `at` (the same rule as isActiveAt), for the filters below. */
  const inForceAt = (at: string) => `g.status IN ('Given', 'Renewed') AND g.not_before <= ${at}::TIMESTAMPTZ
    AND (g.expires_at IS NULL OR g.expires_at > ${at}::TIMESTAMPTZ)`;

  /** The distinct subjects of `subjects` whose consent does (or, with `isCovered` false, does not) cover the use. */
  const subjectsByCoverage = async ({
    subjects,
    purpose,
    recipient,
    at,
    isCovered,
  }: {
    subjects: readonly string[];
    purpose: string;
    recipient: string;
    at: Date;
    isCovered: boolean;
  }): Promise<string[]> =>
    withCandidates(
      subjects,
      at,
      async (tx) => {
        // One set operation: a (anti-)semi-join of the candidates with the records in force at `at`.
        const rows = await tx.all(
          `
        SELECT c.subject, min(c.ord) AS ord FROM filter_candidates c
        WHERE c.subject ${isCovered ? 'IN' : 'NOT IN'} (
          SELECT g.subject FROM consent_current g
          WHERE ${inForceAt('$3')} AND list_contains(g.purposes, $1) AND list_contains(g.recipients, $2))
        GROUP BY c.subject ORDER BY ord`,
          [purpose, recipient, at.toISOString()],
        );
        return rows.map((r) => String(r.subject));
      },
      [],
    );

  return {
    heads,
    get journalPending() {
      return journal?.pending ?? 0;
    },
    get isJournalWritable() {
      return journal === null || journal.isWritable;
    },
    journalRecovery: {
      moved: recoveredAudit,
      movedEvents: recoveredEvents,
      discardedBytes: opened?.contents.discardedBytes ?? 0,
    },
    readEvents,
    async readEventsBySeq(seqs) {
      // Taken from memory before the query: a move that commits meanwhile has put them in the table first.
      const journaled = seqs.flatMap((seq) => journaledEvents.get(seq) ?? []);
      const inTable = seqs.filter((seq) => !journaledEvents.has(seq));
      if (inTable.length === 0) return journaled.sort((a, b) => a.seq - b.seq);
      // Seqs are integers, so a comma-joined string is an unambiguous list parameter.
      const rows = await db.all(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE seq IN (SELECT unnest(string_split($1, ','))::BIGINT) ORDER BY seq`,
        [inTable.map((n) => String(Math.trunc(n))).join(',')],
      );
      return [...rows.map(rowToEvent), ...journaled].sort((a, b) => a.seq - b.seq);
    },
    async *streamEvents() {
      for await (const page of pagesInSeqOrder(readEvents, heads.events.seq)) yield* page;
    },
    async findIdempotency(keys) {
      const found = new Map<string, { requestHash: string; response: string }>();
      // As readEventsBySeq: what is journaled first, from memory.
      for (const key of keys) {
        const row = journaledIdempotency.get(key);
        if (row !== undefined) found.set(key, { requestHash: row.requestHash, response: row.response });
      }
      const inTable = keys.filter((key) => !found.has(key));
      if (inTable.length === 0) return found;
      // Keys are hex digests, so a comma-joined string is an unambiguous list parameter.
      const rows = await db.all(
        "SELECT key, request_hash, response FROM idempotency WHERE key IN (SELECT unnest(string_split($1, ',')))",
        [inTable.join(',')],
      );
      for (const r of rows)
        found.set(String(r.key), { requestHash: String(r.request_hash), response: String(r.response) });
      return found;
    },
    commit: (pending) =>
      inLane(async () => {
        if (journal !== null) {
          // In the lane already, so the move runs here, before this batch.
          if (journal.pending >= moveAtEntries * HOLD_AT_MOST_MOVES) await move();
          const batch = await pending;
          if (isAuditOnly(batch)) {
            await journal.append(batch.audit);
            advanceHeads(batch);
          } else {
            await journal.appendBatch(batch);
            holdJournaled(batch);
          }
          scheduleMove(journal.pending);
          return;
        }
        const batch = await db.transaction(async (tx) => {
          // BEGIN ran while the batch was still being signed.
          const complete = await pending;
          await insertBatch(tx, complete);
          return complete;
        });
        advanceHeads(batch);
        tableAuditSeq = heads.audit.seq;
        tableEventsSeq = heads.events.seq;
      }),
    settle,
    async settledHeads() {
      await settle();
      return { events: tableEventsSeq, audit: tableAuditSeq };
    },
    async close() {
      if (moveTimer !== undefined) clearTimeout(moveTimer);
      moveTimer = undefined;
      try {
        await settle();
      } catch {
        // Nothing to do about it at shutdown: what did not move stays in the file, durable, for the next start.
      } finally {
        await journal?.close();
      }
    },
    async syncCurrent(rows, recordCount) {
      await settle();
      const [row] = await db.all('SELECT count(*) AS n FROM consent_current');
      if (Number(row?.n ?? -1) === recordCount) return false;
      await db.transaction(async (tx) => {
        await tx.run('DELETE FROM consent_current');
        await appendCurrent(tx, rows);
      });
      return true;
    },
    filterSubjects: (subjects, purpose, recipient, at) =>
      subjectsByCoverage({ subjects, purpose, recipient, at, isCovered: true }),
    uncoveredSubjects: (subjects, purpose, recipient, at) =>
      subjectsByCoverage({ subjects, purpose, recipient, at, isCovered: false }),
    coveringRecords: (subjects, purposes, at, recipient) =>
      withCandidates(
        subjects,
        at,
        async (tx) => {
          // Each record with the hash of its latest event: the signed event that put it in force (a grant or a
          // renewal), which the subject's receipt proves.
          const rows = await tx.all(
            `SELECT g.record_id, any_value(g.subject) AS subject, arg_max(e.hash, e.seq) AS event_hash
            FROM consent_current g JOIN events e ON e.record_id = g.record_id
            WHERE g.subject IN (SELECT subject FROM filter_candidates)
              AND ${inForceAt('$2')} AND list_has_any(g.purposes, string_split($1, ','))
              AND ($3::VARCHAR IS NULL OR list_contains(g.recipients, $3::VARCHAR))
            GROUP BY g.record_id ORDER BY g.record_id`,
            // Purpose ids are lower-case letters, digits and -: a comma-joined list is unambiguous.
            [purposes.join(','), at.toISOString(), recipient ?? null],
          );
          return rows.map((r) => ({
            recordId: String(r.record_id),
            subject: String(r.subject),
            eventHash: String(r.event_hash),
          }));
        },
        [],
      ),
    async listAudit(query) {
      const q = AuditQuery.parse(query);
      await settle();
      const where: string[] = [];
      const params: SqlValue[] = [];
      const add = (clause: string, value: SqlValue) => {
        params.push(value);
        where.push(clause.replace('?', `$${params.length}`));
      };
      if (q.afterSeq !== undefined) add('seq > ?', q.afterSeq);
      if (q.from !== undefined) add('occurred_at >= ?::TIMESTAMPTZ', q.from);
      if (q.to !== undefined) add('occurred_at < ?::TIMESTAMPTZ', q.to);
      if (q.kind !== undefined) add('kind = ?', q.kind);
      if (q.actor !== undefined) add('actor = ?', q.actor);
      if (q.ref !== undefined) add('list_contains(refs, ?)', q.ref);
      params.push(q.limit);
      const sql = `SELECT ${AUDIT_COLUMNS} FROM audit ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT $${params.length}`;
      return (await db.all(sql, params)).map(rowToAudit);
    },
    async verifyChains(keys) {
      await settle();
      // The heads as of now: rows committed while the walk runs are beyond them, and do not make a shorter chain
      // look cut off.
      const eventsHead = tableEventsSeq;
      const auditHead = tableAuditSeq;
      let from: ChainPoint = { seq: 0, hash: GENESIS_HASH };
      for await (const page of pagesInSeqOrder(readEvents, eventsHead)) {
        const result = verifyEventChain(page, keys, from);
        if (!result.ok)
          return { ok: false, chain: 'events', seq: result.seq, id: result.eventId, reason: result.reason };
        const last = page.at(-1);
        if (last !== undefined) from = { seq: last.seq, hash: last.hash };
      }
      // Rows cut from the end leave a valid but shorter chain: compare with the head this process committed.
      if (from.seq < eventsHead)
        return { ok: false, chain: 'events', seq: from.seq + 1, id: null, reason: 'truncated' };
      const eventCount = from.seq;
      from = { seq: 0, hash: GENESIS_HASH };
      for await (const page of pagesInSeqOrder(readAudit, auditHead)) {
        const result = verifyAuditChain(page, from);
        if (!result.ok)
          return { ok: false, chain: 'audit', seq: result.seq, id: result.entryId, reason: result.reason };
        const last = page.at(-1);
        if (last !== undefined) from = { seq: last.seq, hash: last.hash };
      }
      if (from.seq < auditHead) return { ok: false, chain: 'audit', seq: from.seq + 1, id: null, reason: 'truncated' };
      // After a restart the heads come from the same file, so a cut-off tail looks like a shorter valid chain. Each
      // write commits its events together with a consent-write audit entry naming their hashes, so each chain
      // vouches for the other's tail: an audited hash with no event, or an event no entry names, is a cut.
      const [orphanRef] =
        await db.all(`SELECT a.ref FROM (SELECT unnest(refs) AS ref FROM audit WHERE kind = 'consent-write') a
        WHERE regexp_full_match(a.ref, '[0-9a-f]{64}') AND a.ref NOT IN (SELECT hash FROM events) LIMIT 1`);
      if (orphanRef !== undefined)
        return { ok: false, chain: 'events', seq: eventCount + 1, id: null, reason: 'truncated' };
      const [unaudited] = await db.all(`SELECT seq FROM events
        WHERE hash NOT IN (SELECT unnest(refs) FROM audit WHERE kind = 'consent-write') LIMIT 1`);
      if (unaudited !== undefined)
        return { ok: false, chain: 'audit', seq: from.seq + 1, id: null, reason: 'truncated' };
      return { ok: true, events: eventCount, audit: from.seq };
    },
  };
}
