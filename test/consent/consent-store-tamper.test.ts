// verifyChains reads the rows back from DuckDB and names the first row edited, forged, removed or cut off.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { grantInput, openHarness, type LogHarness } from '../fixtures/consent-log-fixture.ts';

let h: LogHarness;
const ctx = { actor: 'tok_collector' };

beforeEach(async () => {
  h = await openHarness();
  const a = await h.log.grant(grantInput({ subjectId: 'customer-1' }), ctx);
  await h.log.grant(grantInput({ subjectId: 'customer-2' }), ctx);
  await h.log.withdraw(a.record.recordId, ctx);
  await h.log.grant(grantInput({ subjectId: 'customer-3' }), ctx);
  await h.log.recordDecision({
    actor: 'tok_pdp',
    action: 'read',
    outcome: 'permit',
    purpose: 'joint-modeling',
    reasons: ['consent'],
    consentIds: [a.record.recordId],
    delegationIds: [],
  });
});
afterEach(async () => {
  await h.close();
});

const raw = (sql: string) => h.db.transaction((tx) => tx.run(sql));
const eventIdAt = async (seq: number) =>
  String((await h.db.all('SELECT event_id FROM events WHERE seq = $1', [seq]))[0]?.event_id);

describe('verifyChains over stored rows', () => {
  it('passes on an untouched database', async () => {
    expect(await h.log.verify()).toEqual({ ok: true, events: 4, audit: 5 });
  });

  it('names an event whose payload was edited with raw SQL', async () => {
    await raw(`UPDATE events SET payload = replace(payload, 'joint-modeling', 'marketing') WHERE seq = 2`);
    expect(await h.log.verify()).toEqual({
      ok: false,
      chain: 'events',
      seq: 2,
      id: await eventIdAt(2),
      reason: 'hash-mismatch',
    });
  });

  it('names an event whose payload was replaced by invalid JSON', async () => {
    await raw(`UPDATE events SET payload = '{broken' WHERE seq = 3`);
    expect(await h.log.verify()).toMatchObject({ ok: false, chain: 'events', seq: 3, reason: 'hash-mismatch' });
  });

  it('names an event whose actor was changed and its hash recomputed, but could not be re-signed', async () => {
    // Recomputing a SHA-256 is easy for an attacker; only the signature stops the forgery.
    const [row] = await h.db.all('SELECT * FROM events WHERE seq = 3');
    const { canonicalHash } = await import('../../consent/canonical.ts');
    const body = {
      seq: 3,
      eventId: row!.event_id,
      kind: row!.kind,
      type: row!.type,
      subjectOrPartner: row!.subject_or_partner,
      recordId: row!.record_id,
      at: (row!.occurred_at as Date).toISOString(),
      actor: 'tok_attacker',
      payload: JSON.parse(String(row!.payload)),
      prevHash: row!.prev_hash,
      keyId: row!.key_id,
    };
    await raw(`UPDATE events SET actor = 'tok_attacker', hash = '${canonicalHash(body)}' WHERE seq = 3`);
    expect(await h.log.verify()).toMatchObject({ ok: false, chain: 'events', seq: 3, reason: 'bad-signature' });
  });

  it('names the row after a deleted event as seq-gap', async () => {
    await raw('DELETE FROM events WHERE seq = 2');
    expect(await h.log.verify()).toEqual({
      ok: false,
      chain: 'events',
      seq: 3,
      id: await eventIdAt(3),
      reason: 'seq-gap',
    });
  });

  it('names a chain cut off at the end as truncated', async () => {
    await raw('DELETE FROM events WHERE seq = 4');
    expect(await h.log.verify()).toEqual({ ok: false, chain: 'events', seq: 4, id: null, reason: 'truncated' });
  });

  it('names an edited audit entry', async () => {
    await raw(`UPDATE audit SET outcome = 'deny' WHERE seq = 5`);
    const [row] = await h.db.all('SELECT entry_id FROM audit WHERE seq = 5');
    expect(await h.log.verify()).toEqual({
      ok: false,
      chain: 'audit',
      seq: 5,
      id: String(row!.entry_id),
      reason: 'hash-mismatch',
    });
  });

  it('names an audit entry whose refs were rewritten', async () => {
    await raw(`UPDATE audit SET refs = ['nothing'] WHERE seq = 2`);
    expect(await h.log.verify()).toMatchObject({ ok: false, chain: 'audit', seq: 2, reason: 'hash-mismatch' });
  });
});

describe('verifyChains and replay across pages (the log is read 1,000 seqs at a time)', () => {
  it('verifies a log of several pages, names a hole at a page edge, and streams every row on past holes', async () => {
    // 2,500 grants on top of the 4 events of beforeEach: events 5..2504 over three pages.
    await Promise.all(Array.from({ length: 2500 }, (_, i) => h.log.grant(grantInput({ subjectId: `bulk-${i}` }), ctx)));
    expect(await h.log.verify()).toMatchObject({ ok: true, events: 2504 });
    const events: unknown[] = [];
    for await (const event of h.store.streamEvents()) events.push(event);
    expect(events).toHaveLength(2504);

    await raw('DELETE FROM events WHERE seq = 1001');
    expect(await h.log.verify()).toEqual({
      ok: false,
      chain: 'events',
      seq: 1002,
      id: await eventIdAt(1002),
      reason: 'seq-gap',
    });
    // A short page inside the committed head is a hole, not the end of the log: replay goes on, and the projection
    // then names the first missing seq.
    await raw('DELETE FROM events WHERE seq = 1500');
    const seqs: number[] = [];
    for await (const event of h.store.streamEvents()) seqs.push(event.seq);
    expect(seqs).toHaveLength(2502);
    expect(seqs.filter((s, i) => s !== i + 1).slice(0, 1)).toEqual([1002]);
  });
});
