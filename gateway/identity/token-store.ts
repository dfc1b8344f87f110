// Bearer tokens for people and services (RFC 6750). Only SHA-256 digests are stored: a copy of the
// database never yields a usable token. Each token carries exactly one role.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../../core/clock.ts';
import { sha256Hex } from '../../consent/canonical.ts';
import { timestampText, type Database } from '../../core/database.ts';
import { GatewayError } from '../../core/errors.ts';

export const Role = z.enum(['admin', 'data-steward', 'compliance-officer', 'exchange', 'collector', 'buyer']);
export type Role = z.infer<typeof Role>;

export const TokenId = z.string().regex(/^tok_[A-Za-z0-9_-]{16}$/);

/** Free text an operator picks to recognise a token later; no control characters, so it is safe to print. */
export const TokenLabel = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[\p{L}\p{N} ._:@/+-]+$/u, 'letters, digits, spaces and ._:@/+- only');

export const TokenInfo = z.object({
  id: TokenId,
  role: Role,
  label: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});
export type TokenInfo = z.infer<typeof TokenInfo>;

export type Principal = { tokenId: string; role: Role };

export type TokenStore = {
  /** Returns the plaintext token once; only its digest is kept. */
  createToken(role: Role, label?: string): Promise<TokenInfo & { token: string }>;
  /** The principal for a live token, or null for anything else (unknown, revoked, malformed). */
  authenticate(token: string): Promise<Principal | null>;
  /**
   * `authenticate` without waiting, where the answer is known in memory: the principal of a live token already
   * seen, null for a malformed one, undefined when only the database can tell.
   */
  cachedPrincipal(token: string): Principal | null | undefined;
  /** Revokes at once for every later `authenticate`. Throws NOT_FOUND for an unknown id; revoking twice is a no-op. */
  revokeToken(id: string): Promise<TokenInfo>;
  /** Every token ever issued, revoked ones included. */
  countTokens(): Promise<number>;
  listTokens(): Promise<TokenInfo[]>;
};

const TOKEN_PATTERN = /^sgt_[A-Za-z0-9_-]{43}$/;
const MAX_CACHED = 10_000;

const MIGRATIONS = [
  {
    id: '001-api-tokens',
    sql: `CREATE TABLE api_tokens (
    id VARCHAR PRIMARY KEY,
    hash VARCHAR NOT NULL UNIQUE,
    role VARCHAR NOT NULL,
    label VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
  )`,
  },
];

export const hashToken = (token: string): string => sha256Hex(token);

export async function createTokenStore(db: Database, clock: Clock): Promise<TokenStore> {
  await db.migrate('tokens', MIGRATIONS);
  // Positive results only: caching misses would let random guesses fill memory. Tokens change
  // rarely, and DuckDB's file lock means this process is the only writer, so in-process
  // invalidation is complete.
  const cache = new Map<string, Principal>();
  // Bumped on every revocation; a lookup that raced one is re-read instead of cached.
  let generation = 0;

  const readById = async (id: string): Promise<TokenInfo | undefined> => {
    const rows = await db.all('SELECT id, role, label, created_at, revoked_at FROM api_tokens WHERE id = $1', [id]);
    return rows[0] === undefined ? undefined : toInfo(rows[0]);
  };

  // Checking the shape first keeps junk out of the hash and the database. Lookup is by digest,
  // so any timing difference reveals bits of a SHA-256 output, never of the token.
  const digestOf = (token: string): string | null =>
    typeof token === 'string' && TOKEN_PATTERN.test(token) ? hashToken(token) : null;

  const cachedPrincipal = (token: string): Principal | null | undefined => {
    const hash = digestOf(token);
    return hash === null ? null : cache.get(hash);
  };

  const lookup = async (hash: string): Promise<Principal | null> => {
    const rows = await db.all('SELECT id, role FROM api_tokens WHERE hash = $1 AND revoked_at IS NULL', [hash]);
    const row = rows[0];
    if (row === undefined) return null;
    const role = Role.safeParse(row.role);
    // A role this build does not know grants nothing.
    return role.success ? { tokenId: String(row.id), role: role.data } : null;
  };

  return {
    async createToken(role, label = '') {
      if (!Role.safeParse(role).success)
        throw new GatewayError('BAD_INPUT', `role: expected one of ${Role.options.join(', ')}`);
      if (label !== '' && !TokenLabel.safeParse(label).success) {
        throw new GatewayError('BAD_INPUT', 'label: letters, digits, spaces and ._:@/+- only, at most 100 characters');
      }
      const token = `sgt_${randomBytes(32).toString('base64url')}`;
      const id = `tok_${randomBytes(12).toString('base64url')}`;
      const createdAt = clock.now().toISOString();
      await db.transaction((tx) =>
        tx.run('INSERT INTO api_tokens (id, hash, role, label, created_at) VALUES ($1, $2, $3, $4, $5::TIMESTAMPTZ)', [
          id,
          hashToken(token),
          role,
          label,
          createdAt,
        ]),
      );
      return { id, role, label, createdAt, revokedAt: null, token };
    },

    cachedPrincipal,

    async authenticate(token) {
      const hash = digestOf(token);
      if (hash === null) return null;
      const cached = cache.get(hash);
      if (cached !== undefined) return cached;
      for (let attempt = 0; attempt < 3; attempt++) {
        const seen = generation;
        const principal = await lookup(hash);
        if (seen !== generation) continue;
        if (principal !== null) {
          if (cache.size >= MAX_CACHED) cache.clear();
          cache.set(hash, principal);
        }
        return principal;
      }
      // Revocations kept racing every read: answer the safe way.
      return null;
    },

    async revokeToken(id) {
      if (!TokenId.safeParse(id).success) throw new GatewayError('NOT_FOUND', 'no such token');
      // Invalidate before the write is even queued: a request arriving meanwhile misses the cache
      // and its database read is queued behind this update.
      generation++;
      for (const [hash, principal] of cache) if (principal.tokenId === id) cache.delete(hash);
      await db.transaction((tx) =>
        tx.run('UPDATE api_tokens SET revoked_at = $1::TIMESTAMPTZ WHERE id = $2 AND revoked_at IS NULL', [
          clock.now().toISOString(),
          id,
        ]),
      );
      const info = await readById(id);
      if (info === undefined) throw new GatewayError('NOT_FOUND', 'no such token');
      return info;
    },

    async countTokens() {
      const rows = await db.all('SELECT count(*) AS n FROM api_tokens');
      return Number(rows[0]?.n ?? 0);
    },

    async listTokens() {
      const rows = await db.all(
        'SELECT id, role, label, created_at, revoked_at FROM api_tokens ORDER BY created_at, id',
      );
      return rows.map(toInfo);
    },
  };
}

function toInfo(row: Record<string, unknown>): TokenInfo {
  return {
    id: String(row.id),
    role: Role.parse(row.role),
    label: String(row.label),
    createdAt: timestampText(row.created_at),
    revokedAt: row.revoked_at === null || row.revoked_at === undefined ? null : timestampText(row.revoked_at),
  };
}
