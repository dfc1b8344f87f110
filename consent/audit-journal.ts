// The audit chain's durable tail in front of DuckDB: an append-only file, one JSON line per append, fdatasync'd once
// per group commit. A line is either one sealed audit entry written alone (a decision, a message), or one consent
// write batch: its signed events with the audit entries, idempotency rows and consent_current changes that go with
// them. Either is durable, and answered, as soon as its line is; the lines move into the tables many thousands of rows
// at a time (consent-store.ts), because DuckDB's cost per transaction, not per row, is what a write used to pay: about
// 200 µs of CPU for an audit row worth 10, and about 3 ms per consent batch in appender flushes and COMMIT.
//
// The file is a redo log, as a database's WAL: the tables hold the chains up to their last seqs and the file the
// appends after them. Moving commits the rows to DuckDB first and then empties the file, so a crash between the two
// leaves lines the tables already have; recovery skips those by seq.
import fs, { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { GatewayError } from '../core/errors.ts';
import { fsyncPath } from '../core/fsync.ts';
import { verifyAuditChain, type AuditEntry } from './audit.ts';
import type { CommitBatch } from './commit-batch.ts';
import { verifyEventLinks, type ChainPoint } from './event.ts';

/** An audit entry's line: the entry with its detail as JSON text, byte for byte what the audit table stores. */
type JournalLine = Omit<AuditEntry, 'detail'> & { detail: string };

const NEWLINE = 0x0a;

/**
 * The DuckDB `read_json` column map for the audit entries' lines, in the audit table's column order: their move is
 * one INSERT … SELECT over the file, parsed on DuckDB's thread instead of the request thread. A batch line has no
 * top-level `seq`, so it reads as a row of NULLs, which the move's `seq >` filter leaves out.
 */
export const JOURNAL_COLUMNS =
  "{'seq': 'BIGINT', 'entryId': 'VARCHAR', 'at': 'VARCHAR', 'kind': 'VARCHAR', 'actor': 'VARCHAR', " +
  "'action': 'VARCHAR', 'outcome': 'VARCHAR', 'refs': 'VARCHAR[]', 'detail': 'VARCHAR', 'prevHash': 'VARCHAR', 'hash': 'VARCHAR'}";

export function journalLine(e: AuditEntry): string {
  const line: JournalLine = {
    seq: e.seq,
    entryId: e.entryId,
    at: e.at,
    kind: e.kind,
    actor: e.actor,
    action: e.action,
    outcome: e.outcome,
    refs: e.refs,
    detail: JSON.stringify(e.detail),
    prevHash: e.prevHash,
    hash: e.hash,
  };
  return `${JSON.stringify(line)}\n`;
}

/**
 * A consent batch's line. Its rows are as the batch holds them: the move appends them from memory (consent-store.ts).
 */
export function batchLine(batch: CommitBatch): string {
  return `${JSON.stringify({ batch })}\n`;
}

const chainEntriesOf = (batch: CommitBatch): number => batch.events.length + batch.audit.length;

type Line = { audit: AuditEntry } | { batch: CommitBatch };

function lineOf(text: string): Line | undefined {
  try {
    const line = JSON.parse(text) as (Partial<JournalLine> & { batch?: Partial<CommitBatch> }) | null;
    if (line === null || typeof line !== 'object') return undefined;
    if (line.batch !== undefined) {
      const b = line.batch;
      const isBatch =
        b !== null && typeof b === 'object' && [b.events, b.audit, b.idempotency, b.current].every(Array.isArray);
      return isBatch ? { batch: b as CommitBatch } : undefined;
    }
    if (typeof line.detail !== 'string' || typeof line.seq !== 'number') return undefined;
    return { audit: { ...line, detail: JSON.parse(line.detail) as AuditEntry['detail'] } as AuditEntry };
  } catch {
    return undefined;
  }
}

/** What recovery found in a journal's text, read against the tables' heads. */
export type JournalContents = {
  /** Audit entries written alone, after the audit table's head, in order. */
  entries: AuditEntry[];
  /** Consent batches after the tables' heads, in order. */
  batches: CommitBatch[];
  /** Length of the text up to the end of the last line kept (lines the tables already have included). */
  keptBytes: number;
  /** Bytes after that: an append a crash cut short, never acknowledged (see readJournal). */
  discardedBytes: number;
};

/** A check of a line that parsed as JSON but is malformed inside (a member missing, null, of another type) fails. */
function verifies(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

/** The tables' last entries: where the journal's lines continue the chains. */
export type TableHeads = { events: ChainPoint; audit: ChainPoint };

const notContinuing = (heads: TableHeads, line: Line) =>
  new GatewayError(
    'INTERNAL',
    'the audit journal does not continue the audit table: entries are missing between them',
    {
      tableSeq: heads.audit.seq,
      tableEventSeq: heads.events.seq,
      journalSeq: 'audit' in line ? line.audit.seq : (line.batch.audit[0]?.seq ?? null),
      journalEventSeq: 'batch' in line ? (line.batch.events[0]?.seq ?? null) : null,
    },
  );

/**
 * The lines of a journal's `bytes` that continue the chains from `heads` (the tables' last entries). Lines at or
 * below the heads are already in the tables. From the first line that is torn, unparsable or does not verify (hash,
 * link, seq; event signatures are left to the verify call once the rows are in the table), the rest is an append a
 * crash cut short: every acknowledged append was fdatasync'd whole before the next one was written, so only the last,
 * unacknowledged one can be damaged. A journal whose first line after the heads skips seqs does not belong to these
 * tables, and is refused; so is a batch that is half in the tables, which no move leaves behind.
 */
export function readJournal(bytes: Buffer, heads: TableHeads): JournalContents {
  const entries: AuditEntry[] = [];
  const batches: CommitBatch[] = [];
  let audit = heads.audit;
  let events = heads.events;
  let keptBytes = 0;
  const isFirst = () => entries.length === 0 && batches.length === 0;
  for (let start = 0; start < bytes.length;) {
    const end = bytes.indexOf(NEWLINE, start);
    if (end < 0) break;
    const line = lineOf(bytes.toString('utf8', start, end));
    if (line === undefined) break;
    if ('audit' in line) {
      const entry = line.audit;
      if (entry.seq > heads.audit.seq) {
        if (isFirst() && entry.seq > heads.audit.seq + 1) throw notContinuing(heads, line);
        if (!verifies(() => verifyAuditChain([entry], audit).ok)) break;
        entries.push(entry);
        audit = { seq: entry.seq, hash: entry.hash };
      }
    } else {
      const batch = line.batch;
      const firstAudit = batch.audit[0]?.seq;
      const firstEvent = batch.events[0]?.seq;
      const isAuditInTable = firstAudit !== undefined && firstAudit <= heads.audit.seq;
      const isEventsInTable = firstEvent !== undefined && firstEvent <= heads.events.seq;
      if (isAuditInTable || isEventsInTable) {
        // A move takes a batch whole, in one transaction: a batch half in the tables is not this file's.
        const isWhole = (isAuditInTable || firstAudit === undefined) && (isEventsInTable || firstEvent === undefined);
        if (!isWhole) throw notContinuing(heads, line);
      } else {
        if (isFirst() && ((firstAudit ?? 0) > heads.audit.seq + 1 || (firstEvent ?? 0) > heads.events.seq + 1))
          throw notContinuing(heads, line);
        if (!verifies(() => verifyAuditChain(batch.audit, audit).ok && verifyEventLinks(batch.events, events).ok))
          break;
        batches.push(batch);
        const lastAudit = batch.audit.at(-1);
        const lastEvent = batch.events.at(-1);
        if (lastAudit !== undefined) audit = { seq: lastAudit.seq, hash: lastAudit.hash };
        if (lastEvent !== undefined) events = { seq: lastEvent.seq, hash: lastEvent.hash };
      }
    }
    keptBytes = end + 1;
    start = end + 1;
  }
  return { entries, batches, keptBytes, discardedBytes: bytes.length - keptBytes };
}

export type AuditJournal = {
  readonly path: string;
  /** Chain entries appended since the file was last emptied: audit entries, and a batch's events and audit entries. */
  readonly pending: number;
  /** The file's length: no line is longer. */
  readonly bytes: number;
  /** False once a failed write could not be cut off: appends are refused until a restart reads the file again. */
  readonly isWritable: boolean;
  /** Appends the entries and fdatasyncs; resolved means durable. A failed append leaves the file as it was. */
  append(entries: readonly AuditEntry[]): Promise<void>;
  /** Appends a consent batch as one line, the same way. */
  appendBatch(batch: CommitBatch): Promise<void>;
  /** Empties the file (durably), once the tables hold everything in it. */
  clear(): Promise<void>;
  close(): Promise<void>;
};

/**
 * Opens (creating) the journal and reads what it holds against `heads`, the tables' heads. The caller moves
 * `contents` into the tables and then calls `clear()`; until then they count as pending.
 */
export async function openAuditJournal(
  path: string,
  heads: TableHeads,
): Promise<{ journal: AuditJournal; contents: JournalContents }> {
  let handle: FileHandle;
  try {
    // O_APPEND: every write lands at the end, whatever an earlier failed write left behind (it is cut off first).
    handle = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_APPEND, 0o600);
  } catch (cause) {
    throw new GatewayError('STORE_UNAVAILABLE', `cannot open the audit journal ${path}`, { path }, { cause });
  }
  let contents: JournalContents;
  try {
    // The directory entry too: fdatasync on the file alone does not make a file just created durable.
    await fsyncPath(dirname(path));
    contents = readJournal(await handle.readFile(), heads);
    // A cut-short append is dropped now, so the next append continues the last whole line.
    if (contents.discardedBytes > 0) {
      await handle.truncate(contents.keptBytes);
      await handle.datasync();
    }
  } catch (error) {
    await handle.close();
    throw error;
  }
  let size = contents.keptBytes;
  let pending = contents.entries.length + contents.batches.reduce((n, b) => n + chainEntriesOf(b), 0);
  let broken: unknown = null;
  let isClosed = false;

  const usable = (): void => {
    if (isClosed) throw new GatewayError('STORE_UNAVAILABLE', 'the audit journal is closed');
    if (broken !== null)
      throw new GatewayError(
        'STORE_UNAVAILABLE',
        'the audit journal failed to write and refuses appends until a restart',
        {},
        { cause: broken },
      );
  };

  const write = async (text: string, entryCount: number): Promise<void> => {
    usable();
    if (text === '') return;
    const bytes = Buffer.from(text);
    try {
      // A synchronous write: it only copies into the page cache (about 4 µs here), while an asynchronous one is a
      // thread-pool round trip that cost this machine's request thread about 50 µs of CPU. The fdatasync, which
      // waits for the disk, stays asynchronous.
      const bytesWritten = fs.writeSync(handle.fd, bytes);
      if (bytesWritten !== bytes.length)
        throw new GatewayError('STORE_UNAVAILABLE', 'the audit journal took a short write');
      await handle.datasync();
    } catch (error) {
      // Cut off whatever part of this append reached the file: the next one must continue a whole line.
      try {
        await handle.truncate(size);
        await handle.datasync();
      } catch (cause) {
        broken = cause;
      }
      throw error instanceof GatewayError
        ? error
        : new GatewayError('STORE_UNAVAILABLE', 'cannot write the audit journal', {}, { cause: error });
    }
    size += bytes.length;
    pending += entryCount;
  };

  const journal: AuditJournal = {
    path,
    get pending() {
      return pending;
    },
    get bytes() {
      return size;
    },
    get isWritable() {
      return broken === null && !isClosed;
    },
    append: (entries) => write(entries.map(journalLine).join(''), entries.length),
    appendBatch: (batch) => write(batchLine(batch), chainEntriesOf(batch)),
    async clear() {
      usable();
      try {
        await handle.truncate(0);
        // Durable before the next append: a lost truncation under later lines would interleave old and new text.
        await handle.datasync();
      } catch (cause) {
        broken = cause;
        throw new GatewayError('STORE_UNAVAILABLE', 'cannot empty the audit journal', {}, { cause });
      }
      size = 0;
      pending = 0;
    },
    async close() {
      if (isClosed) return;
      isClosed = true;
      await handle.close();
    },
  };
  return { journal, contents };
}
