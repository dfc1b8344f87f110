// The log survives a restart: reopening a DuckDB file rebuilds the same projection, the same chain heads, and the
// chain keeps growing from where it stopped.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSigner } from '../../consent/signer.ts';
import { DAY, grantInput, openHarness } from '../fixtures/consent-log-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'sealgate-consent-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ctx = { actor: 'tok_collector' };

describe('reopening a file database', () => {
  it('restores records, delegations, views, bulk filter results and chain heads', async () => {
    const path = join(dir, 'gateway.duckdb');
    const signer = createSigner(generateKeyPairSync('ed25519').privateKey);
    const first = await openHarness({ path, signer });
    const a = await first.log.grant(grantInput({ subjectId: 'customer-a' }), ctx);
    const b = await first.log.grant(grantInput({ subjectId: 'customer-b' }), ctx);
    const c = await first.log.grant(grantInput({ subjectId: 'customer-c', expiresAt: '2025-03-05T00:00:00Z' }), ctx);
    await first.log.withdraw(b.record.recordId, ctx);
    await first.log.renew(c.record.recordId, { expiresAt: '2025-04-01T00:00:00Z' }, ctx);
    const s = await first.log.supersede(
      a.record.recordId,
      grantInput({
        subjectId: 'customer-a',
        notice: { url: 'https://dealer.example/notice', hash: 'c'.repeat(64), version: '4' },
      }),
      ctx,
    );
    const d = await first.log.delegate(
      { partner: 'insurer', purposes: ['joint-modeling'], fieldAllowlist: ['age'], expiresAt: '2025-12-31T00:00:00Z' },
      ctx,
    );
    await first.log.recordDecision({
      actor: 'tok_pdp',
      action: 'read',
      outcome: 'deny',
      purpose: 'marketing',
      reasons: ['no consent'],
      consentIds: [],
      delegationIds: [],
    });

    const at = first.clock.now();
    const subjects = [a, b, c].map((r) => r.record.subject);
    const before = {
      records: await Promise.all([a, b, c, s].map((r) => first.log.getRecord(r.record.recordId))),
      delegation: await first.log.getDelegation(d.delegation.delegationId),
      grants: subjects.map((x) => first.log.view.grantsFor(x, 'joint-modeling', at)),
      delegations: first.log.view.delegationsFor('insurer', 'joint-modeling', at),
      filtered: await first.log.filterSubjects(subjects, 'joint-modeling', 'insurer', at),
      heads: structuredClone(first.store.heads),
      audit: await first.log.listAudit({ limit: 100 }),
    };
    // a is covered by its superseding record, b withdrew, c was renewed.
    expect(before.filtered).toEqual([a.record.subject, c.record.subject]);
    await first.close();

    const second = await openHarness({ path, signer });
    expect(second.store.heads).toEqual(before.heads);
    expect(await Promise.all([a, b, c, s].map((r) => second.log.getRecord(r.record.recordId)))).toEqual(before.records);
    expect(await second.log.getDelegation(d.delegation.delegationId)).toEqual(before.delegation);
    expect(subjects.map((x) => second.log.view.grantsFor(x, 'joint-modeling', at))).toEqual(before.grants);
    expect(second.log.view.delegationsFor('insurer', 'joint-modeling', at)).toEqual(before.delegations);
    expect(await second.log.filterSubjects(subjects, 'joint-modeling', 'insurer', at)).toEqual(before.filtered);
    expect(await second.log.listAudit({ limit: 100 })).toEqual(before.audit);

    // The chain continues from the restored heads.
    second.clock.advance(DAY);
    const e = await second.log.grant(grantInput({ subjectId: 'customer-e' }), ctx);
    expect(e.events[0]!.seq).toBe(before.heads.events.seq + 1);
    expect((await second.log.getRecord(e.record.recordId)).events[0]!.prevHash).toBe(before.heads.events.hash);
    expect(await second.log.verify()).toEqual({
      ok: true,
      events: before.heads.events.seq + 1,
      audit: before.heads.audit.seq + 1,
    });
    await second.close();
  });

  it('rebuilds the consent_current table from the log when it has drifted', async () => {
    const path = join(dir, 'drift.duckdb');
    const signer = createSigner(generateKeyPairSync('ed25519').privateKey);
    const first = await openHarness({ path, signer });
    const a = await first.log.grant(grantInput({ subjectId: 'customer-a' }), ctx);
    // The drift is made in the table, so the grant's row must have moved there from the journal first.
    await first.store.settle();
    await first.db.transaction((tx) => tx.run('DELETE FROM consent_current'));
    expect(await first.log.filterSubjects([a.record.subject], 'joint-modeling', 'insurer')).toEqual([]);
    await first.close();

    const second = await openHarness({ path, signer });
    expect(await second.log.filterSubjects([a.record.subject], 'joint-modeling', 'insurer')).toEqual([
      a.record.subject,
    ]);
    await second.close();
  });
});
