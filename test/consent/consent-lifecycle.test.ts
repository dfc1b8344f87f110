// Consent lifecycle through the log with an injected clock: grant, withdraw, revoke, expiry (implicit and explicit),
// renewal, and supersede as the only way to change purpose; invalid transitions are CONFLICT.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyConsentEvent, isActiveAt, statusAt } from '../../consent/lifecycle.ts';
import { DAY, grantInput, openHarness, type LogHarness } from '../fixtures/consent-log-fixture.ts';

let h: LogHarness;
beforeEach(async () => {
  h = await openHarness();
});
afterEach(async () => {
  await h.close();
});

const ctx = { actor: 'tok_collector' };
const purpose = 'joint-modeling';
const activeIds = (subject: string, p = purpose) =>
  h.log.view.grantsFor(subject, p, h.clock.now()).map((g) => g.recordId);

describe('consent lifecycle', () => {
  it('a grant is Given and in force; a withdrawal ends it at the next decision', async () => {
    const { record, current, events } = await h.log.grant(grantInput(), ctx);
    expect(current).toMatchObject({ status: 'Given', isActive: true, terminalReason: null });
    expect(events).toHaveLength(1);
    expect(activeIds(record.subject)).toEqual([record.recordId]);

    const withdrawn = await h.log.withdraw(record.recordId, ctx, 'changed my mind');
    expect(withdrawn.current).toMatchObject({ status: 'Withdrawn', isActive: false, terminalReason: 'withdrawn' });
    expect(activeIds(record.subject)).toEqual([]);
    expect((await h.log.getRecord(record.recordId)).events.map((e) => e.type)).toEqual(['grant', 'withdraw']);
  });

  it('refuses to withdraw twice, renew a withdrawn record, or revoke it, with CONFLICT', async () => {
    const { record } = await h.log.grant(grantInput(), ctx);
    await h.log.withdraw(record.recordId, ctx);
    await expect(h.log.withdraw(record.recordId, ctx)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(h.log.renew(record.recordId, { expiresAt: '2027-01-01T00:00:00Z' }, ctx)).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    await expect(h.log.revoke(record.recordId, ctx)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await h.log.getRecord(record.recordId)).events).toHaveLength(2);
  });

  it('a controller revocation is terminal with status Revoked', async () => {
    const { record } = await h.log.grant(grantInput(), ctx);
    const revoked = await h.log.revoke(record.recordId, { actor: 'tok_admin' }, 'contract ended');
    expect(revoked.current).toMatchObject({ status: 'Revoked', terminalReason: 'revoked', isActive: false });
  });

  it('answers NOT_FOUND for an unknown record and a validation error for a malformed id', async () => {
    await expect(h.log.withdraw('0b7f3f0e-8c1a-4f7e-9a51-2f8d2d7f6a10', ctx)).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(h.log.withdraw('not-a-uuid', ctx)).rejects.toMatchObject({ name: 'ZodError' });
    await expect(h.log.getRecord('0b7f3f0e-8c1a-4f7e-9a51-2f8d2d7f6a10')).rejects.toThrow(
      expect.objectContaining({ code: 'NOT_FOUND' }),
    );
  });

  it('a record whose notBefore is in the future is Given but not yet in force', async () => {
    const start = new Date(h.clock.now().getTime() + 2 * DAY).toISOString();
    const { record, current } = await h.log.grant(grantInput({ notBefore: start }), ctx);
    expect(current).toMatchObject({ status: 'Given', isActive: false });
    expect(activeIds(record.subject)).toEqual([]);
    h.clock.advance(2 * DAY);
    expect(activeIds(record.subject)).toEqual([record.recordId]);
  });

  it('expires by time without any event, and expireDue then writes one explicit expire event', async () => {
    const { record } = await h.log.grant(grantInput({ expiresAt: '2025-03-11T00:00:00Z' }), ctx);
    h.clock.set('2025-03-10T23:59:59.999Z');
    expect(activeIds(record.subject)).toEqual([record.recordId]);
    expect(await h.log.expireDue()).toEqual([]);
    h.clock.set('2025-03-11T00:00:00.000Z');
    expect(activeIds(record.subject)).toEqual([]);
    expect((await h.log.getRecord(record.recordId)).current).toMatchObject({ status: 'Expired', isActive: false });
    expect((await h.log.getRecord(record.recordId)).events).toHaveLength(1);

    expect(await h.log.expireDue()).toEqual([record.recordId]);
    expect((await h.log.getRecord(record.recordId)).events.map((e) => e.type)).toEqual(['grant', 'expire']);
    expect(await h.log.expireDue()).toEqual([]);
  });

  it('renewal moves expiresAt later (Renewed), also after expiry, but not earlier', async () => {
    const { record } = await h.log.grant(grantInput({ expiresAt: '2025-04-01T00:00:00Z' }), ctx);
    const renewed = await h.log.renew(record.recordId, { expiresAt: '2025-05-01T00:00:00Z' }, ctx);
    expect(renewed.current).toMatchObject({ status: 'Renewed', expiresAt: '2025-05-01T00:00:00.000Z', isActive: true });
    expect(renewed.record.expiresAt).toBe('2025-04-01T00:00:00.000Z');
    await expect(h.log.renew(record.recordId, { expiresAt: '2025-04-15T00:00:00Z' }, ctx)).rejects.toMatchObject({
      code: 'CONFLICT',
    });

    h.clock.set('2025-06-01T00:00:00Z');
    await h.log.expireDue();
    expect((await h.log.getRecord(record.recordId)).current.status).toBe('Expired');
    await expect(h.log.renew(record.recordId, { expiresAt: '2025-05-20T00:00:00Z' }, ctx)).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    const again = await h.log.renew(record.recordId, { expiresAt: '2025-12-01T00:00:00Z' }, ctx);
    expect(again.current).toMatchObject({ status: 'Renewed', isActive: true });
    expect(activeIds(record.subject)).toEqual([record.recordId]);
  });

  it('renewal refuses a change of purpose, data category or notice version (CONFLICT) and accepts an unchanged echo', async () => {
    const input = grantInput();
    const { record } = await h.log.grant(input, ctx);
    const until = '2026-06-01T00:00:00Z';
    await expect(
      h.log.renew(
        record.recordId,
        { expiresAt: until, purposes: [{ purpose: 'marketing', legalBasis: 'dpv:Consent' }] },
        ctx,
      ),
    ).rejects.toMatchObject({ code: 'CONFLICT', detail: { changed: ['purposes'] } });
    await expect(
      h.log.renew(
        record.recordId,
        { expiresAt: until, dataCategories: [{ category: 'dpv:Location', sensitive: false }] },
        ctx,
      ),
    ).rejects.toMatchObject({ code: 'CONFLICT', detail: { changed: ['dataCategories'] } });
    await expect(
      h.log.renew(record.recordId, { expiresAt: until, notice: { ...(input.notice as object), version: '4' } }, ctx),
    ).rejects.toMatchObject({ code: 'CONFLICT', detail: { changed: ['notice'] } });
    const ok = await h.log.renew(record.recordId, { expiresAt: until, purposes: input.purposes }, ctx);
    expect(ok.current.status).toBe('Renewed');
  });

  it('refuses a grant that would already be expired', async () => {
    await expect(
      h.log.grant(grantInput({ notBefore: '2024-01-01T00:00:00Z', expiresAt: '2025-02-01T00:00:00Z' }), ctx),
    ).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });

  it('a record without expiry cannot be renewed', async () => {
    const { record } = await h.log.grant(grantInput({ expiresAt: null }), ctx);
    await expect(h.log.renew(record.recordId, { expiresAt: '2030-01-01T00:00:00Z' }, ctx)).rejects.toMatchObject({
      code: 'CONFLICT',
    });
  });

  it('a change of purpose goes through a superseding grant: the old record becomes Revoked/superseded', async () => {
    const { record: old } = await h.log.grant(grantInput(), ctx);
    const next = await h.log.supersede(
      old.recordId,
      grantInput({
        purposes: [
          { purpose: 'joint-modeling', legalBasis: 'dpv:Consent' },
          { purpose: 'valuation', legalBasis: 'dpv:Consent' },
        ],
        notice: { url: 'https://dealer.example/notice', hash: 'b'.repeat(64), version: '4' },
      }),
      ctx,
    );
    expect(next.record.supersedes).toBe(old.recordId);
    expect(next.events).toHaveLength(2);
    expect((await h.log.getRecord(old.recordId)).current).toMatchObject({
      status: 'Revoked',
      terminalReason: 'superseded',
      supersededBy: next.record.recordId,
    });
    expect(activeIds(old.subject)).toEqual([next.record.recordId]);
    expect(activeIds(old.subject, 'valuation')).toEqual([next.record.recordId]);
    expect((await h.log.subjectHistory(old.subject)).map((r) => r.record.recordId)).toEqual([
      old.recordId,
      next.record.recordId,
    ]);

    await expect(h.log.supersede(old.recordId, grantInput(), ctx)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(
      h.log.supersede(next.record.recordId, grantInput({ subjectId: 'customer-2' }), ctx),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await h.log.getRecord(next.record.recordId)).current.status).toBe('Given');
  });
});

describe('lifecycle rules (pure)', () => {
  it('refuses a second grant of the same record and events on unknown records', async () => {
    const { record } = await h.log.grant(grantInput(), ctx);
    const [grant] = (await h.log.getRecord(record.recordId)).events;
    const state = applyConsentEvent(undefined, grant!);
    expect(() => applyConsentEvent(state, grant!)).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    expect(() => applyConsentEvent(undefined, { ...grant!, type: 'withdraw', payload: {} })).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND' }),
    );
    expect(() =>
      applyConsentEvent(state, { ...grant!, type: 'expire', payload: { expiresAt: record.expiresAt } }),
    ).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    expect(() => applyConsentEvent(state, { ...grant!, type: 'withdraw', payload: { surprise: 1 } })).toThrow();
  });

  it('reads Expired at and after expiresAt, never active with an invalid time', async () => {
    const { record } = await h.log.grant(grantInput({ expiresAt: '2025-03-02T00:00:00Z' }), ctx);
    const state = applyConsentEvent(undefined, (await h.log.getRecord(record.recordId)).events[0]!);
    expect(statusAt(state, new Date('2025-03-01T23:59:59.999Z'))).toBe('Given');
    expect(statusAt(state, new Date('2025-03-02T00:00:00Z'))).toBe('Expired');
    expect(isActiveAt(state, new Date('2025-03-02T00:00:00Z'))).toBe(false);
    expect(isActiveAt(state, new Date('nonsense'))).toBe(false);
  });
});
