// Stored listings (migrations owner 'listings'): each listing's state, every revision of its content as written, and
// its history of steps with who took them. Every write is one transaction, so a step that answered is on disk with
// its history entry; nothing is ever deleted or overwritten but the listing's current state.
import { z } from 'zod';
import { timestampText, type Database, type SqlValue } from '../core/database.ts';
import { GatewayError } from '../core/errors.ts';
import { ListingState } from './listing.ts';

const MIGRATIONS = [
  {
    id: '001-listings',
    sql: `CREATE TABLE listings (
    listing_id VARCHAR PRIMARY KEY,
    registration_no VARCHAR NOT NULL UNIQUE,
    package_id VARCHAR NOT NULL,
    state VARCHAR NOT NULL,
    revision INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    anchor VARCHAR
  );
  CREATE TABLE listing_revisions (
    listing_id VARCHAR NOT NULL,
    revision INTEGER NOT NULL,
    content VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by VARCHAR NOT NULL,
    PRIMARY KEY (listing_id, revision)
  );
  CREATE TABLE listing_history (
    listing_id VARCHAR NOT NULL,
    seq INTEGER NOT NULL,
    step VARCHAR NOT NULL,
    from_state VARCHAR,
    to_state VARCHAR NOT NULL,
    revision INTEGER NOT NULL,
    actor VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    taken_at TIMESTAMPTZ NOT NULL,
    reason VARCHAR,
    PRIMARY KEY (listing_id, seq)
  )`,
  },
];

export const ListingRow = z.strictObject({
  listingId: z.string(),
  registrationNo: z.string(),
  packageId: z.string(),
  state: ListingState,
  revision: z.int(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** The package registry revision that carries the listed revision's hash, or null (never listed, ledger off). */
  anchor: z
    .strictObject({
      chainId: z.int(),
      registry: z.string(),
      txHash: z.string(),
      blockNumber: z.int(),
      revision: z.int(),
      listingRevision: z.int(),
    })
    .nullable(),
});
export type ListingRow = z.infer<typeof ListingRow>;

export const ListingRevision = z.strictObject({
  revision: z.int(),
  content: z.unknown(),
  contentHash: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
});
export type ListingRevision = z.infer<typeof ListingRevision>;

export const ListingHistoryEntry = z.strictObject({
  seq: z.int(),
  step: z.string(),
  from: ListingState.nullable(),
  to: ListingState,
  revision: z.int(),
  actor: z.string(),
  role: z.string(),
  at: z.string(),
  reason: z.string().nullable(),
});
export type ListingHistoryEntry = z.infer<typeof ListingHistoryEntry>;

/** A change to a listing: its new state and, for a revision, the new content; always one history entry. */
export type ListingChange = {
  listingId: string;
  /** The state the change was decided from: the write fails with CONFLICT if another change came first. */
  expectedState: ListingState;
  state: ListingState;
  revision?: { content: unknown; contentHash: string };
  step: string;
  actor: string;
  role: string;
  at: string;
  reason: string | null;
};

export type ListingStore = {
  insert(
    row: Omit<ListingRow, 'state' | 'revision' | 'updatedAt' | 'anchor'>,
    first: { content: unknown; contentHash: string; actor: string; role: string },
  ): Promise<void>;
  change(change: ListingChange): Promise<void>;
  setAnchor(listingId: string, anchor: NonNullable<ListingRow['anchor']>): Promise<void>;
  get(listingId: string): Promise<ListingRow | null>;
  revision(listingId: string, revision: number): Promise<ListingRevision | null>;
  revisions(listingId: string): Promise<ListingRevision[]>;
  history(listingId: string): Promise<ListingHistoryEntry[]>;
  /** Listings in the given states, oldest first, after the cursor (a listing id in creation order). */
  list(options: { states: readonly ListingState[]; after: string | null; limit: number }): Promise<ListingRow[]>;
  count(): Promise<number>;
};

const json = (value: unknown): string => JSON.stringify(value);
const parse = (value: unknown, what: string): unknown => {
  try {
    return JSON.parse(String(value));
  } catch (cause) {
    throw new GatewayError('INTEGRITY_VIOLATION', `a stored ${what} is not JSON`, {}, { cause });
  }
};

const rowOf = (r: Record<string, unknown>): ListingRow =>
  ListingRow.parse({
    listingId: String(r.listing_id),
    registrationNo: String(r.registration_no),
    packageId: String(r.package_id),
    state: String(r.state),
    revision: Number(r.revision),
    createdAt: timestampText(r.created_at),
    updatedAt: timestampText(r.updated_at),
    anchor: r.anchor === null || r.anchor === undefined ? null : parse(r.anchor, 'listing anchor'),
  });

const revisionOf = (r: Record<string, unknown>): ListingRevision => ({
  revision: Number(r.revision),
  content: parse(r.content, 'listing revision'),
  contentHash: String(r.content_hash),
  createdAt: timestampText(r.created_at),
  createdBy: String(r.created_by),
});

export async function openListingStore(db: Database): Promise<ListingStore> {
  await db.migrate('listings', MIGRATIONS);

  const appendHistory = async (
    tx: { run(sql: string, params?: SqlValue[]): Promise<void> },
    entry: Omit<ListingHistoryEntry, 'seq'> & { listingId: string },
  ) =>
    tx.run(
      `INSERT INTO listing_history (listing_id, seq, step, from_state, to_state, revision, actor, role, taken_at, reason)
        SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6, $7, $8::TIMESTAMPTZ, $9
        FROM listing_history WHERE listing_id = $1`,
      [
        entry.listingId,
        entry.step,
        entry.from,
        entry.to,
        entry.revision,
        entry.actor,
        entry.role,
        entry.at,
        entry.reason,
      ],
    );

  const get = async (listingId: string): Promise<ListingRow | null> => {
    const [row] = await db.all('SELECT * FROM listings WHERE listing_id = $1', [listingId]);
    return row === undefined ? null : rowOf(row);
  };

  return {
    async insert(row, first) {
      await db.transaction(async (tx) => {
        await tx.run(
          `INSERT INTO listings (listing_id, registration_no, package_id, state, revision, created_at, updated_at)
            VALUES ($1, $2, $3, 'draft', 1, $4::TIMESTAMPTZ, $4::TIMESTAMPTZ)`,
          [row.listingId, row.registrationNo, row.packageId, row.createdAt],
        );
        await tx.run(
          `INSERT INTO listing_revisions (listing_id, revision, content, content_hash, created_at, created_by)
            VALUES ($1, 1, $2, $3, $4::TIMESTAMPTZ, $5)`,
          [row.listingId, json(first.content), first.contentHash, row.createdAt, first.actor],
        );
        await appendHistory(tx, {
          listingId: row.listingId,
          step: 'create',
          from: null,
          to: 'draft',
          revision: 1,
          actor: first.actor,
          role: first.role,
          at: row.createdAt,
          reason: null,
        });
      });
    },
    async change(c) {
      await db.transaction(async (tx) => {
        const [current] = await tx.all('SELECT state, revision FROM listings WHERE listing_id = $1', [c.listingId]);
        if (current === undefined) throw new GatewayError('NOT_FOUND', 'no such listing', { listingId: c.listingId });
        if (current.state !== c.expectedState)
          throw new GatewayError('CONFLICT', 'the listing changed meanwhile: read it again', {
            listingId: c.listingId,
            state: String(current.state),
          });
        const revision = Number(current.revision) + (c.revision === undefined ? 0 : 1);
        if (c.revision !== undefined)
          await tx.run(
            `INSERT INTO listing_revisions (listing_id, revision, content, content_hash, created_at, created_by)
              VALUES ($1, $2, $3, $4, $5::TIMESTAMPTZ, $6)`,
            [c.listingId, revision, json(c.revision.content), c.revision.contentHash, c.at, c.actor],
          );
        await tx.run(
          'UPDATE listings SET state = $2, revision = $3, updated_at = $4::TIMESTAMPTZ WHERE listing_id = $1',
          [c.listingId, c.state, revision, c.at],
        );
        await appendHistory(tx, {
          listingId: c.listingId,
          step: c.step,
          from: c.expectedState,
          to: c.state,
          revision,
          actor: c.actor,
          role: c.role,
          at: c.at,
          reason: c.reason,
        });
      });
    },
    get,
    async setAnchor(listingId, anchor) {
      await db.transaction((tx) =>
        tx.run('UPDATE listings SET anchor = $2 WHERE listing_id = $1', [listingId, json(anchor)]),
      );
    },
    async revision(listingId, revision) {
      const [row] = await db.all('SELECT * FROM listing_revisions WHERE listing_id = $1 AND revision = $2', [
        listingId,
        revision,
      ]);
      return row === undefined ? null : revisionOf(row);
    },
    async revisions(listingId) {
      const rows = await db.all('SELECT * FROM listing_revisions WHERE listing_id = $1 ORDER BY revision', [listingId]);
      return rows.map(revisionOf);
    },
    async history(listingId) {
      const rows = await db.all('SELECT * FROM listing_history WHERE listing_id = $1 ORDER BY seq', [listingId]);
      return rows.map((r) =>
        ListingHistoryEntry.parse({
          seq: Number(r.seq),
          step: String(r.step),
          from: r.from_state === null ? null : String(r.from_state),
          to: String(r.to_state),
          revision: Number(r.revision),
          actor: String(r.actor),
          role: String(r.role),
          at: timestampText(r.taken_at),
          reason: r.reason === null ? null : String(r.reason),
        }),
      );
    },
    async list({ states, after, limit }) {
      // The states come from the ListingState enum (parsed), so they can stand in the SQL as literals.
      const inStates = ListingState.array()
        .parse(states)
        .map((state) => `'${state}'`)
        .join(', ');
      if (inStates === '') return [];
      const cursor = after === null ? null : await get(after);
      const rows = await db.all(
        `SELECT * FROM listings WHERE state IN (${inStates})
          AND ($1::TIMESTAMPTZ IS NULL OR created_at > $1::TIMESTAMPTZ
            OR (created_at = $1::TIMESTAMPTZ AND listing_id > $2))
          ORDER BY created_at, listing_id LIMIT $3`,
        [cursor?.createdAt ?? null, cursor?.listingId ?? '', limit],
      );
      return rows.map(rowOf);
    },
    async count() {
      const [row] = await db.all('SELECT count(*) AS n FROM listings', []);
      return Number(row?.n ?? 0);
    },
  };
}
