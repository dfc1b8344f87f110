// The audit journal: audit entries written alone (decisions, messages) are durable in a file beside the database
// and move into the audit table in bulk. Every read of the table sees them, a consent write moves them first in its
// own transaction, and a restart moves what a crash left, dropping only the unfinished end of an unacknowledged append.
import fs, { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sealAuditEntry, type AuditEntry } from '../../consent/audit.ts';
import { batchLine, journalLine, readJournal } from '../../consent/audit-journal.ts';
import { GENESIS_HASH } from '../../consent/canonical.ts';
import type { DecisionAudit } from '../../consent/consent-log.ts';
import type { CommitBatch } from '../../consent/commit-batch.ts';
import { auditJournalPathOf } from '../../consent/consent-store.ts';
import { grantInput, openHarness, type LogHarness } from '../fixtures/consent-log-fixture.ts';

const decision = (i: number): DecisionAudit => ({
  actor: 'token:pdp',
  action: 'read',
  outcome: i % 2 === 0 ? 'permit' : 'deny',
  purpose: 'joint-modeling',
  reasons: [`reason-${i}`],
  consentIds: [],
  delegationIds: [],
});

function chainOf(n: number, from = { seq: 0, hash: GENESIS_HASH }): AuditEntry[] {
  const entries: AuditEntry[] = [];
  let head = from;
  for (let i = 0; i < n; i++) {
    const e = sealAuditEntry(
      {
        kind: 'decision',
        actor: 'token:pdp',
        action: 'read',
        outcome: 'permit',
        refs: [`ref-${i}`],
        detail: { n: i, ratio: 0.1 * i, text: 'é"\\\u2028' },
        entryId: crypto.randomUUID(),
        at: '2025-03-01T00:00:00.000Z',
      },
      head.hash,
      head.seq + 1,
    );
    entries.push(e);
    head = { seq: e.seq, hash: e.hash };
  }
  return entries;
}
const text = (entries: readonly AuditEntry[]) => Buffer.from(entries.map(journalLine).join(''));
const EMPTY = { seq: 0, hash: GENESIS_HASH };
/** Table heads with no events: these journals hold audit entries alone. */
const atAudit = (audit: { seq: number; hash: string }) => ({ events: EMPTY, audit });

describe('reading a journal against the table head', () => {
  it('keeps the entries that continue the chain and skips the ones the table already has', () => {
    const entries = chainOf(5);
    const head = { seq: 2, hash: entries[1]!.hash };
    const read = readJournal(text(entries), atAudit(head));
    expect(read.entries.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(read.entries[2]).toEqual(entries[4]);
    expect(read.discardedBytes).toBe(0);
  });

  it('drops a torn last line and everything from the first line that does not verify', () => {
    const entries = chainOf(4);
    const whole = text(entries);
    const tail = Buffer.from('{"seq":5,"entryId":"x"');
    expect(readJournal(Buffer.concat([whole, tail]), atAudit(EMPTY))).toMatchObject({
      keptBytes: whole.length,
      discardedBytes: tail.length,
    });

    const forged = entries.map((e, i) => (i === 2 ? { ...e, outcome: 'deny' as const } : e));
    const read = readJournal(text(forged), atAudit(EMPTY));
    expect(read.entries.map((e) => e.seq)).toEqual([1, 2]);
    expect(read.keptBytes).toBe(text(entries.slice(0, 2)).length);
  });

  it('never takes a damaged line: random corruption keeps a verified prefix or is refused', () => {
    const entries = chainOf(8);
    const whole = text(entries);
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let trial = 0; trial < 300; trial++) {
      const damaged = Buffer.from(whole);
      for (let flips = 1 + random(4); flips > 0; flips--) damaged[random(damaged.length)] = random(256);
      let read;
      try {
        read = readJournal(damaged, atAudit(EMPTY));
      } catch (error) {
        // Only the one refusal readJournal makes on purpose.
        expect(String(error)).toMatch(/does not continue the audit table/);
        continue;
      }
      // Whatever is kept is a prefix of the true chain, entry for entry.
      expect(read.entries).toEqual(entries.slice(0, read.entries.length));
      expect(read.keptBytes + read.discardedBytes).toBe(damaged.length);
    }
  });

  it('refuses a journal that skips seqs after the table head', () => {
    const entries = chainOf(5);
    expect(() => readJournal(text(entries.slice(3)), atAudit({ seq: 2, hash: entries[1]!.hash }))).toThrow(
      /does not continue the audit table/,
    );
  });
});

describe('reading consent batches in a journal', () => {
  /** A grant, a decision and a grant, as the journal's three lines (batch, entry, batch) and their chain points. */
  async function interleaved() {
    const m = await openHarness();
    try {
      await m.log.grant(grantInput({ subjectId: 'customer-1' }), { actor: 'token:steward' });
      await m.log.recordDecision(decision(0));
      await m.log.grant(grantInput({ subjectId: 'customer-2' }), { actor: 'token:steward' });
      const events = await m.store.readEvents(0, 10);
      const audit = await m.log.listAudit({ limit: 10 });
      const batch = (i: number, a: number): CommitBatch => ({
        events: [events[i]!],
        audit: [audit[a]!],
        idempotency: [],
        current: [],
      });
      const first = batch(0, 0);
      const second = batch(1, 2);
      const point = (e: { seq: number; hash: string }) => ({ seq: e.seq, hash: e.hash });
      return {
        first,
        second,
        alone: audit[1]!,
        bytes: Buffer.from(batchLine(first) + journalLine(audit[1]!) + batchLine(second)),
        afterFirst: { events: point(events[0]!), audit: point(audit[0]!) },
      };
    } finally {
      await m.close();
    }
  }

  it('keeps the batches and entries that continue both chains, in order, and skips what the tables have', async () => {
    const j = await interleaved();
    const all = readJournal(j.bytes, { events: EMPTY, audit: EMPTY });
    expect(all.batches).toEqual([j.first, j.second]);
    expect(all.entries).toEqual([j.alone]);
    expect(all.discardedBytes).toBe(0);
    const rest = readJournal(j.bytes, j.afterFirst);
    expect(rest.batches).toEqual([j.second]);
    expect(rest.entries).toEqual([j.alone]);
  });

  it('drops a torn batch line, and stops at a batch whose event does not verify', async () => {
    const j = await interleaved();
    const torn = Buffer.concat([j.bytes, Buffer.from(batchLine(j.second).slice(0, 60))]);
    expect(readJournal(torn, { events: EMPTY, audit: EMPTY })).toMatchObject({
      keptBytes: j.bytes.length,
      discardedBytes: 60,
    });

    const forged = { ...j.second, events: [{ ...j.second.events[0]!, actor: 'token:someone-else' }] };
    const kept = Buffer.from(batchLine(j.first) + journalLine(j.alone));
    const read = readJournal(Buffer.concat([kept, Buffer.from(batchLine(forged))]), { events: EMPTY, audit: EMPTY });
    expect(read.batches).toEqual([j.first]);
    expect(read.keptBytes).toBe(kept.length);
  });

  it('takes a batch line malformed inside for the end of the journal, without throwing', async () => {
    const j = await interleaved();
    const kept = Buffer.from(batchLine(j.first) + journalLine(j.alone));
    for (const events of [[null], [{ seq: 2 }], [{ ...j.second.events[0]!, payload: undefined }]]) {
      const line = Buffer.from(`${JSON.stringify({ batch: { ...j.second, events } })}\n`);
      const read = readJournal(Buffer.concat([kept, line]), { events: EMPTY, audit: EMPTY });
      expect(read.batches).toEqual([j.first]);
      expect(read.discardedBytes).toBe(line.length);
    }
  });

  it('refuses a batch half in the tables, and a first batch that skips seqs', async () => {
    const j = await interleaved();
    expect(() => readJournal(j.bytes, { events: j.afterFirst.events, audit: EMPTY })).toThrow(
      /does not continue the audit table/,
    );
    expect(() => readJournal(Buffer.from(batchLine(j.second)), j.afterFirst)).toThrow(
      /does not continue the audit table/,
    );
  });
});

describe('a consent store with an audit journal', () => {
  let dir: string;
  let h: LogHarness;
  let journal: string;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sealgate-journal-'));
    // Moves on their own only when a test asks: what is still journaled must not race a timer on a busy machine.
    h = await openHarness({ path: join(dir, 'gateway.duckdb'), moveAfterMs: 600_000 });
    journal = auditJournalPathOf(h.db) ?? '';
  });
  afterEach(async () => {
    await h.close().catch(() => undefined);
    vi.useRealTimers();
    rmSync(dir, { recursive: true, force: true });
  });
  const count = async (table: string) => Number((await h.db.all(`SELECT count(*) AS n FROM ${table}`))[0]?.n);
  const tableCount = () => count('audit');
  const journalLines = () => readFileSync(journal, 'utf8').split('\n').filter(Boolean).length;

  it('answers a decision once its entry is in the journal, and a listing moves it into the table', async () => {
    const refs = await Promise.all([0, 1, 2].map((i) => h.log.recordDecision(decision(i))));
    expect(refs.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(journalLines()).toBe(3);
    expect(h.store.journalPending).toBe(3);
    expect(await tableCount()).toBe(0);

    const listed = await h.log.listAudit({ kind: 'decision' });
    expect(listed.map((e) => [e.seq, e.hash])).toEqual(refs.map((r) => [r.seq, r.hash]));
    expect(await tableCount()).toBe(3);
    expect(statSync(journal).size).toBe(0);
    expect(h.store.journalPending).toBe(0);
    expect(await h.log.verify()).toEqual({ ok: true, events: 0, audit: 3 });
  });

  it('journals a consent write as one line, and a listing moves both kinds of line in one transaction', async () => {
    await h.log.recordDecision(decision(0));
    await h.log.recordDecision(decision(1));
    const granted = await h.log.grant(grantInput(), { actor: 'token:steward' });
    expect(journalLines()).toBe(3);
    expect(h.store.journalPending).toBe(4);
    expect({
      audit: await tableCount(),
      events: await count('events'),
      current: await count('consent_current'),
    }).toEqual({ audit: 0, events: 0, current: 0 });
    // Read from the journal's copy in memory without moving it: the write path's lookups.
    expect(await h.store.readEventsBySeq([1])).toEqual(
      granted.events.map(({ seq, hash }) => expect.objectContaining({ seq, hash })),
    );
    expect((await h.log.getRecord(granted.record.recordId)).events.map((e) => e.hash)).toEqual([
      granted.events[0]!.hash,
    ]);
    expect(journalLines()).toBe(3);

    const seqs = (await h.log.listAudit({ limit: 10 })).map((e) => e.seq);
    expect(seqs).toEqual([1, 2, 3]);
    expect(statSync(journal).size).toBe(0);
    expect({
      audit: await tableCount(),
      events: await count('events'),
      current: await count('consent_current'),
    }).toEqual({ audit: 3, events: 1, current: 1 });
    expect(granted.events).toHaveLength(1);
    expect(await h.log.verify()).toEqual({ ok: true, events: 1, audit: 3 });
  });

  it('answers from the journal what a write reads: a withdrawal, an idempotent repeat, the bulk filter', async () => {
    const ctx = { actor: 'token:steward', idempotencyKey: 'order-1' };
    const granted = await h.log.grant(grantInput(), ctx);
    expect(await h.log.grant(grantInput(), ctx)).toEqual(granted);
    await expect(h.log.grant(grantInput({ subjectId: 'customer-2' }), ctx)).rejects.toMatchObject({
      code: 'IDEMPOTENCY_MISMATCH',
    });
    const withdrawn = await h.log.withdraw(granted.record.recordId, { actor: 'token:steward' });
    expect(withdrawn.events.map((e) => e.seq)).toEqual([2]);
    expect((await h.store.readEventsBySeq([2]))[0]?.prevHash).toBe(granted.events[0]!.hash);
    expect(await count('events')).toBe(0);
    // A filter reads consent_current, so it moves the journal first, and sees the withdrawal.
    const other = await h.log.grant(grantInput({ subjectId: 'customer-3' }), { actor: 'token:steward' });
    expect(
      await h.log.filterSubjects([granted.record.subject, other.record.subject], 'joint-modeling', 'insurer'),
    ).toEqual([other.record.subject]);
    expect({
      events: await count('events'),
      idempotency: await count('idempotency'),
      current: await count('consent_current'),
    }).toEqual({ events: 3, idempotency: 1, current: 2 });
    expect(await h.log.grant(grantInput(), ctx)).toEqual(granted);
    expect(await h.log.verify()).toEqual({ ok: true, events: 3, audit: 3 });
  });

  it('keeps one gapless chain under concurrent decisions, grants, listings and verifies', async () => {
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 600; i++) {
      if (i % 6 === 0) work.push(h.log.grant(grantInput({ subjectId: `customer-${i}` }), { actor: 'token:steward' }));
      else if (i % 50 === 1) work.push(h.log.verify().then((v) => expect(v.ok).toBe(true)));
      else if (i % 25 === 2) work.push(h.log.listAudit({ limit: 1000 }));
      else work.push(h.log.recordDecision(decision(i)));
    }
    await Promise.all(work);
    // i % 6 === 0: 100 grants; of the rest, 12 verifies and 20 listings; 468 decisions.
    const grants = 100;
    const decisions = 468;
    expect(await h.log.verify()).toEqual({ ok: true, events: grants, audit: grants + decisions });
    const seqs = (await h.db.all('SELECT seq FROM audit ORDER BY seq')).map((r) => Number(r.seq));
    expect(seqs).toEqual(Array.from({ length: grants + decisions }, (_, i) => i + 1));
  });

  it('moves on its own after a while when nobody reads', async () => {
    await h.close();
    // The delay is the store's own setTimeout: faked, so the test does not wait it out on the wall clock.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    h = await openHarness({ path: join(dir, 'gateway.duckdb'), moveAfterMs: 200 });
    await h.log.recordDecision(decision(0));
    vi.advanceTimersByTime(199);
    expect(statSync(journal).size).toBeGreaterThan(0);
    vi.advanceTimersByTime(1);
    // The move itself is real I/O. Wait for it without reading, which would move the journal whatever the timer did.
    await vi.waitFor(() => expect(statSync(journal).size).toBe(0), { timeout: 5_000, interval: 10 });
    expect(statSync(journal).size).toBe(0);
    expect(await tableCount()).toBe(1);
  });

  it('a restart moves what a crash left in the journal, and drops only a cut-short last append', async () => {
    const granted = await h.log.grant(grantInput(), { actor: 'token:steward', idempotencyKey: 'order-1' });
    const refs = [];
    for (let i = 0; i < 5; i++) refs.push(await h.log.recordDecision(decision(i)));
    const withdrawn = await h.log.withdraw(granted.record.recordId, { actor: 'token:steward' });
    // A crash: the database closes without the store moving its journal.
    await h.log.close();
    await h.db.close();
    expect(journalLines()).toBe(7);
    const tail = '{"batch":{"events":[{"seq":3,"eventId":"0a1b';
    appendFileSync(journal, tail);

    h = await openHarness({ path: join(dir, 'gateway.duckdb'), signer: h.signer, moveAfterMs: 600_000 });
    expect(h.store.journalRecovery).toEqual({ moved: 7, movedEvents: 2, discardedBytes: tail.length });
    expect(h.store.heads.audit.seq).toBe(7);
    expect(h.store.heads.events).toMatchObject({ seq: 2, hash: withdrawn.events[0]!.hash });
    expect(statSync(journal).size).toBe(0);
    expect({
      audit: await tableCount(),
      events: await count('events'),
      idempotency: await count('idempotency'),
      current: await count('consent_current'),
    }).toEqual({ audit: 7, events: 2, idempotency: 1, current: 1 });
    expect(await h.log.verify()).toEqual({ ok: true, events: 2, audit: 7 });
    expect((await h.log.getRecord(granted.record.recordId)).current.status).toBe('Withdrawn');
    expect(await h.log.grant(grantInput(), { actor: 'token:steward', idempotencyKey: 'order-1' })).toEqual(granted);
    const next = await h.log.recordDecision(decision(9));
    expect(next.seq).toBe(8);
    expect(await h.log.verify()).toEqual({ ok: true, events: 2, audit: 8 });
    expect(refs.map((r) => r.seq)).toEqual([2, 3, 4, 5, 6]);
  });

  it('a restart after a move committed but before the file was emptied skips what the tables have', async () => {
    await h.log.grant(grantInput(), { actor: 'token:steward' });
    await h.log.recordDecision(decision(0));
    const lines = readFileSync(journal);
    expect(await h.log.verify()).toMatchObject({ ok: true });
    expect(statSync(journal).size).toBe(0);
    await h.log.close();
    await h.store.close();
    await h.db.close();
    // The crash: the rows are in the tables, the truncation never reached the disk.
    writeFileSync(journal, lines);

    h = await openHarness({ path: join(dir, 'gateway.duckdb'), signer: h.signer, moveAfterMs: 600_000 });
    expect(h.store.journalRecovery).toEqual({ moved: 0, movedEvents: 0, discardedBytes: 0 });
    expect({ audit: await tableCount(), events: await count('events') }).toEqual({ audit: 2, events: 1 });
    expect(
      (await h.log.grant(grantInput({ subjectId: 'customer-2' }), { actor: 'token:steward' })).events[0]!.seq,
    ).toBe(2);
    expect(await h.log.verify()).toEqual({ ok: true, events: 2, audit: 3 });
  });

  it('moves a batch line longer than DuckDB reads by default (16 MB)', async () => {
    const granted = await h.log.grant(grantInput(), { actor: 'token:steward' });
    await h.log.close();
    await h.db.close();
    // One grant's line, padded to the length of 2,048 large grants (DuckDB reads up to twice its limit before
    // refusing): the move appends the rows from memory and ignores the padding, but DuckDB's read_json, which moves the
    // entries written alone, still has to read past the line.
    const line = JSON.parse(readFileSync(journal, 'utf8')) as { batch: CommitBatch };
    writeFileSync(journal, `${JSON.stringify({ batch: { ...line.batch, padding: 'x'.repeat(40_000_000) } })}\n`);
    appendFileSync(
      journal,
      journalLine(
        sealAuditEntry(
          {
            kind: 'decision',
            actor: 'token:pdp',
            action: 'read',
            outcome: 'permit',
            refs: [],
            detail: {},
            entryId: crypto.randomUUID(),
            at: '2025-03-01T00:00:00.000Z',
          },
          line.batch.audit[0]!.hash,
          2,
        ),
      ),
    );

    h = await openHarness({ path: join(dir, 'gateway.duckdb'), signer: h.signer, moveAfterMs: 600_000 });
    expect(h.store.journalRecovery).toEqual({ moved: 2, movedEvents: 1, discardedBytes: 0 });
    expect({ audit: await tableCount(), events: await count('events') }).toEqual({ audit: 2, events: 1 });
    expect((await h.log.getRecord(granted.record.recordId)).events).toHaveLength(1);
    expect(await h.log.verify()).toEqual({ ok: true, events: 1, audit: 2 });
  });

  it("while moves fail, holds at most four moves' worth, then refuses writes until a move succeeds", async () => {
    await h.close();
    h = await openHarness({ path: join(dir, 'gateway.duckdb'), moveAfterMs: 600_000, moveAtEntries: 2 });
    const transaction = h.db.transaction.bind(h.db);
    (h.db as { transaction: typeof transaction }).transaction = async () => {
      throw new Error('disk full');
    };
    // Each grant is two chain entries (its event and audit entry): four grants reach four moves of two.
    for (let i = 0; i < 4; i++)
      await h.log.grant(grantInput({ subjectId: `customer-${i}` }), { actor: 'token:steward' });
    expect(h.store.journalPending).toBe(8);
    await expect(h.log.grant(grantInput({ subjectId: 'customer-4' }), { actor: 'token:steward' })).rejects.toThrow(
      'disk full',
    );
    await expect(h.log.recordDecision(decision(0))).rejects.toThrow('disk full');
    expect(h.store.journalPending).toBe(8);

    (h.db as { transaction: typeof transaction }).transaction = transaction;
    expect(
      (await h.log.grant(grantInput({ subjectId: 'customer-5' }), { actor: 'token:steward' })).events[0]!.seq,
    ).toBe(5);
    expect(await h.log.verify()).toEqual({ ok: true, events: 5, audit: 5 });
  });

  it('a failed append answers an error, leaves the file as it was, and the next append continues the chain', async () => {
    await h.log.recordDecision(decision(0));
    const before = readFileSync(journal);
    const writeSync = fs.writeSync;
    // Half the append reaches the file, then the disk is full.
    const spy = vi.spyOn(fs, 'writeSync').mockImplementationOnce((fd: number, bytes: unknown) => {
      const whole = bytes as Uint8Array;
      writeSync(fd, whole.subarray(0, whole.length >> 1));
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
    try {
      await expect(h.log.recordDecision(decision(1))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    } finally {
      spy.mockRestore();
    }
    expect(readFileSync(journal)).toEqual(before);
    expect((await h.log.recordDecision(decision(2))).seq).toBe(2);
    expect(await h.log.verify()).toEqual({ ok: true, events: 0, audit: 2 });
  });

  it('refuses appends until a restart once a move could not empty the file, and a restart skips what moved', async () => {
    await h.log.recordDecision(decision(0));
    const probe = await open(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { truncate: (this: FileHandle, length?: number) => Promise<void> };
    await probe.close();
    const spy = vi
      .spyOn(proto, 'truncate')
      .mockRejectedValue(Object.assign(new Error('EIO: i/o error, ftruncate'), { code: 'EIO' }));
    try {
      // The move commits to DuckDB, then cannot empty the journal: the table is whole, so the listing answers, and
      // the journal refuses appends from then on.
      expect((await h.log.listAudit({})).map((e) => e.seq)).toEqual([1]);
      expect(h.store.isJournalWritable).toBe(false);
      await expect(h.log.recordDecision(decision(1))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    } finally {
      spy.mockRestore();
    }
    await h.log.close();
    await h.store.close();
    await h.db.close();
    h = await openHarness({ path: join(dir, 'gateway.duckdb'), signer: h.signer, moveAfterMs: 600_000 });
    expect(h.store.isJournalWritable).toBe(true);
    expect(h.store.journalRecovery.moved).toBe(0);
    expect((await h.log.recordDecision(decision(2))).seq).toBe(2);
    expect(await h.log.verify()).toEqual({ ok: true, events: 0, audit: 2 });
  });

  it('refuses to start over a journal that does not continue the table', async () => {
    await h.log.recordDecision(decision(0));
    await h.log.close();
    await h.db.close();
    const [line] = readFileSync(journal, 'utf8').split('\n');
    const entry = JSON.parse(line ?? '{}') as Record<string, unknown>;
    writeFileSync(journal, `${JSON.stringify({ ...entry, seq: 5 })}\n`);
    await expect(openHarness({ path: join(dir, 'gateway.duckdb'), signer: h.signer })).rejects.toThrow(
      /does not continue the audit table/,
    );
    // The refused journal is left untouched for an operator to inspect.
    expect(JSON.parse(readFileSync(journal, 'utf8').split('\n')[0] ?? '{}')).toMatchObject({ seq: 5 });
    h = await openHarness({ path: join(dir, 'other.duckdb') });
  });
});
