// HTTP event ingest, minus the HTTP: create streams, then verify, validate, pseudonymize and append
// signed event batches. A batch is stored all or nothing and acknowledged only after COMMIT; an
// eventId already stored rejects the whole batch (409), so a producer's retry can never duplicate.
import { blobValue, listValue, timestampTZValue, type DuckDBAppender } from '@duckdb/node-api';
import { z } from 'zod';
import type { Clock } from '../core/clock.ts';
import { pseudonymize } from '../consent/pseudonym.ts';
import { GatewayError } from '../core/errors.ts';
import { DUCKDB_TYPE } from './column-type.ts';
import type { DataStore, Row } from './data-store.ts';
import { deriveStreamSecret, newStreamSalt } from './stream-secret.ts';
import { DEFAULT_TOLERANCE_SECONDS, verifyIngestSignature } from './ingest-signature.ts';
import { IngestStreamDeclaration, eventSchemaFor, type IngestEvent, type IngestField } from './ingest-stream.ts';
import { ObjectName, quoteGeneratedName, quoteName } from './sql-name.ts';

export const MAX_BATCH = 1000;
const MAX_REPORTED_DUPLICATES = 20;

export const StreamDescription = z.object({
  declaration: IngestStreamDeclaration,
  events: z.int().min(0),
  createdAt: z.string(),
});
export type StreamDescription = z.infer<typeof StreamDescription>;

export const IngestReceipt = z.object({ stream: z.string(), accepted: z.int().min(1), receivedAt: z.string() });
export type IngestReceipt = z.infer<typeof IngestReceipt>;

export type IngestStreams = {
  /** Creates the stream and its table; the secret is returned here and never again. Throws CONFLICT. */
  create(input: unknown): Promise<{ stream: StreamDescription; secret: string }>;
  list(): Promise<StreamDescription[]>;
  /**
   * Verifies, validates and durably appends one event or a batch. Throws NOT_FOUND (unknown stream),
   * BAD_SIGNATURE (bad or stale signature), BAD_INPUT, PAYLOAD_TOO_LARGE (> 1000 events) and
   * CONFLICT (an eventId already stored; `duplicates` lists them).
   */
  ingest(stream: string, rawBody: Uint8Array, signature: string | undefined): Promise<IngestReceipt>;
};

export const STREAM_CATALOG_SQL = `CREATE TABLE IF NOT EXISTS ingest_streams (
  name VARCHAR PRIMARY KEY, declaration VARCHAR NOT NULL, table_name VARCHAR NOT NULL, secret_salt BLOB NOT NULL, created_at TIMESTAMPTZ NOT NULL)`;

type OpenStream = {
  declaration: IngestStreamDeclaration;
  table: string;
  secret: string;
  schema: z.ZodType;
  createdAt: string;
};

export type IngestOptions = { subjectKey: Uint8Array; clock: Clock; toleranceSeconds?: number; maxBatch?: number };

const micros = (iso: string) => timestampTZValue(BigInt(Date.parse(iso)) * 1000n);

function appendField(appender: DuckDBAppender, field: IngestField, value: unknown): void {
  if (value === null || value === undefined) return appender.appendNull();
  switch (field.type) {
    case 'string':
      return appender.appendVarchar(value as string);
    case 'integer':
      return appender.appendBigInt(BigInt(value as number));
    case 'double':
      return appender.appendDouble(value as number);
    case 'boolean':
      return appender.appendBoolean(value as boolean);
    case 'date':
      return appender.appendVarchar(value as string);
    // Through epoch micros: DuckDB's text cast would ignore a +hh:mm offset.
    case 'timestamp':
      return appender.appendTimestampTZ(micros(value as string));
  }
}

const pointer = (path: readonly PropertyKey[]) =>
  path.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');

/**
 * Field errors in the shape route validation uses (`in: body`, RFC 6901 pointers, one entry per
 * unknown key). A single event is reported at the root, not at /0. Messages name rules, not values.
 */
function eventErrors(error: z.ZodError, isBatch: boolean): GatewayError {
  const errors = error.issues.slice(0, 50).flatMap((issue) => {
    const path = isBatch ? issue.path : issue.path.slice(1);
    if (issue.code === 'unrecognized_keys')
      return issue.keys.map((key) => ({ in: 'body', pointer: pointer([...path, key]), detail: 'unknown field' }));
    return [{ in: 'body', pointer: pointer(path), detail: issue.message }];
  });
  return new GatewayError(
    'BAD_INPUT',
    `invalid events: ${errors.map((e) => `${e.pointer || '/'} ${e.detail}`).join('; ')}`,
    { errors },
  );
}

export async function openIngestStreams(store: DataStore, options: IngestOptions): Promise<IngestStreams> {
  const { subjectKey, clock } = options;
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const maxBatch = options.maxBatch ?? MAX_BATCH;
  const streams = new Map<string, OpenStream>();
  const open = (row: Row): OpenStream => {
    const declaration = IngestStreamDeclaration.parse(JSON.parse(String(row.declaration)));
    return {
      declaration,
      table: String(row.table_name),
      schema: eventSchemaFor(declaration),
      secret: deriveStreamSecret(subjectKey, declaration.name, row.secret_salt as Uint8Array),
      createdAt: new Date(row.created_at as Date).toISOString(),
    };
  };
  for (const row of await store.ingest.all(
    'SELECT name, declaration, table_name, secret_salt, created_at FROM ingest_streams',
  )) {
    const stream = open(row);
    streams.set(stream.declaration.name, stream);
  }
  const countEvents = async (table: string) =>
    Number((await store.reads.all(`SELECT count(*) AS n FROM ${quoteGeneratedName(table)}`))[0]?.n ?? 0);

  return {
    create: async (input) => {
      const declaration = IngestStreamDeclaration.parse(input);
      const table = `events_${declaration.name}`;
      const salt = newStreamSalt();
      const createdAt = clock.now().toISOString();
      await store.ingest.transaction(async (s) => {
        if (
          streams.has(declaration.name) ||
          (await s.all('SELECT 1 FROM ingest_streams WHERE name = $1', [declaration.name])).length > 0
        ) {
          throw new GatewayError('CONFLICT', `stream ${declaration.name} already exists`, { stream: declaration.name });
        }
        const fields = declaration.fields
          .map((f) => `, ${quoteName(f.name)} ${DUCKDB_TYPE[f.type]}${f.isNullable ? '' : ' NOT NULL'}`)
          .join('');
        await s.run(`CREATE TABLE ${quoteGeneratedName(table)} (event_id VARCHAR PRIMARY KEY, subject VARCHAR NOT NULL,
          occurred_at TIMESTAMPTZ NOT NULL, received_at TIMESTAMPTZ NOT NULL${fields})`);
        await s.run('INSERT INTO ingest_streams VALUES ($1, $2, $3, $4, $5::TIMESTAMPTZ)', [
          declaration.name,
          JSON.stringify(declaration),
          table,
          blobValue(salt),
          createdAt,
        ]);
      });
      const stream = {
        declaration,
        table,
        schema: eventSchemaFor(declaration),
        secret: deriveStreamSecret(subjectKey, declaration.name, salt),
        createdAt,
      };
      streams.set(declaration.name, stream);
      return { stream: { declaration, events: 0, createdAt }, secret: stream.secret };
    },

    list: async () =>
      Promise.all(
        [...streams.values()]
          .sort((a, b) => a.declaration.name.localeCompare(b.declaration.name))
          .map(async (s) => ({
            declaration: s.declaration,
            events: await countEvents(s.table),
            createdAt: s.createdAt,
          })),
      ),

    ingest: async (name, rawBody, signature) => {
      const stream = ObjectName.safeParse(name).success ? streams.get(name) : undefined;
      if (stream === undefined)
        throw new GatewayError('NOT_FOUND', `no ingest stream named ${String(name).slice(0, 48)}`);
      // Authenticity first: nothing about an unsigned body is parsed or echoed.
      verifyIngestSignature({
        secret: stream.secret,
        header: signature,
        rawBody,
        now: clock.now(),
        toleranceSeconds: tolerance,
      });
      let body: unknown;
      try {
        body = JSON.parse(Buffer.from(rawBody).toString('utf8'));
      } catch {
        throw new GatewayError('BAD_INPUT', 'request body is not valid JSON');
      }
      const batch = Array.isArray(body) ? body : [body];
      if (batch.length === 0) throw new GatewayError('BAD_INPUT', 'the batch holds no events');
      if (batch.length > maxBatch) {
        throw new GatewayError(
          'PAYLOAD_TOO_LARGE',
          `a batch holds at most ${maxBatch} events; this one has ${batch.length}`,
          { maxEvents: maxBatch, events: batch.length },
        );
      }
      const parsed = z.array(stream.schema).safeParse(batch);
      if (!parsed.success) throw eventErrors(parsed.error, Array.isArray(body));
      const events = parsed.data as IngestEvent[];
      const ids = events.map((e) => e.eventId);
      const repeated = ids.filter((id, i) => ids.indexOf(id) !== i);
      if (repeated.length > 0)
        throw new GatewayError('BAD_INPUT', 'an eventId appears twice in the batch', {
          repeated: [...new Set(repeated)].slice(0, MAX_REPORTED_DUPLICATES),
        });
      // Pseudonymized before the database sees anything: raw subject ids are never written.
      const subjects = events.map((e) => pseudonymize(subjectKey, e.subjectId));
      const receivedAt = clock.now().toISOString();
      const table = quoteGeneratedName(stream.table);

      await store.ingest.transaction(async (s) => {
        const stored = await s.all(`SELECT event_id FROM ${table} WHERE event_id IN (SELECT unnest($1::VARCHAR[]))`, [
          listValue(ids),
        ]);
        if (stored.length > 0) {
          throw new GatewayError(
            'CONFLICT',
            `${stored.length} of the batch's eventIds are already stored; nothing was appended`,
            {
              stream: name,
              duplicates: stored.slice(0, MAX_REPORTED_DUPLICATES).map((r) => String(r.event_id)),
              duplicateCount: stored.length,
            },
          );
        }
        const appender = await s.appender(stream.table);
        events.forEach((event, i) => {
          appender.appendVarchar(event.eventId);
          appender.appendVarchar(subjects[i] as string);
          appender.appendTimestampTZ(micros(event.occurredAt));
          appender.appendTimestampTZ(micros(receivedAt));
          for (const field of stream.declaration.fields) appendField(appender, field, event[field.name]);
          appender.endRow();
        });
        appender.closeSync();
      });
      return { stream: name, accepted: events.length, receivedAt };
    },
  };
}
