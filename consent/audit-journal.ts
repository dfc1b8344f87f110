// The audit chain's durable tail in front of DuckDB: an append-only file of sealed audit entries, one JSON line each,
// fdatasync'd once per group commit. A decision's audit entry is durable as soon as its line is, and the lines move
// into the audit table many thousands at a time (consent-store.ts), because DuckDB's cost per transaction, not per
// row, is what a decision used to pay: about 200 µs of CPU for a row worth 10.
//
// The file is a redo log, as a database's WAL: the table holds the chain up to its last seq and the file the entries
// after it. Moving commits the rows to DuckDB first and then empties the file, so a crash between the two leaves
// lines the table already has; recovery skips those by seq.
import fs, { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { GatewayError } from '../gateway/errors.ts';
import { fsyncPath } from '../gateway/fsync.ts';
import { verifyAuditChain, type AuditEntry } from './audit.ts';
import type { ChainPoint } from './event.ts';

/** One line of the file: the entry with its detail as JSON text, byte for byte what the audit table stores. */
type JournalLine = Omit<AuditEntry, 'detail'> & { detail: string };

/**
 * The DuckDB `read_json` column map for the file's lines, in the audit table's column order: the move is one
 * INSERT … SELECT over the file, parsed on DuckDB's thread instead of the request thread.
 */
const NEWLINE = 0x0a;

export const JOURNAL_COLUMNS = "{'seq': 'BIGINT', 'entryId': 'VARCHAR', 'at': 'VARCHAR', 'kind': 'VARCHAR', 'actor': 'VARCHAR', "
  + "'action': 'VARCHAR', 'outcome': 'VARCHAR', 'refs': 'VARCHAR[]', 'detail': 'VARCHAR', 'prevHash': 'VARCHAR', 'hash': 'VARCHAR'}";

export function journalLine(e: AuditEntry): string {
  const line: JournalLine = {
    seq: e.seq, entryId: e.entryId, at: e.at, kind: e.kind, actor: e.actor, action: e.action, outcome: e.outcome,
    refs: e.refs, detail: JSON.stringify(e.detail), prevHash: e.prevHash, hash: e.hash,
  };
  return `${JSON.stringify(line)}\n`;
}

function entryOfLine(text: string): AuditEntry | undefined {
  try {
    const line = JSON.parse(text) as Partial<JournalLine> | null;
    if (line === null || typeof line !== 'object' || typeof line.detail !== 'string' || typeof line.seq !== 'number') return undefined;
    return { ...line, detail: JSON.parse(line.detail) as AuditEntry['detail'] } as AuditEntry;
  } catch {
    return undefined;
  }
}

/** What recovery found in a journal's text, read against the audit table's head. */
export type JournalContents = {
  /** Entries after the table's head that continue its chain, in order. */
  entries: AuditEntry[];
  /** Length of the text up to the end of the last line kept (lines the table already has included). */
  keptBytes: number;
  /** Bytes after that: an append a crash cut short, never acknowledged (see readJournal). */
  discardedBytes: number;
};

/**
 * The entries of a journal's `bytes` that continue the audit chain from `head` (the table's last entry). Lines at or
 * below the head are already in the table. From the first line that is torn, unparsable or does not verify (hash,
 * link, seq), the rest is an append a crash cut short: every acknowledged append was fdatasync'd whole before the
 * next one was written, so only the last, unacknowledged one can be damaged. A journal whose first entry after the
 * head skips seqs does not belong to this table, and is refused.
 */
export function readJournal(bytes: Buffer, head: ChainPoint): JournalContents {
  const entries: AuditEntry[] = [];
  let from = head;
  let keptBytes = 0;
  for (let start = 0; start < bytes.length;) {
    const end = bytes.indexOf(NEWLINE, start);
    if (end < 0) break;
    const entry = entryOfLine(bytes.toString('utf8', start, end));
    if (entry === undefined) break;
    if (entry.seq > head.seq) {
      if (entries.length === 0 && entry.seq > head.seq + 1) {
        throw new GatewayError('INTERNAL', 'the audit journal does not continue the audit table: entries are missing between them',
          { tableSeq: head.seq, journalSeq: entry.seq });
      }
      if (!verifyAuditChain([entry], from).ok) break;
      entries.push(entry);
      from = { seq: entry.seq, hash: entry.hash };
    }
    keptBytes = end + 1;
    start = end + 1;
  }
  return { entries, keptBytes, discardedBytes: bytes.length - keptBytes };
}

export type AuditJournal = {
  readonly path: string;
  /** Entries appended since the file was last emptied. */
  readonly pending: number;
  /** False once a failed write could not be cut off: appends are refused until a restart reads the file again. */
  readonly isWritable: boolean;
  /** Appends the entries and fdatasyncs; resolved means durable. A failed append leaves the file as it was. */
  append(entries: readonly AuditEntry[]): Promise<void>;
  /** Empties the file (durably), once the audit table holds everything in it. */
  clear(): Promise<void>;
  close(): Promise<void>;
};

/**
 * Opens (creating) the journal and reads what it holds against `head`, the audit table's head. The caller moves
 * `contents.entries` into the table and then calls `clear()`; until then they count as pending.
 */
export async function openAuditJournal(path: string, head: ChainPoint): Promise<{ journal: AuditJournal; contents: JournalContents }> {
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
    contents = readJournal(await handle.readFile(), head);
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
  let pending = contents.entries.length;
  let broken: unknown = null;
  let isClosed = false;

  const usable = (): void => {
    if (isClosed) throw new GatewayError('STORE_UNAVAILABLE', 'the audit journal is closed');
    if (broken !== null) throw new GatewayError('STORE_UNAVAILABLE', 'the audit journal failed to write and refuses appends until a restart', {}, { cause: broken });
  };

  const journal: AuditJournal = {
    path,
    get pending() { return pending; },
    get isWritable() { return broken === null && !isClosed; },
    async append(entries) {
      usable();
      if (entries.length === 0) return;
      const bytes = Buffer.from(entries.map(journalLine).join(''));
      try {
        // A synchronous write: it only copies into the page cache (about 4 µs here), while an asynchronous one is a
        // thread-pool round trip that cost this machine's request thread about 50 µs of CPU. The fdatasync, which
        // waits for the disk, stays asynchronous.
        const bytesWritten = fs.writeSync(handle.fd, bytes);
        if (bytesWritten !== bytes.length) throw new GatewayError('STORE_UNAVAILABLE', 'the audit journal took a short write');
        await handle.datasync();
      } catch (error) {
        // Cut off whatever part of this append reached the file: the next one must continue a whole line.
        try {
          await handle.truncate(size);
          await handle.datasync();
        } catch (cause) {
          broken = cause;
        }
        throw error instanceof GatewayError ? error : new GatewayError('STORE_UNAVAILABLE', 'cannot write the audit journal', {}, { cause: error });
      }
      size += bytes.length;
      pending += entries.length;
    },
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
