// The audit journal: audit entries written alone (decisions, messages) are durable in a file beside the database
// and move into the audit table in bulk. Every read of the table sees them, a consent write moves them first in its
// own transaction, and a restart moves what a crash left, dropping only the unfinished end of an unacknowledged append.
import fs, { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sealAuditEntry, type AuditEntry } from '../consent/audit.ts';
import { journalLine, readJournal } from '../consent/audit-journal.ts';
import { GENESIS_HASH } from '../consent/canonical.ts';
import type { DecisionAudit } from '../consent/consent-log.ts';
import { auditJournalPathOf } from '../consent/consent-store.ts';
import { grantInput, openHarness, type LogHarness } from './fixtures/consent-log-fixture.ts';

const decision = (i: number): DecisionAudit => ({
  actor: 'token:pdp', action: 'read', outcome: i % 2 === 0 ? 'permit' : 'deny', purpose: 'joint-modeling',
  reasons: [`reason-${i}`], consentIds: [], delegationIds: [],
});

function chainOf(n: number, from = { seq: 0, hash: GENESIS_HASH }): AuditEntry[] {
  const entries: AuditEntry[] = [];
  let head = from;
  for (let i = 0; i < n; i++) {
    const e = sealAuditEntry({
      kind: 'decision', actor: 'token:pdp', action: 'read', outcome: 'permit', refs: [`ref-${i}`],
      detail: { n: i, ratio: 0.1 * i, text: 'é"\\\u2028' }, entryId: crypto.randomUUID(), at: '2025-03-01T00:00:00.000Z',
    }, head.hash, head.seq + 1);
    entries.push(e);
    head = { seq: e.seq, hash: e.hash };
  }
  return entries;
}
const text = (entries: readonly AuditEntry[]) => Buffer.from(entries.map(journalLine).join(''));

describe('reading a journal against the table head', () => {
  it('keeps the entries that continue the chain and skips the ones the table already has', () => {
    const entries = chainOf(5);
    const head = { seq: 2, hash: entries[1]!.hash };
    const read = readJournal(text(entries), head);
    expect(read.entries.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(read.entries[2]).toEqual(entries[4]);
    expect(read.discardedBytes).toBe(0);
  });

  it('drops a torn last line and everything from the first line that does not verify', () => {
    const entries = chainOf(4);
    const whole = text(entries);
    const tail = Buffer.from('{"seq":5,"entryId":"x"');
    expect(readJournal(Buffer.concat([whole, tail]), { seq: 0, hash: GENESIS_HASH })).toMatchObject({ keptBytes: whole.length, discardedBytes: tail.length });

    const forged = entries.map((e, i) => (i === 2 ? { ...e, outcome: 'deny' as const } : e));
    const read = readJournal(text(forged), { seq: 0, hash: GENESIS_HASH });
    expect(read.entries.map((e) => e.seq)).toEqual([1, 2]);
    expect(read.keptBytes).toBe(text(entries.slice(0, 2)).length);
  });

  it('never takes a damaged line: random corruption keeps a verified prefix or is refused', () => {
    const entries = chainOf(8);
    const whole = text(entries);
    let seed = 42;
    const random = (n: number) => { seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31; return seed % n; };
    for (let trial = 0; trial < 300; trial++) {
      const damaged = Buffer.from(whole);
      for (let flips = 1 + random(4); flips > 0; flips--) damaged[random(damaged.length)] = random(256);
      let read;
      try {
        read = readJournal(damaged, { seq: 0, hash: GENESIS_HASH });
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
    expect(() => readJournal(text(entries.slice(3)), { seq: 2, hash: entries[1]!.hash })).toThrow(/does not continue the audit table/);
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
    rmSync(dir, { recursive: true, force: true });
  });
  const tableCount = async () => Number((await h.db.all('SELECT count(*) AS n FROM audit'))[0]?.n);
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

  it('a consent write moves the journal in its own transaction, so the table chain stays gapless', async () => {
    await h.log.recordDecision(decision(0));
    await h.log.recordDecision(decision(1));
    const granted = await h.log.grant(grantInput(), { actor: 'token:steward' });
    expect(statSync(journal).size).toBe(0);
    const seqs = (await h.db.all('SELECT seq FROM audit ORDER BY seq')).map((r) => Number(r.seq));
    expect(seqs).toEqual([1, 2, 3]);
    expect(granted.events).toHaveLength(1);
    expect(await h.log.verify()).toEqual({ ok: true, events: 1, audit: 3 });
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
    h = await openHarness({ path: join(dir, 'gateway.duckdb'), moveAfterMs: 200 });
    await h.log.recordDecision(decision(0));
    const deadline = Date.now() + 5_000;
    while (statSync(journal).size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(statSync(journal).size).toBe(0);
    expect(await tableCount()).toBe(1);
  });

  it('a restart moves what a crash left in the journal, and drops only a cut-short last append', async () => {
    await h.log.grant(grantInput(), { actor: 'token:steward' });
    const refs = [];
    for (let i = 0; i < 5; i++) refs.push(await h.log.recordDecision(decision(i)));
    // A crash: the database closes without the store moving its journal.
    await h.log.close();
    await h.db.close();
    expect(journalLines()).toBe(5);
    const tail = '{"seq":7,"entryId":"0a1b';
    appendFileSync(journal, tail);

    h = await openHarness({ path: join(dir, 'gateway.duckdb'), signer: h.signer, moveAfterMs: 600_000 });
    expect(h.store.journalRecovery).toEqual({ moved: 5, discardedBytes: tail.length });
    expect(h.store.heads.audit).toMatchObject({ seq: 6, hash: refs[4]!.hash });
    expect(statSync(journal).size).toBe(0);
    expect(await tableCount()).toBe(6);
    expect(await h.log.verify()).toEqual({ ok: true, events: 1, audit: 6 });
    const next = await h.log.recordDecision(decision(9));
    expect(next.seq).toBe(7);
    expect(await h.log.verify()).toEqual({ ok: true, events: 1, audit: 7 });
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
    const spy = vi.spyOn(proto, 'truncate').mockRejectedValue(Object.assign(new Error('EIO: i/o error, ftruncate'), { code: 'EIO' }));
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
    await expect(openHarness({ path: join(dir, 'gateway.duckdb'), signer: h.signer })).rejects.toThrow(/does not continue the audit table/);
    // The refused journal is left untouched for an operator to inspect.
    expect(JSON.parse(readFileSync(journal, 'utf8').split('\n')[0] ?? '{}')).toMatchObject({ seq: 5 });
    h = await openHarness({ path: join(dir, 'other.duckdb') });
  });
});
