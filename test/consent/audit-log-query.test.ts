// Audit entries are written for every consent write and decision, through the same group commit, and can be
// listed by time, kind, actor, reference and cursor.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { grantInput, openHarness, type LogHarness } from '../fixtures/consent-log-fixture.ts';

let h: LogHarness;
beforeEach(async () => {
  h = await openHarness();
});
afterEach(async () => {
  await h.close();
});

describe('audit log', () => {
  it('records each consent write with the event hashes and record id it wrote', async () => {
    const g = await h.log.grant(grantInput(), { actor: 'tok_collector' });
    const [entry] = await h.log.listAudit({ limit: 10 });
    expect(entry).toMatchObject({
      seq: 1,
      kind: 'consent-write',
      actor: 'tok_collector',
      action: 'grant',
      outcome: 'ok',
      refs: [g.events[0]!.hash, g.record.recordId],
    });
  });

  it('records decisions and filters by kind, actor, ref, time window and cursor', async () => {
    const g = await h.log.grant(grantInput(), { actor: 'tok_collector' });
    h.clock.advance(1000);
    const permit = await h.log.recordDecision({
      actor: 'tok_pdp',
      action: 'read',
      outcome: 'permit',
      purpose: 'joint-modeling',
      reasons: ['consent in force'],
      consentIds: [g.record.recordId],
      delegationIds: [],
      fields: ['age'],
      traceId: '0af7651916cd43dd8448eb211c80319c',
    });
    h.clock.advance(1000);
    await h.log.recordDecision({
      actor: 'tok_other',
      action: 'read',
      outcome: 'deny',
      purpose: 'marketing',
      reasons: ['no consent'],
      consentIds: [],
      delegationIds: [],
    });
    await h.log.appendAudit({
      kind: 'policy-change',
      actor: 'tok_admin',
      action: 'publish',
      outcome: 'ok',
      refs: ['policy-v2'],
      detail: { version: 2 },
    });

    expect(permit.seq).toBe(2);
    const decisions = await h.log.listAudit({ kind: 'decision', limit: 10 });
    expect(decisions.map((e) => e.outcome)).toEqual(['permit', 'deny']);
    expect(decisions[0]!.detail).toEqual({
      purpose: 'joint-modeling',
      reasons: ['consent in force'],
      fields: ['age'],
      traceId: '0af7651916cd43dd8448eb211c80319c',
    });
    expect((await h.log.listAudit({ actor: 'tok_other', limit: 10 })).map((e) => e.seq)).toEqual([3]);
    expect((await h.log.listAudit({ ref: g.record.recordId, limit: 10 })).map((e) => e.seq)).toEqual([1, 2]);
    expect(
      (await h.log.listAudit({ from: '2025-03-01T00:00:01.000Z', to: '2025-03-01T00:00:02.000Z', limit: 10 })).map(
        (e) => e.seq,
      ),
    ).toEqual([2]);
    expect((await h.log.listAudit({ afterSeq: 2, limit: 1 })).map((e) => e.seq)).toEqual([3]);
    expect((await h.log.listAudit({ limit: 2 })).map((e) => e.seq)).toEqual([1, 2]);
    expect(await h.log.verify()).toEqual({ ok: true, events: 1, audit: 4 });
  });

  it('validates queries and decision summaries', async () => {
    await expect(h.log.listAudit({ limit: 5000 })).rejects.toMatchObject({ name: 'ZodError' });
    await expect(h.log.listAudit({ limit: 1, kind: 'nonsense' as 'decision' })).rejects.toMatchObject({
      name: 'ZodError',
    });
    await expect(
      h.log.recordDecision({
        actor: 'tok_pdp',
        action: 'read',
        outcome: 'maybe' as 'permit',
        purpose: 'x',
        reasons: [],
        consentIds: [],
        delegationIds: [],
      }),
    ).rejects.toMatchObject({ name: 'ZodError' });
    expect(await h.log.listAudit({ limit: 10 })).toEqual([]);
  });
});
