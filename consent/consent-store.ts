// The DuckDB side of the consent log: the event chain, the audit chain, idempotency rows and the consent_current
// projection table. The only consent module that speaks SQL. Chains follow event.ts / audit.ts (RFC 8785 + SHA-256).
import { LIST, VARCHAR, listValue, timestampTZValue } from '@duckdb/node-api';
import { z } from 'zod';
import { GatewayError } from '../gateway/errors.ts';
import type { Database, SqlValue, Transaction } from '../gateway/database.ts';
import { GENESIS_HASH } from './canonical.ts';
import { AuditKind, verifyAuditChain, type AuditEntry } from './audit.ts';
import { JOURNAL_COLUMNS, openAuditJournal, type AuditJournal } from './audit-journal.ts';
import { Actor, verifyEventChain, type ChainPoint, type LogEvent } from './event.ts';
import type { ConsentState } from './lifecycle.ts';
import type { ConsentStatus } from './record.ts';
import { isPseudonym } from './pseudonym.ts';
import { Instant } from './record.ts';

const MIGRATIONS = [{
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
}];
// Why a table and not a view over `events`: a view would re-fold the lifecycle in SQL (JSON extraction plus a
// window per record) on every bulk filter. The table holds each record's folded state, written in the same
// transaction as the events that changed it, so the filter is one hash join; it can be rebuilt from the log.
// No primary key on consent_current: rows are replaced by DELETE + append within one transaction.

export type ChainHead = { seq: number; hash: string; id: string | null };
export type IdempotencyRow = { key: string; requestHash: string; response: string; createdAt: string };
/** A record's row of consent_current: what the bulk filter reads of its folded state. */
export type CurrentRow = {
  recordId: string; subject: string; controller: string; status: ConsentStatus;
  purposes: readonly string[]; recipients: readonly string[]; notBeforeMs: number; expiresAtMs: number | null;
};
/** A record whose folded state changed in the batch; `isNew` when its grant is in the batch (nothing to replace). */
export type CurrentChange = { row: CurrentRow; isNew: boolean };
export type CommitBatch = { events: LogEvent[]; audit: AuditEntry[]; idempotency: IdempotencyRow[]; current: CurrentChange[] };

export function currentRowOf(state: ConsentState): CurrentRow {
  const r = state.record;
  return {
    recordId: r.recordId, subject: r.subject, controller: r.controller, status: state.status,
    purposes: r.purposes.map((p) => p.purpose), recipients: r.recipients.map((x) => x.id), notBeforeMs: state.notBeforeMs, expiresAtMs: state.expiresAtMs,
  };
}

/** Audit listing filters: `from` inclusive, `to` exclusive, `afterSeq` as a cursor; results in seq order. */
export const AuditQuery = z.object({
  from: Instant.optional(),
  to: Instant.optional(),
  kind: AuditKind.optional(),
  actor: Actor.optional(),
  ref: z.string().min(1).max(128).optional(),
  limit: z.number().int().min(1).max(1000).default(100),
  afterSeq: z.number().int().min(0).optional(),
}).strict();
export type AuditQuery = z.input<typeof AuditQuery>;

export type ChainVerification =
  | { ok: true; events: number; audit: number }
  | { ok: false; chain: 'events' | 'audit'; seq: number; id: string | null; reason: 'hash-mismatch' | 'bad-signature' | 'broken-link' | 'seq-gap' | 'truncated' };

export type ConsentStore = {
  /** Chain heads as durable (audit entries in the journal included); updated after each successful commit. */
  readonly heads: { events: ChainHead; audit: ChainHead };
  /** Audit entries in the journal and not yet in the audit table. */
  readonly journalPending: number;
  /** False when the audit journal refuses appends after a write it could not undo (see audit-journal.ts). */
  readonly isJournalWritable: boolean;
  /** What start-up found in the audit journal: entries moved into the table, bytes of a cut-short append dropped. */
  readonly journalRecovery: { moved: number; discardedBytes: number };
  readEvents(afterSeq: number, limit: number): Promise<LogEvent[]>;
  /** The events with these seqs, in seq order (seqs that do not exist are simply absent). */
  readEventsBySeq(seqs: readonly number[]): Promise<LogEvent[]>;
  streamEvents(): AsyncGenerator<LogEvent>;
  findIdempotency(keys: string[]): Promise<Map<string, { requestHash: string; response: string }>>;
  /**
   * Events, their audit entries, idempotency rows and consent_current changes in ONE transaction. A batch of audit
   * entries alone (decisions, messages, token uses) goes to the audit journal instead, when the store has one.
   * A batch still being made (its events waiting for their signatures) may be passed as a promise: the transaction
   * begins at once and takes the rows when they are ready, so BEGIN's round trip, which under load waits its turn
   * behind the request thread's other work for milliseconds, overlaps the signing. Such a batch always goes to the
   * database, so a batch of audit entries alone should be passed as it is.
   */
  commit(batch: CommitBatch | Promise<CommitBatch>): Promise<void>;
  /**
   * Moves the journaled audit entries into the audit table. Every read of the table here does it first; a reader of
   * the table outside this module (anchoring) calls it before reading up to `heads.audit`.
   */
  settle(): Promise<void>;
  /** The heads' seqs once settled: what a reader of both tables (anchoring) may read up to. */
  settledHeads(): Promise<{ events: number; audit: number }>;
  /** Moves what is journaled and closes the journal; the database stays open. */
  close(): Promise<void>;
  /** Rebuilds consent_current from folded states when its row count disagrees with the log's. */
  syncCurrent(rows: Iterable<CurrentRow>, recordCount: number): Promise<boolean>;
  filterSubjects(subjects: readonly string[], purpose: string, recipient: string, at: Date): Promise<string[]>;
  /** The complement: the distinct subjects whose consent does not cover (purpose, recipient) at `at`, in input order. */
  uncoveredSubjects(subjects: readonly string[], purpose: string, recipient: string, at: Date): Promise<string[]>;
  listAudit(query: AuditQuery): Promise<AuditEntry[]>;
  verifyChains(publicKey: Uint8Array): Promise<ChainVerification>;
};

// Replay and verification read the log a page at a time; small pages die young, which keeps the start-up peak low.
const PAGE = 1000;
const MAX_FILTER_SUBJECTS = 1_000_000;
const EVENT_COLUMNS = 'seq, event_id, kind, type, subject_or_partner, record_id, occurred_at, actor, payload, prev_hash, hash, signature, key_id';
const AUDIT_COLUMNS = 'seq, entry_id, occurred_at, kind, actor, action, outcome, refs, detail, prev_hash, hash';
const VARCHAR_LIST = LIST(VARCHAR);

const microsAt = (ms: number) => timestampTZValue(BigInt(ms) * 1000n);
const micros = (iso: string) => microsAt(Date.parse(iso));
const iso = (value: unknown) => (value instanceof Date ? value.toISOString() : String(value));
// A row edited into invalid JSON still has to come back as a value so the hash check can name it.
const parseJson = (text: unknown): unknown => { try { return JSON.parse(String(text)); } catch { return String(text); } };

function rowToEvent(r: Record<string, unknown>): LogEvent {
  return {
    seq: Number(r.seq), eventId: String(r.event_id), kind: String(r.kind) as LogEvent['kind'], type: String(r.type) as LogEvent['type'],
    subjectOrPartner: String(r.subject_or_partner), recordId: String(r.record_id), at: iso(r.occurred_at), actor: String(r.actor),
    payload: parseJson(r.payload), prevHash: String(r.prev_hash), hash: String(r.hash), signature: String(r.signature), keyId: String(r.key_id),
  };
}

function rowToAudit(r: Record<string, unknown>): AuditEntry {
  return {
    seq: Number(r.seq), entryId: String(r.entry_id), at: iso(r.occurred_at), kind: String(r.kind) as AuditEntry['kind'],
    actor: String(r.actor), action: String(r.action), outcome: String(r.outcome) as AuditEntry['outcome'],
    refs: Array.isArray(r.refs) ? r.refs.map(String) : [], detail: parseJson(r.detail) as AuditEntry['detail'],
    prevHash: String(r.prev_hash), hash: String(r.hash),
  };
}

async function appendCurrent(tx: Transaction, rows: Iterable<CurrentRow>): Promise<void> {
  const a = await tx.appender('consent_current');
  for (const r of rows) {
    a.appendVarchar(r.recordId); a.appendVarchar(r.subject); a.appendVarchar(r.controller); a.appendVarchar(r.status);
    a.appendList(listValue([...r.purposes]), VARCHAR_LIST);
    a.appendList(listValue([...r.recipients]), VARCHAR_LIST);
    a.appendTimestampTZ(microsAt(r.notBeforeMs));
    if (r.expiresAtMs === null) a.appendNull(); else a.appendTimestampTZ(microsAt(r.expiresAtMs));
    a.endRow();
  }
  a.closeSync();
}

const isAuditOnly = (batch: CommitBatch): boolean => batch.events.length === 0 && batch.idempotency.length === 0 && batch.current.length === 0;

async function appendBatch(tx: Transaction, batch: CommitBatch): Promise<void> {
  if (batch.events.length > 0) {
    const a = await tx.appender('events');
    for (const e of batch.events) {
      a.appendBigInt(BigInt(e.seq)); a.appendVarchar(e.eventId); a.appendVarchar(e.kind); a.appendVarchar(e.type);
      a.appendVarchar(e.subjectOrPartner); a.appendVarchar(e.recordId); a.appendTimestampTZ(micros(e.at)); a.appendVarchar(e.actor);
      a.appendVarchar(JSON.stringify(e.payload)); a.appendVarchar(e.prevHash); a.appendVarchar(e.hash);
      a.appendVarchar(e.signature); a.appendVarchar(e.keyId);
      a.endRow();
    }
    a.closeSync();
  }
  if (batch.audit.length > 0) {
    const a = await tx.appender('audit');
    for (const e of batch.audit) {
      a.appendBigInt(BigInt(e.seq)); a.appendVarchar(e.entryId); a.appendTimestampTZ(micros(e.at)); a.appendVarchar(e.kind);
      a.appendVarchar(e.actor); a.appendVarchar(e.action); a.appendVarchar(e.outcome); a.appendList(listValue(e.refs), VARCHAR_LIST);
      a.appendVarchar(JSON.stringify(e.detail)); a.appendVarchar(e.prevHash); a.appendVarchar(e.hash);
      a.endRow();
    }
    a.closeSync();
  }
  if (batch.idempotency.length > 0) {
    const a = await tx.appender('idempotency');
    for (const r of batch.idempotency) {
      a.appendVarchar(r.key); a.appendVarchar(r.requestHash); a.appendVarchar(r.response); a.appendTimestampTZ(micros(r.createdAt));
      a.endRow();
    }
    a.closeSync();
  }
  // Ids are UUIDs, so a comma-joined string is an unambiguous list parameter.
  const replaced = batch.current.filter((c) => !c.isNew).map((c) => c.row.recordId);
  if (replaced.length > 0) {
    await tx.run('DELETE FROM consent_current WHERE record_id IN (SELECT unnest(string_split($1, \',\')))', [replaced.join(',')]);
  }
  if (batch.current.length > 0) await appendCurrent(tx, batch.current.map((c) => c.row));
}

/**
 * Up to `limit` rows of a chain table after `afterSeq`, in seq order. Up to the committed head the seqs are gapless
 * (each entry links to seq - 1), so such a page is a seq range, which DuckDB answers from its zone maps; the general
 * "seq > x ORDER BY seq LIMIT n" sorts every later row and made reading a whole log quadratic (minutes at 1M).
 * A hole left by a deleted row only makes a range page short.
 */
async function readChainPage(db: Database, table: 'events' | 'audit', columns: string, headSeq: number, afterSeq: number, limit: number) {
  if (afterSeq + limit <= headSeq) return db.all(`SELECT ${columns} FROM ${table} WHERE seq > $1 AND seq <= $2 ORDER BY seq`, [afterSeq, afterSeq + limit]);
  return db.all(`SELECT ${columns} FROM ${table} WHERE seq > $1 ORDER BY seq LIMIT $2`, [afterSeq, limit]);
}

/**
 * A chain table a page at a time, in seq order, to the end (past `headSeq`, the committed head, if rows are there).
 * The next page is asked for before the current one is handed over, so DuckDB reads it on its own thread while this
 * one folds or verifies the current page. A short page before the head is a hole, not the end: reading goes on.
 */
async function* pagesInSeqOrder<T extends { seq: number }>(read: (afterSeq: number, limit: number) => Promise<T[]>, headSeq: number): AsyncGenerator<T[]> {
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

async function readHead(db: Database, table: 'events' | 'audit', idColumn: string): Promise<ChainHead> {
  const [row] = await db.all(`SELECT seq, hash, ${idColumn} AS id FROM ${table} ORDER BY seq DESC LIMIT 1`);
  return row === undefined ? { seq: 0, hash: GENESIS_HASH, id: null } : { seq: Number(row.seq), hash: String(row.hash), id: String(row.id) };
}

// When the journal moves into the table even without a reader asking: a bound on its size, and on how long the
// table lags behind. A move of a few thousand rows costs DuckDB about 10 µs of CPU each, on its own thread.
const MOVE_AT_ENTRIES = 4096;
const MOVE_AFTER_MS = 1000;

export type ConsentStoreOptions = {
  /** How long after the first pending entry the journal moves on its own (default 1 s). */
  moveAfterMs?: number;
};

/** The audit journal of a database file: beside it, as DuckDB's own WAL. An in-memory database has none. */
export const auditJournalPathOf = (db: Database): string | null => (db.path === ':memory:' ? null : `${db.path}.audit-journal`);

/**
 * Migrates (owner 'consent'), reads the chain heads and recovers the audit journal (audit-journal.ts) into the audit
 * table. Throws STORE_UNAVAILABLE if the database is closed.
 */
export async function openConsentStore(db: Database, options: ConsentStoreOptions = {}): Promise<ConsentStore> {
  const moveAfterMs = options.moveAfterMs ?? MOVE_AFTER_MS;
  if (!Number.isFinite(moveAfterMs) || moveAfterMs <= 0) throw new GatewayError('BAD_INPUT', 'moveAfterMs must be a positive number of ms');
  await db.migrate('consent', MIGRATIONS);
  const heads = { events: await readHead(db, 'events', 'event_id'), audit: await readHead(db, 'audit', 'entry_id') };
  // The audit table's last seq; `heads.audit` runs ahead of it by what the journal holds.
  let tableAuditSeq = heads.audit.seq;
  const journalPath = auditJournalPathOf(db);
  const opened = journalPath === null ? null : await openAuditJournal(journalPath, heads.audit);
  const journal: AuditJournal | null = opened?.journal ?? null;
  const recovered = opened?.contents.entries ?? [];
  const lastRecovered = recovered.at(-1);
  if (lastRecovered !== undefined) heads.audit = auditHeadOf(lastRecovered);

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

  /** Inside a transaction: the journal's entries after the table's head, parsed by DuckDB from the file. */
  const insertJournaled = async (tx: Transaction, journaled: AuditJournal, throughSeq: number): Promise<void> => {
    await tx.run(`INSERT INTO audit SELECT seq, entryId, "at"::TIMESTAMPTZ, kind, actor, action, outcome, refs, detail, prevHash, hash
      FROM read_json($1, format = 'newline_delimited', columns = ${JOURNAL_COLUMNS}) WHERE seq > $2`, [journaled.path, tableAuditSeq]);
    const [row] = await tx.all('SELECT max(seq) AS seq FROM audit');
    // The file is what this process wrote and fdatasync'd; anything else in it is damage, and must not be half moved.
    if (Number(row?.seq ?? 0) !== throughSeq) {
      throw new GatewayError('INTERNAL', 'the audit journal did not move whole into the audit table', { expectedSeq: throughSeq, tableSeq: Number(row?.seq ?? 0) });
    }
  };

  const move = async (): Promise<void> => {
    if (journal === null || journal.pending === 0) return;
    const throughSeq = heads.audit.seq;
    await db.transaction((tx) => insertJournaled(tx, journal, throughSeq));
    tableAuditSeq = throughSeq;
    await emptyMoved(journal);
  };
  const settle = (): Promise<void> => (journal === null || journal.pending === 0 ? Promise.resolve() : inLane(move));

  let moveTimer: ReturnType<typeof setTimeout> | undefined;
  const scheduleMove = (pending: number): void => {
    // A failed move leaves the journal as it was; the next reader's settle() retries it and reports the error.
    if (pending >= MOVE_AT_ENTRIES) void settle().catch(() => undefined);
    else if (moveTimer === undefined) {
      moveTimer = setTimeout(() => {
        moveTimer = undefined;
        void settle().catch(() => undefined);
      }, moveAfterMs);
      moveTimer.unref();
    }
  };

  if (recovered.length > 0) await move();

  const readEvents = async (afterSeq: number, limit: number) =>
    (await readChainPage(db, 'events', EVENT_COLUMNS, heads.events.seq, afterSeq, limit)).map(rowToEvent);
  const readAudit = async (afterSeq: number, limit: number) =>
    (await readChainPage(db, 'audit', AUDIT_COLUMNS, tableAuditSeq, afterSeq, limit)).map(rowToAudit);

  /** The distinct subjects of `subjects` whose consent does (or, with `isCovered` false, does not) cover the use. */
  const subjectsByCoverage = async (subjects: readonly string[], purpose: string, recipient: string, at: Date, isCovered: boolean): Promise<string[]> => {
    if (subjects.length > MAX_FILTER_SUBJECTS) throw new GatewayError('PAYLOAD_TOO_LARGE', `at most ${MAX_FILTER_SUBJECTS} subjects per filter`);
    const bad = subjects.findIndex((s) => !isPseudonym(s));
    // Name the position only: a non-pseudonym here may well be a raw identifier.
    if (bad >= 0) throw new GatewayError('BAD_INPUT', 'subjects must be pseudonyms', { index: bad });
    if (Number.isNaN(at.getTime())) throw new GatewayError('BAD_INPUT', 'at is not a valid time');
    if (subjects.length === 0) return [];
    return db.transaction(async (tx) => {
      // Temp tables are per connection and the database has one serialized connection, so this is private.
      await tx.run('CREATE TEMP TABLE IF NOT EXISTS filter_candidates (ord INTEGER, subject VARCHAR)');
      await tx.run('DELETE FROM filter_candidates');
      const a = await tx.appender('filter_candidates');
      subjects.forEach((s, i) => { a.appendInteger(i); a.appendVarchar(s); a.endRow(); });
      a.closeSync();
      // One set operation: a (anti-)semi-join of the candidates with the records in force at `at` (same rule as isActiveAt).
      const rows = await tx.all(`
        SELECT c.subject, min(c.ord) AS ord FROM filter_candidates c
        WHERE c.subject ${isCovered ? 'IN' : 'NOT IN'} (
          SELECT g.subject FROM consent_current g
          WHERE g.status IN ('Given', 'Renewed') AND list_contains(g.purposes, $1) AND list_contains(g.recipients, $2)
            AND g.not_before <= $3::TIMESTAMPTZ AND (g.expires_at IS NULL OR g.expires_at > $3::TIMESTAMPTZ))
        GROUP BY c.subject ORDER BY ord`, [purpose, recipient, at.toISOString()]);
      await tx.run('DELETE FROM filter_candidates');
      return rows.map((r) => String(r.subject));
    });
  };

  return {
    heads,
    get journalPending() { return journal?.pending ?? 0; },
    get isJournalWritable() { return journal === null || journal.isWritable; },
    journalRecovery: { moved: recovered.length, discardedBytes: opened?.contents.discardedBytes ?? 0 },
    readEvents,
    async readEventsBySeq(seqs) {
      if (seqs.length === 0) return [];
      // Seqs are integers, so a comma-joined string is an unambiguous list parameter.
      const rows = await db.all(`SELECT ${EVENT_COLUMNS} FROM events WHERE seq IN (SELECT unnest(string_split($1, ','))::BIGINT) ORDER BY seq`,
        [seqs.map((n) => String(Math.trunc(n))).join(',')]);
      return rows.map(rowToEvent);
    },
    async *streamEvents() {
      for await (const page of pagesInSeqOrder(readEvents, heads.events.seq)) yield* page;
    },
    async findIdempotency(keys) {
      const found = new Map<string, { requestHash: string; response: string }>();
      if (keys.length === 0) return found;
      // Keys are hex digests, so a comma-joined string is an unambiguous list parameter.
      const rows = await db.all('SELECT key, request_hash, response FROM idempotency WHERE key IN (SELECT unnest(string_split($1, \',\')))', [keys.join(',')]);
      for (const r of rows) found.set(String(r.key), { requestHash: String(r.request_hash), response: String(r.response) });
      return found;
    },
    commit: (pending) => inLane(async () => {
      const ready = pending instanceof Promise ? null : pending;
      if (journal !== null && ready !== null && isAuditOnly(ready)) {
        const lastJournaled = ready.audit.at(-1);
        await journal.append(ready.audit);
        if (lastJournaled !== undefined) heads.audit = auditHeadOf(lastJournaled);
        scheduleMove(journal.pending);
        return;
      }
      // The journal's entries come first in the same transaction: the table's chain stays gapless.
      const journaled = journal !== null && journal.pending > 0 ? journal : null;
      const journaledSeq = heads.audit.seq;
      const batch = await db.transaction(async (tx) => {
        if (journaled !== null) await insertJournaled(tx, journaled, journaledSeq);
        // BEGIN (and any move of the journal) ran while the batch was still being signed.
        const complete = await pending;
        await appendBatch(tx, complete);
        return complete;
      });
      const lastAudit = batch.audit.at(-1);
      const lastEvent = batch.events.at(-1);
      if (lastEvent !== undefined) heads.events = { seq: lastEvent.seq, hash: lastEvent.hash, id: lastEvent.eventId };
      if (lastAudit !== undefined) heads.audit = auditHeadOf(lastAudit);
      tableAuditSeq = heads.audit.seq;
      if (journaled !== null) await emptyMoved(journaled);
    }),
    settle,
    async settledHeads() {
      await settle();
      return { events: heads.events.seq, audit: tableAuditSeq };
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
      const [row] = await db.all('SELECT count(*) AS n FROM consent_current');
      if (Number(row?.n ?? -1) === recordCount) return false;
      await db.transaction(async (tx) => {
        await tx.run('DELETE FROM consent_current');
        await appendCurrent(tx, rows);
      });
      return true;
    },
    filterSubjects: (subjects, purpose, recipient, at) => subjectsByCoverage(subjects, purpose, recipient, at, true),
    uncoveredSubjects: (subjects, purpose, recipient, at) => subjectsByCoverage(subjects, purpose, recipient, at, false),
    async listAudit(query) {
      const q = AuditQuery.parse(query);
      await settle();
      const where: string[] = [];
      const params: SqlValue[] = [];
      const add = (clause: string, value: SqlValue) => { params.push(value); where.push(clause.replace('?', `$${params.length}`)); };
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
    async verifyChains(publicKey) {
      await settle();
      // The heads as of now: rows committed while the walk runs are beyond them, and do not make a shorter chain
      // look cut off.
      const eventsHead = heads.events.seq;
      const auditHead = tableAuditSeq;
      let from: ChainPoint = { seq: 0, hash: GENESIS_HASH };
      for await (const page of pagesInSeqOrder(readEvents, eventsHead)) {
        const result = verifyEventChain(page, publicKey, from);
        if (!result.ok) return { ok: false, chain: 'events', seq: result.seq, id: result.eventId, reason: result.reason };
        const last = page.at(-1);
        if (last !== undefined) from = { seq: last.seq, hash: last.hash };
      }
      // Rows cut from the end leave a valid but shorter chain: compare with the head this process committed.
      if (from.seq < eventsHead) return { ok: false, chain: 'events', seq: from.seq + 1, id: null, reason: 'truncated' };
      const eventCount = from.seq;
      from = { seq: 0, hash: GENESIS_HASH };
      for await (const page of pagesInSeqOrder(readAudit, auditHead)) {
        const result = verifyAuditChain(page, from);
        if (!result.ok) return { ok: false, chain: 'audit', seq: result.seq, id: result.entryId, reason: result.reason };
        const last = page.at(-1);
        if (last !== undefined) from = { seq: last.seq, hash: last.hash };
      }
      if (from.seq < auditHead) return { ok: false, chain: 'audit', seq: from.seq + 1, id: null, reason: 'truncated' };
      // After a restart the heads come from the same file, so a cut-off tail looks like a shorter valid chain. Each
      // write commits its events together with a consent-write audit entry naming their hashes, so each chain
      // vouches for the other's tail: an audited hash with no event, or an event no entry names, is a cut.
      const [orphanRef] = await db.all(`SELECT a.ref FROM (SELECT unnest(refs) AS ref FROM audit WHERE kind = 'consent-write') a
        WHERE regexp_full_match(a.ref, '[0-9a-f]{64}') AND a.ref NOT IN (SELECT hash FROM events) LIMIT 1`);
      if (orphanRef !== undefined) return { ok: false, chain: 'events', seq: eventCount + 1, id: null, reason: 'truncated' };
      const [unaudited] = await db.all(`SELECT seq FROM events
        WHERE hash NOT IN (SELECT unnest(refs) FROM audit WHERE kind = 'consent-write') LIMIT 1`);
      if (unaudited !== undefined) return { ok: false, chain: 'audit', seq: from.seq + 1, id: null, reason: 'truncated' };
      return { ok: true, events: eventCount, audit: from.seq };
    },
  };
}
