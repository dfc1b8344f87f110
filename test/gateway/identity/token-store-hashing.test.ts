// Bearer tokens: only digests are stored, the plaintext is returned once, lookups are exact and
// revocation wins over the in-memory cache, including a revocation racing a lookup.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fixedClock } from '../../../core/clock.ts';
import { openDatabase, type Database } from '../../../core/database.ts';
import { createTokenStore, hashToken, type TokenStore } from '../../../gateway/identity/token-store.ts';

let db: Database;
let tokens: TokenStore;
const clock = fixedClock('2026-01-02T03:04:05.000Z');

beforeEach(async () => {
  db = await openDatabase(':memory:');
  tokens = await createTokenStore(db, clock);
});
afterEach(async () => {
  await db.close();
});

describe('token store', () => {
  it('stores the SHA-256 digest and never the plaintext token', async () => {
    const created = await tokens.createToken('compliance-officer', 'auditor');
    expect(created.token).toMatch(/^sgt_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(created.token.slice(4), 'base64url')).toHaveLength(32);
    const rows = await db.all('SELECT * FROM api_tokens');
    expect(rows).toHaveLength(1);
    const dump = JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
    expect(dump).not.toContain(created.token);
    expect(dump).not.toContain(created.token.slice(4));
    expect(rows[0]?.hash).toBe(hashToken(created.token));
    expect(hashToken(created.token)).toMatch(/^[0-9a-f]{64}$/);
    expect(created).toMatchObject({
      role: 'compliance-officer',
      label: 'auditor',
      createdAt: '2026-01-02T03:04:05.000Z',
      revokedAt: null,
    });
  });

  it('authenticates the exact token only', async () => {
    const created = await tokens.createToken('exchange');
    expect(await tokens.authenticate(created.token)).toEqual({ tokenId: created.id, role: 'exchange' });
    const last = created.token.at(-1) === 'A' ? 'B' : 'A';
    for (const wrong of [
      created.token.slice(0, -1) + last,
      created.token.slice(4),
      `${created.token} `,
      '',
      'sgt_',
      created.token.toUpperCase(),
    ]) {
      expect(await tokens.authenticate(wrong)).toBeNull();
    }
  });

  it('every issued token is distinct (no reuse of randomness)', async () => {
    const issued = await Promise.all(Array.from({ length: 20 }, () => tokens.createToken('collector')));
    expect(new Set(issued.map((t) => t.token)).size).toBe(20);
    expect(new Set(issued.map((t) => t.id)).size).toBe(20);
    expect(await tokens.countTokens()).toBe(20);
  });

  it('rejects arbitrary strings without touching the store', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string(), async (s) => {
        expect(await tokens.authenticate(s)).toBeNull();
      }),
      { numRuns: 200 },
    );
  });

  it('revocation takes effect immediately, even for a cached token, and is recorded with the clock', async () => {
    const created = await tokens.createToken('data-steward', 'steward');
    expect(await tokens.authenticate(created.token)).not.toBeNull(); // now cached
    clock.advance(60_000);
    const revoked = await tokens.revokeToken(created.id);
    expect(revoked.revokedAt).toBe('2026-01-02T03:05:05.000Z');
    expect(await tokens.authenticate(created.token)).toBeNull();
    // Revoking twice keeps the first timestamp.
    clock.advance(60_000);
    expect((await tokens.revokeToken(created.id)).revokedAt).toBe('2026-01-02T03:05:05.000Z');
    expect(await tokens.countTokens()).toBe(1);
  });

  it('a lookup racing a revocation never resurrects the token through the cache', async () => {
    const created = await tokens.createToken('exchange');
    const racing = tokens.authenticate(created.token); // queued before the revocation's write
    const revoking = tokens.revokeToken(created.id);
    await Promise.all([racing, revoking]);
    expect(await tokens.authenticate(created.token)).toBeNull();
  });

  it('revoking an unknown id is NOT_FOUND', async () => {
    await expect(tokens.revokeToken('tok_AAAAAAAAAAAAAAAA')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(tokens.revokeToken("x' OR 1=1 --")).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses unknown roles and unprintable labels', async () => {
    await expect(tokens.createToken('root' as never)).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(tokens.createToken('admin', 'line\nbreak')).rejects.toMatchObject({ code: 'BAD_INPUT' });
    expect(await tokens.countTokens()).toBe(0);
  });

  it('lists tokens without secrets, revoked ones included', async () => {
    const a = await tokens.createToken('admin', 'ops');
    const b = await tokens.createToken('exchange', 'desk');
    await tokens.revokeToken(b.id);
    const list = await tokens.listTokens();
    expect(list.map((t) => [t.id, t.revokedAt === null])).toEqual(
      expect.arrayContaining([
        [a.id, true],
        [b.id, false],
      ]),
    );
    expect(JSON.stringify(list)).not.toContain('sgt_');
  });

  it('survives a reopen: the digest table is the source of truth', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'sealgate-tokens-'));
    try {
      const path = join(dir, 'sealgate.duckdb');
      const first = await openDatabase(path);
      const created = await (await createTokenStore(first, clock)).createToken('admin');
      await first.close();
      const second = await openDatabase(path);
      const reopened = await createTokenStore(second, clock);
      expect(await reopened.authenticate(created.token)).toEqual({ tokenId: created.id, role: 'admin' });
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
