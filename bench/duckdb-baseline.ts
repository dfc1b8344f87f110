// A reference for durable consent writes: raw DuckDB appends of rows shaped like the `events` table, 100 rows per
// transaction, each COMMIT fsynced, through core/database.ts, with no hashing, signing, validation or HTTP. It was
// the floor while each write batch committed its own transaction; the gateway now journals the batch and moves its
// rows a thousand or more at a time (consent-store.ts), which costs DuckDB less per row than this.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { timestampTZValue } from '@duckdb/node-api';
import { openDatabase } from '../core/database.ts';

export const ROWS_PER_TRANSACTION = 100;

const TABLE = `CREATE TABLE events (seq BIGINT PRIMARY KEY, event_id VARCHAR NOT NULL, kind VARCHAR NOT NULL, type VARCHAR NOT NULL,
  subject_or_partner VARCHAR NOT NULL, record_id VARCHAR NOT NULL, occurred_at TIMESTAMPTZ NOT NULL, actor VARCHAR NOT NULL,
  payload VARCHAR NOT NULL, prev_hash VARCHAR NOT NULL, hash VARCHAR NOT NULL, signature VARCHAR NOT NULL, key_id VARCHAR NOT NULL)`;

/** Appends `rows` rows carrying `payload` (a real grant record's JSON) and returns durable rows per second. */
export async function measureRawDurableInserts(
  rows: number,
  payload: string,
): Promise<{ rows: number; rowsPerSecond: number; seconds: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'sealgate-bench-duckdb-'));
  // The gateway database's own settings (gateway/services/context.ts), so the floor is like for like.
  const db = await openDatabase(join(dir, 'baseline.duckdb'), { threads: 1 });
  try {
    await db.migrate('bench', [{ id: '001-events', sql: TABLE }]);
    const hash = 'f'.repeat(64);
    const signature = 'e'.repeat(128);
    const started = performance.now();
    for (let first = 1; first <= rows; first += ROWS_PER_TRANSACTION) {
      const last = Math.min(rows, first + ROWS_PER_TRANSACTION - 1);
      await db.transaction(async (tx) => {
        const a = await tx.appender('events');
        for (let seq = first; seq <= last; seq++) {
          a.appendBigInt(BigInt(seq));
          a.appendVarchar(randomUUID());
          a.appendVarchar('consent');
          a.appendVarchar('grant');
          a.appendVarchar(`sp_${String(seq).padStart(43, '0')}`);
          a.appendVarchar(randomUUID());
          a.appendTimestampTZ(timestampTZValue(BigInt(Date.now()) * 1000n));
          a.appendVarchar('token:bench');
          a.appendVarchar(payload);
          a.appendVarchar(hash);
          a.appendVarchar(hash);
          a.appendVarchar(signature);
          a.appendVarchar('0123456789abcdef');
          a.endRow();
        }
        a.closeSync();
      });
    }
    const seconds = (performance.now() - started) / 1000;
    const [count] = await db.all('SELECT count(*) AS n FROM events');
    if (Number(count?.n) !== rows)
      throw new Error(`raw DuckDB baseline wrote ${String(count?.n)} rows, expected ${rows}`);
    return { rows, rowsPerSecond: rows / seconds, seconds };
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
