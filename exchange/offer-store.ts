// Stored offers (migrations owner 'offers'): each offer's terms as written, its listing, and whether it still stands.
// An offer is never changed: the seller withdraws it and makes another, so an order always names the terms it took.
import { z } from 'zod';
import { timestampText, type Database } from '../core/database.ts';
import { GatewayError } from '../core/errors.ts';
import { OfferTerms } from './offer.ts';

const MIGRATIONS = [
  {
    id: '001-offers',
    sql: `CREATE TABLE offers (
    offer_id VARCHAR PRIMARY KEY,
    listing_id VARCHAR NOT NULL,
    terms VARCHAR NOT NULL,
    terms_hash VARCHAR NOT NULL,
    valid_until TIMESTAMPTZ NOT NULL,
    state VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by VARCHAR NOT NULL,
    withdrawn_at TIMESTAMPTZ
  )`,
  },
];

export const StoredOffer = z.strictObject({
  offerId: z.string(),
  listingId: z.string(),
  terms: OfferTerms,
  /** SHA-256 of the terms (RFC 8785): what an order records it accepted. */
  termsHash: z.string(),
  validUntil: z.string(),
  state: z.enum(['active', 'withdrawn']),
  createdAt: z.string(),
  createdBy: z.string(),
  withdrawnAt: z.string().nullable(),
});
export type StoredOffer = z.infer<typeof StoredOffer>;

export type OfferStore = {
  insert(offer: Omit<StoredOffer, 'state' | 'withdrawnAt'>): Promise<void>;
  /** CONFLICT when it is withdrawn already, NOT_FOUND when unknown. */
  withdraw(offerId: string, at: string): Promise<void>;
  get(offerId: string): Promise<StoredOffer | null>;
  byListing(listingId: string): Promise<StoredOffer[]>;
};

function offerOf(r: Record<string, unknown>): StoredOffer {
  let terms: unknown;
  try {
    terms = JSON.parse(String(r.terms));
  } catch (cause) {
    throw new GatewayError('INTEGRITY_VIOLATION', 'stored offer terms are not JSON', {}, { cause });
  }
  return StoredOffer.parse({
    offerId: String(r.offer_id),
    listingId: String(r.listing_id),
    terms,
    termsHash: String(r.terms_hash),
    validUntil: timestampText(r.valid_until),
    state: String(r.state),
    createdAt: timestampText(r.created_at),
    createdBy: String(r.created_by),
    withdrawnAt: r.withdrawn_at === null || r.withdrawn_at === undefined ? null : timestampText(r.withdrawn_at),
  });
}

export async function openOfferStore(db: Database): Promise<OfferStore> {
  await db.migrate('offers', MIGRATIONS);
  return {
    async insert(o) {
      await db.transaction((tx) =>
        tx.run(
          `INSERT INTO offers (offer_id, listing_id, terms, terms_hash, valid_until, state, created_at, created_by)
            VALUES ($1, $2, $3, $4, $5::TIMESTAMPTZ, 'active', $6::TIMESTAMPTZ, $7)`,
          [o.offerId, o.listingId, JSON.stringify(o.terms), o.termsHash, o.validUntil, o.createdAt, o.createdBy],
        ),
      );
    },
    async withdraw(offerId, at) {
      await db.transaction(async (tx) => {
        const [row] = await tx.all('SELECT state FROM offers WHERE offer_id = $1', [offerId]);
        if (row === undefined) throw new GatewayError('NOT_FOUND', 'no such offer', { offerId });
        if (row.state !== 'active') throw new GatewayError('CONFLICT', 'the offer is withdrawn already', { offerId });
        await tx.run(`UPDATE offers SET state = 'withdrawn', withdrawn_at = $2::TIMESTAMPTZ WHERE offer_id = $1`, [
          offerId,
          at,
        ]);
      });
    },
    async get(offerId) {
      const [row] = await db.all('SELECT * FROM offers WHERE offer_id = $1', [offerId]);
      return row === undefined ? null : offerOf(row);
    },
    async byListing(listingId) {
      const rows = await db.all('SELECT * FROM offers WHERE listing_id = $1 ORDER BY created_at, offer_id', [
        listingId,
      ]);
      return rows.map(offerOf);
    },
  };
}
