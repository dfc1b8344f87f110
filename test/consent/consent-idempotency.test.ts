// Idempotency keys: a repeat of the same request returns the original result and writes nothing; the same key
// with a different request is IDEMPOTENCY_MISMATCH; keys are scoped per actor.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditJournalPathOf } from '../../consent/consent-store.ts';
import { grantInput, openHarness, openJournaledHarness, type LogHarness } from '../fixtures/consent-log-fixture.ts';

// Over a file, a repeat is answered from the journal's rows in memory until they move; counting rows moves them.
describe.each([
  { storage: 'in memory', open: openHarness },
  { storage: 'journaled', open: openJournaledHarness },
])('idempotent commands ($storage)', ({ open }) => {
  let h: LogHarness;
  beforeEach(async () => {
    h = await open();
  });
  afterEach(async () => {
    await h.close();
  });

  const count = async (table: string) => {
    await h.store.settle();
    return Number((await h.db.all(`SELECT count(*) AS n FROM ${table}`))[0]!.n);
  };

  it('replays a repeated grant with the original result and writes no event, audit entry or row', async () => {
    const ctx = { actor: 'tok_collector', idempotencyKey: 'order-1' };
    const first = await h.log.grant(grantInput(), ctx);
    const written = {
      events: await count('events'),
      audit: await count('audit'),
      idempotency: await count('idempotency'),
    };
    h.clock.advance(60_000);
    const again = await h.log.grant(grantInput(), ctx);
    expect(again).toEqual(first);
    expect({
      events: await count('events'),
      audit: await count('audit'),
      idempotency: await count('idempotency'),
    }).toEqual(written);
    expect(written).toEqual({ events: 1, audit: 1, idempotency: 1 });
  });

  it('treats key order in the request as irrelevant (canonical request hash)', async () => {
    const ctx = { actor: 'tok_collector', idempotencyKey: 'order-2' };
    const input = grantInput();
    const reordered = Object.fromEntries(Object.entries(input).reverse());
    const first = await h.log.grant(input, ctx);
    expect(await h.log.grant(reordered, ctx)).toEqual(first);
  });

  it('refuses the same key with a different request', async () => {
    const ctx = { actor: 'tok_collector', idempotencyKey: 'order-3' };
    await h.log.grant(grantInput(), ctx);
    await expect(h.log.grant(grantInput({ expiresAt: '2027-01-01T00:00:00Z' }), ctx)).rejects.toMatchObject({
      code: 'IDEMPOTENCY_MISMATCH',
    });
    const { record } = await h.log.grant(grantInput({ subjectId: 'customer-9' }), { actor: 'tok_collector' });
    await expect(h.log.withdraw(record.recordId, ctx)).rejects.toMatchObject({ code: 'IDEMPOTENCY_MISMATCH' });
    expect(await count('events')).toBe(2);
  });

  it('scopes keys per actor', async () => {
    const a = await h.log.grant(grantInput(), { actor: 'tok_app_a', idempotencyKey: 'same' });
    const b = await h.log.grant(grantInput(), { actor: 'tok_app_b', idempotencyKey: 'same' });
    expect(b.record.recordId).not.toBe(a.record.recordId);
  });

  it('replays a withdrawal instead of failing it as a second withdrawal', async () => {
    const { record } = await h.log.grant(grantInput(), { actor: 'tok_collector' });
    const ctx = { actor: 'tok_collector', idempotencyKey: 'withdraw-1' };
    const first = await h.log.withdraw(record.recordId, ctx);
    expect(await h.log.withdraw(record.recordId, ctx)).toEqual(first);
    await expect(h.log.withdraw(record.recordId, { actor: 'tok_collector' })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
  });

  it('writes once when the same key arrives twice in the same batch', async () => {
    const ctx = { actor: 'tok_collector', idempotencyKey: 'race' };
    const [x, y] = await Promise.all([h.log.grant(grantInput(), ctx), h.log.grant(grantInput(), ctx)]);
    expect(y).toEqual(x);
    expect(await count('events')).toBe(1);
  });

  it('does not record a key for a rejected write, so a corrected retry can use it', async () => {
    const { record } = await h.log.grant(grantInput(), { actor: 'tok_collector' });
    await h.log.withdraw(record.recordId, { actor: 'tok_collector' });
    const ctx = { actor: 'tok_collector', idempotencyKey: 'retry' };
    await expect(h.log.revoke(record.recordId, ctx)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await count('idempotency')).toBe(0);
  });

  it('never stores the raw subject id, not even in the idempotency row', async () => {
    await h.log.grant(grantInput({ subjectId: 'phone:13800138000' }), {
      actor: 'tok_collector',
      idempotencyKey: 'pii',
    });
    const journal = auditJournalPathOf(h.db);
    if (journal !== null) expect(readFileSync(journal, 'utf8')).toMatch(/^\{"batch":[^\n]*\n$/);
    if (journal !== null) expect(readFileSync(journal, 'utf8')).not.toContain('13800138000');
    await h.store.settle();
    for (const table of ['events', 'audit', 'idempotency', 'consent_current']) {
      const rows = await h.db.all(`SELECT * FROM ${table}`);
      expect(rows).toHaveLength(1);
      expect(JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).not.toContain(
        '13800138000',
      );
    }
  });
});
