// Stored deliveries (migrations owner 'deliveries'): each compute-to-data job a buyer ran under an order, what it was
// asked, its state, the consent records of the subjects it read (by id and event hash), and what it returned or why
// it was refused. The order's usage (order-store.ts) changes here only, in the same transaction as the delivery that
// uses it: a delivery's job is counted when it starts, its subjects when it has admitted them, and both are on disk
// before any row is read.
import { z } from 'zod';
import { timestampText, type Database, type Transaction } from '../core/database.ts';
import { GatewayError } from '../core/errors.ts';
import { ConsentBasisSummary } from './consent-basis.ts';
import { DeliveryAlgorithm } from './listing.ts';

const MIGRATIONS = [
  {
    id: '001-deliveries',
    sql: `CREATE TABLE deliveries (
    delivery_id VARCHAR PRIMARY KEY,
    order_id VARCHAR NOT NULL,
    listing_id VARCHAR NOT NULL,
    algorithm VARCHAR NOT NULL,
    request VARCHAR NOT NULL,
    state VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by VARCHAR NOT NULL,
    finished_at TIMESTAMPTZ,
    subjects_touched BIGINT,
    consent_basis VARCHAR,
    result VARCHAR,
    failure VARCHAR,
    start_audited BOOLEAN NOT NULL DEFAULT false,
    end_audited BOOLEAN NOT NULL DEFAULT false
  );
  CREATE TABLE delivery_consents (
    delivery_id VARCHAR NOT NULL,
    record_id VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    event_hash VARCHAR NOT NULL
  )`,
  },
];

export const DeliveryState = z.enum(['running', 'completed', 'refused', 'failed']);
export type DeliveryState = z.infer<typeof DeliveryState>;

export const DeliveryFailure = z.strictObject({
  code: z.string(),
  message: z.string(),
  /** For OUTPUT_REFUSED: the output and the rule that refused it. */
  rule: z.string().optional(),
});
export type DeliveryFailure = z.infer<typeof DeliveryFailure>;

export const StoredDelivery = z.strictObject({
  deliveryId: z.string(),
  orderId: z.string(),
  listingId: z.string(),
  algorithm: DeliveryAlgorithm,
  request: z.unknown(),
  state: DeliveryState,
  createdAt: z.string(),
  /** The audit actor of the buyer's token that started it. */
  createdBy: z.string(),
  finishedAt: z.string().nullable(),
  /** The subjects whose rows it read, counted against the order's quota; null until admitted. */
  subjectsTouched: z.int().nullable(),
  /** The consent records those subjects' rows were read under: root and counts (exchange/consent-basis.ts). */
  consentBasis: ConsentBasisSummary.nullable(),
  /** What the algorithm returned (null until completed, and when refused or failed). */
  result: z.unknown(),
  failure: DeliveryFailure.nullable(),
  /** Whether its start and its end (once it has one) are in the audit chain. */
  audited: z.strictObject({ start: z.boolean(), end: z.boolean() }),
});
export type StoredDelivery = z.infer<typeof StoredDelivery>;

export type DeliveryConsent = { recordId: string; subject: string; eventHash: string };

/** One use of a subject's rows by a delivery: what ran, under which order, relying on which consent record. */
export type SubjectUse = {
  deliveryId: string;
  orderId: string;
  listingId: string;
  algorithm: string;
  state: string;
  createdAt: string;
  recordId: string;
};

export type DeliveryStore = {
  /** Inserts a running delivery and counts its job. QUOTA_EXCEEDED when the order has no job left. */
  start(
    delivery: Pick<
      StoredDelivery,
      'deliveryId' | 'orderId' | 'listingId' | 'algorithm' | 'request' | 'createdAt' | 'createdBy'
    >,
  ): Promise<void>;
  /**
   * Records the subjects admitted and the records relied on, counting them against the order's quota (replacing what
   * an interrupted attempt of the same delivery counted). QUOTA_EXCEEDED, with nothing recorded, when they overrun it.
   */
  admit(
    delivery: { deliveryId: string; orderId: string },
    subjects: number,
    basis: ConsentBasisSummary,
    records: readonly DeliveryConsent[],
  ): Promise<void>;
  /** Ends a running delivery. A refused one gives its job back: nothing ran. */
  finish(
    delivery: { deliveryId: string; orderId: string },
    end: { state: 'completed'; result: unknown } | { state: 'refused' | 'failed'; failure: DeliveryFailure },
    at: string,
  ): Promise<void>;
  /** Records that the start's or the end's audit entry is written. */
  markAudited(deliveryId: string, step: 'start' | 'end'): Promise<void>;
  get(deliveryId: string): Promise<StoredDelivery | null>;
  byOrder(orderId: string, limit: number): Promise<StoredDelivery[]>;
  /** What a stop interrupted: deliveries still running, and ended ones whose start or end is not audited yet. */
  unaudited(): Promise<StoredDelivery[]>;
  /** The deliveries that read a subject's rows, newest first, with the record each relied on. */
  usesOfSubject(subject: string, limit: number): Promise<SubjectUse[]>;
  /** The consent records a delivery relied on, in record-id order, after a cursor. */
  consents(deliveryId: string, after: string | null, limit: number): Promise<DeliveryConsent[]>;
};

const json = (value: unknown): unknown => (value === null || value === undefined ? null : JSON.parse(String(value)));

function deliveryOf(r: Record<string, unknown>): StoredDelivery {
  try {
    return StoredDelivery.parse({
      deliveryId: String(r.delivery_id),
      orderId: String(r.order_id),
      listingId: String(r.listing_id),
      algorithm: String(r.algorithm),
      request: json(r.request),
      state: String(r.state),
      createdAt: timestampText(r.created_at),
      createdBy: String(r.created_by),
      finishedAt: r.finished_at === null || r.finished_at === undefined ? null : timestampText(r.finished_at),
      subjectsTouched: r.subjects_touched === null ? null : Number(r.subjects_touched),
      consentBasis: json(r.consent_basis),
      result: json(r.result),
      failure: json(r.failure),
      audited: { start: Boolean(r.start_audited), end: Boolean(r.end_audited) },
    });
  } catch (cause) {
    throw new GatewayError('INTEGRITY_VIOLATION', 'a stored delivery does not read back', {}, { cause });
  }
}

const quotaExceeded = (orderId: string, what: string) =>
  new GatewayError('QUOTA_EXCEEDED', `the order has no ${what} left`, { orderId, quota: what });

/** Subtracts what an earlier attempt of the delivery counted, so a resumed delivery counts its subjects once. */
async function uncount(tx: Transaction, deliveryId: string, orderId: string): Promise<void> {
  const [prior] = await tx.all('SELECT subjects_touched FROM deliveries WHERE delivery_id = $1', [deliveryId]);
  const counted = prior?.subjects_touched === null || prior === undefined ? 0 : Number(prior.subjects_touched);
  if (counted > 0)
    await tx.run('UPDATE orders SET used_subjects = used_subjects - $2 WHERE order_id = $1', [orderId, counted]);
  await tx.run('DELETE FROM delivery_consents WHERE delivery_id = $1', [deliveryId]);
}

export async function openDeliveryStore(db: Database): Promise<DeliveryStore> {
  await db.migrate('deliveries', MIGRATIONS);
  return {
    async start(d) {
      await db.transaction(async (tx) => {
        const counted = await tx.all(
          'UPDATE orders SET used_jobs = used_jobs + 1 WHERE order_id = $1 AND used_jobs < quota_jobs RETURNING used_jobs',
          [d.orderId],
        );
        if (counted.length === 0) throw quotaExceeded(d.orderId, 'jobs');
        await tx.run(
          `INSERT INTO deliveries (delivery_id, order_id, listing_id, algorithm, request, state, created_at, created_by)
            VALUES ($1, $2, $3, $4, $5, 'running', $6::TIMESTAMPTZ, $7)`,
          [d.deliveryId, d.orderId, d.listingId, d.algorithm, JSON.stringify(d.request), d.createdAt, d.createdBy],
        );
      });
    },
    async admit({ deliveryId, orderId }, subjects, basis, records) {
      await db.transaction(async (tx) => {
        await uncount(tx, deliveryId, orderId);
        const counted = await tx.all(
          `UPDATE orders SET used_subjects = used_subjects + $2
            WHERE order_id = $1 AND used_subjects + $2 <= quota_subjects RETURNING used_subjects`,
          [orderId, subjects],
        );
        if (counted.length === 0) throw quotaExceeded(orderId, 'subjects');
        const a = await tx.appender('delivery_consents');
        for (const r of records) {
          a.appendVarchar(deliveryId);
          a.appendVarchar(r.recordId);
          a.appendVarchar(r.subject);
          a.appendVarchar(r.eventHash);
          a.endRow();
        }
        a.closeSync();
        await tx.run('UPDATE deliveries SET subjects_touched = $2, consent_basis = $3 WHERE delivery_id = $1', [
          deliveryId,
          subjects,
          JSON.stringify(basis),
        ]);
      });
    },
    async finish({ deliveryId, orderId }, end, at) {
      await db.transaction(async (tx) => {
        if (end.state === 'refused') {
          await uncount(tx, deliveryId, orderId);
          await tx.run('UPDATE orders SET used_jobs = used_jobs - 1 WHERE order_id = $1', [orderId]);
          await tx.run('UPDATE deliveries SET subjects_touched = NULL WHERE delivery_id = $1', [deliveryId]);
        }
        await tx.run(
          `UPDATE deliveries SET state = $2, finished_at = $3::TIMESTAMPTZ, result = $4, failure = $5
            WHERE delivery_id = $1 AND state = 'running'`,
          [
            deliveryId,
            end.state,
            at,
            end.state === 'completed' ? JSON.stringify(end.result) : null,
            end.state === 'completed' ? null : JSON.stringify(end.failure),
          ],
        );
      });
    },
    async get(deliveryId) {
      const [row] = await db.all('SELECT * FROM deliveries WHERE delivery_id = $1', [deliveryId]);
      return row === undefined ? null : deliveryOf(row);
    },
    async byOrder(orderId, limit) {
      const rows = await db.all(
        'SELECT * FROM deliveries WHERE order_id = $1 ORDER BY created_at, delivery_id LIMIT $2',
        [orderId, limit],
      );
      return rows.map(deliveryOf);
    },
    async markAudited(deliveryId, step) {
      await db.transaction((tx) =>
        tx.run(
          `UPDATE deliveries SET ${step === 'start' ? 'start_audited' : 'end_audited'} = true WHERE delivery_id = $1`,
          [deliveryId],
        ),
      );
    },
    async unaudited() {
      const rows = await db.all(
        "SELECT * FROM deliveries WHERE state = 'running' OR NOT start_audited OR NOT end_audited ORDER BY created_at",
      );
      return rows.map(deliveryOf);
    },
    async usesOfSubject(subject, limit) {
      const rows = await db.all(
        `SELECT d.delivery_id, d.order_id, d.listing_id, d.algorithm, d.state, d.created_at, c.record_id
          FROM delivery_consents c JOIN deliveries d ON d.delivery_id = c.delivery_id
          WHERE c.subject = $1 ORDER BY d.created_at DESC, d.delivery_id LIMIT $2`,
        [subject, limit],
      );
      return rows.map((r) => ({
        deliveryId: String(r.delivery_id),
        orderId: String(r.order_id),
        listingId: String(r.listing_id),
        algorithm: String(r.algorithm),
        state: String(r.state),
        createdAt: timestampText(r.created_at),
        recordId: String(r.record_id),
      }));
    },
    async consents(deliveryId, after, limit) {
      const rows = await db.all(
        `SELECT record_id, subject, event_hash FROM delivery_consents
          WHERE delivery_id = $1 AND ($2::VARCHAR IS NULL OR record_id > $2::VARCHAR) ORDER BY record_id LIMIT $3`,
        [deliveryId, after, limit],
      );
      return rows.map((r) => ({
        recordId: String(r.record_id),
        subject: String(r.subject),
        eventHash: String(r.event_hash),
      }));
    },
  };
}
