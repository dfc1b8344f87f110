// Stored orders (migrations owner 'orders'): each order as admitted, and what its deliveries have used of its quota.
// The usage columns change only in the delivery store's transactions (delivery-store.ts), together with the delivery
// that uses them, so a quota can never be overrun by two deliveries starting at once or by a crash between the two.
import { z } from 'zod';
import { timestampText, type Database } from '../core/database.ts';
import { GatewayError } from '../core/errors.ts';
import { DeliveryAlgorithm } from './listing.ts';
import { Money, OrderQuota } from './order.ts';

const MIGRATIONS = [
  {
    id: '001-orders',
    sql: `CREATE TABLE orders (
    order_id VARCHAR PRIMARY KEY,
    listing_id VARCHAR NOT NULL,
    package_id VARCHAR NOT NULL,
    listing_revision INTEGER NOT NULL,
    listing_hash VARCHAR NOT NULL,
    offer_id VARCHAR NOT NULL,
    terms_hash VARCHAR NOT NULL,
    tier VARCHAR,
    buyer VARCHAR NOT NULL,
    token_id VARCHAR NOT NULL,
    purpose VARCHAR NOT NULL,
    algorithms VARCHAR NOT NULL,
    price VARCHAR NOT NULL,
    quota_jobs BIGINT NOT NULL,
    quota_subjects BIGINT NOT NULL,
    used_jobs BIGINT NOT NULL,
    used_subjects BIGINT NOT NULL,
    delegation_ids VARCHAR NOT NULL,
    policy_ids VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
  )`,
  },
];

export const StoredOrder = z.strictObject({
  orderId: z.string(),
  listingId: z.string(),
  packageId: z.string(),
  listingRevision: z.int(),
  /** The listing revision's content hash the buyer accepted: its licence terms. */
  listingHash: z.string(),
  offerId: z.string(),
  termsHash: z.string(),
  tier: z.string().nullable(),
  /** The buyer's organisation, as its token names it. */
  buyer: z.string(),
  /** The buyer token that placed the order: the only buyer token that may read it and run its deliveries. */
  tokenId: z.string(),
  purpose: z.string(),
  algorithms: z.array(DeliveryAlgorithm),
  price: Money,
  quota: OrderQuota,
  used: OrderQuota,
  /** The delegations and policies the admission relied on. */
  delegationIds: z.array(z.string()),
  policyIds: z.array(z.string()),
  createdAt: z.string(),
});
export type StoredOrder = z.infer<typeof StoredOrder>;

export type OrderStore = {
  insert(order: Omit<StoredOrder, 'used'>): Promise<void>;
  get(orderId: string): Promise<StoredOrder | null>;
  /** Orders oldest first, of one buyer token or of one listing when given. */
  list(filter: { tokenId?: string; listingId?: string; limit: number }): Promise<StoredOrder[]>;
};

export function orderOf(r: Record<string, unknown>): StoredOrder {
  try {
    return StoredOrder.parse({
      orderId: String(r.order_id),
      listingId: String(r.listing_id),
      packageId: String(r.package_id),
      listingRevision: Number(r.listing_revision),
      listingHash: String(r.listing_hash),
      offerId: String(r.offer_id),
      termsHash: String(r.terms_hash),
      tier: r.tier === null || r.tier === undefined ? null : String(r.tier),
      buyer: String(r.buyer),
      tokenId: String(r.token_id),
      purpose: String(r.purpose),
      algorithms: JSON.parse(String(r.algorithms)),
      price: JSON.parse(String(r.price)),
      quota: { jobs: Number(r.quota_jobs), subjectsTouched: Number(r.quota_subjects) },
      used: { jobs: Number(r.used_jobs), subjectsTouched: Number(r.used_subjects) },
      delegationIds: JSON.parse(String(r.delegation_ids)),
      policyIds: JSON.parse(String(r.policy_ids)),
      createdAt: timestampText(r.created_at),
    });
  } catch (cause) {
    throw new GatewayError('INTEGRITY_VIOLATION', 'a stored order does not read back', {}, { cause });
  }
}

export async function openOrderStore(db: Database): Promise<OrderStore> {
  await db.migrate('orders', MIGRATIONS);
  return {
    async insert(o) {
      await db.transaction((tx) =>
        tx.run(
          `INSERT INTO orders (order_id, listing_id, package_id, listing_revision, listing_hash, offer_id, terms_hash,
            tier, buyer, token_id, purpose, algorithms, price, quota_jobs, quota_subjects, used_jobs, used_subjects,
            delegation_ids, policy_ids, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0, 0, $16, $17, $18::TIMESTAMPTZ)`,
          [
            o.orderId,
            o.listingId,
            o.packageId,
            o.listingRevision,
            o.listingHash,
            o.offerId,
            o.termsHash,
            o.tier,
            o.buyer,
            o.tokenId,
            o.purpose,
            JSON.stringify(o.algorithms),
            JSON.stringify(o.price),
            o.quota.jobs,
            o.quota.subjectsTouched,
            JSON.stringify(o.delegationIds),
            JSON.stringify(o.policyIds),
            o.createdAt,
          ],
        ),
      );
    },
    async get(orderId) {
      const [row] = await db.all('SELECT * FROM orders WHERE order_id = $1', [orderId]);
      return row === undefined ? null : orderOf(row);
    },
    async list({ tokenId, listingId, limit }) {
      const rows = await db.all(
        `SELECT * FROM orders WHERE ($1::VARCHAR IS NULL OR token_id = $1::VARCHAR) AND ($2::VARCHAR IS NULL OR listing_id = $2::VARCHAR)
          ORDER BY created_at, order_id LIMIT $3`,
        [tokenId ?? null, listingId ?? null, limit],
      );
      return rows.map(orderOf);
    },
  };
}
