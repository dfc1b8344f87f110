// The consent projection keeps records in typed-array columns and replays later events through the lifecycle on a
// core rebuilt from them. These tests hold the columns to the plain fold of each record's events: for any sequence
// of writes, live and after a replay from the file, every subject's grants in force are the fold's.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createConsentColumns, type GrantTerms } from '../../consent/consent-columns.ts';
import type { ConsentCore } from '../../consent/lifecycle.ts';
import { pseudonymize } from '../../consent/pseudonym.ts';
import { DAY, SUBJECT_KEY, grantInput, openHarness, type LogHarness } from '../fixtures/consent-log-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'sealgate-columns-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TERMS: GrantTerms = Object.freeze({
  controller: 'dealer',
  purposes: ['joint-modeling'],
  recipients: ['insurer'],
  fieldAllowlist: ['age'],
  precision: {},
});
const core = (change: Partial<ConsentCore> = {}): ConsentCore => ({
  status: 'Given',
  expiresAt: '2026-01-01T00:00:00.000Z',
  terminalReason: null,
  supersededBy: null,
  updatedAt: '',
  notBeforeMs: Date.parse('2025-01-01T00:00:00.000Z'),
  expiresAtMs: Date.parse('2026-01-01T00:00:00.000Z'),
  ...change,
});

describe('consent columns', () => {
  it("round-trips ids and subjects through growth, keeps each subject's records in grant order, and finds nothing else", () => {
    const columns = createConsentColumns(8);
    const subjects = Array.from({ length: 1500 }, (_, i) => pseudonymize(SUBJECT_KEY, `customer-${i}`));
    const added: { id: string; subject: string }[] = [];
    for (let i = 0; i < 3000; i++) {
      const id = randomUUID();
      const subject = subjects[i % subjects.length] as string;
      expect(columns.add(id, subject, TERMS, core(), i + 1)).toBe(i);
      added.push({ id, subject });
    }
    for (const [row, { id, subject }] of added.entries()) {
      expect(columns.rowOf(id)).toBe(row);
      expect(columns.recordId(row)).toBe(id);
      expect(columns.subject(row)).toBe(subject);
      expect(columns.seqs(row)).toEqual([row + 1]);
    }
    const rowsOf = (subject: string) => {
      const rows: number[] = [];
      for (let row = columns.firstOfSubject(subject); row >= 0; row = columns.nextOfSubject(row)) rows.push(row);
      return rows;
    };
    expect(rowsOf(subjects[7] as string)).toEqual([7, 1507]);
    for (const missing of [randomUUID(), 'not-an-id', randomUUID().toUpperCase(), ''])
      expect(columns.rowOf(missing)).toBe(-1);
    expect(columns.firstOfSubject(pseudonymize(SUBJECT_KEY, 'nobody'))).toBe(-1);
    expect(columns.firstOfSubject('sp_short')).toBe(-1);
    expect(() => columns.add(added[0]!.id, subjects[0]!, TERMS, core(), 9999)).toThrow(/already projected/);
  });

  it('keeps a pseudonym whose last character carries spare bits apart from the canonical one, and odd expiry text as written', () => {
    const columns = createConsentColumns();
    const canonical = pseudonymize(SUBJECT_KEY, 'customer-1');
    const last = canonical.at(-1) as string;
    const variant = `${canonical.slice(0, -1)}${last === 'B' ? 'C' : 'B'}`;
    const a = columns.add(randomUUID(), canonical, TERMS, core(), 1);
    const b = columns.add(randomUUID(), variant, TERMS, core({ expiresAt: '2026-01-01T08:00:00+08:00' }), 2);
    expect([columns.firstOfSubject(canonical), columns.firstOfSubject(variant)]).toEqual([a, b]);
    expect([columns.subject(a), columns.subject(b)]).toEqual([canonical, variant]);
    expect(columns.expiresAt(b)).toBe('2026-01-01T08:00:00+08:00');
    expect(columns.core(b).expiresAtMs).toBe(Date.parse('2026-01-01T00:00:00.000Z'));
    columns.setCore(
      b,
      core({
        status: 'Renewed',
        expiresAt: '2027-01-01T00:00:00.000Z',
        expiresAtMs: Date.parse('2027-01-01T00:00:00.000Z'),
      }),
    );
    expect(columns.expiresAt(b)).toBe('2027-01-01T00:00:00.000Z');
    expect(columns.core(b)).toMatchObject({
      status: 'Renewed',
      terminalReason: null,
      expiresAtMs: Date.parse('2027-01-01T00:00:00.000Z'),
    });
  });
});

type Op =
  | { kind: 'grant'; subject: number; purpose: number; expiresInDays: number | null }
  | { kind: 'withdraw' | 'revoke' | 'supersede'; pick: number }
  | { kind: 'renew'; pick: number; days: number }
  | { kind: 'advance'; days: number }
  | { kind: 'expire' };

const PURPOSES = ['joint-modeling', 'valuation'];
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('grant' as const),
      subject: fc.nat(5),
      purpose: fc.nat(1),
      expiresInDays: fc.option(fc.integer({ min: 1, max: 20 })),
    }),
    weight: 5,
  },
  fc.record({ kind: fc.constantFrom('withdraw' as const, 'revoke' as const, 'supersede' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('renew' as const), pick: fc.nat(), days: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ kind: fc.constant('advance' as const), days: fc.integer({ min: 1, max: 10 }) }),
  fc.record({ kind: fc.constant('expire' as const) }),
);

/** Runs `ops`; writes the lifecycle refuses (CONFLICT) are part of the test, anything else fails it. */
async function play(h: LogHarness, ops: readonly Op[]): Promise<void> {
  const ctx = { actor: 'token:test' };
  const ids: string[] = [];
  const expected = (error: unknown) => {
    if ((error as { code?: string }).code !== 'CONFLICT') throw error;
  };
  for (const o of ops) {
    const id = ids.length === 0 ? undefined : ids[('pick' in o ? o.pick : 0) % ids.length];
    const at = h.clock.now().getTime();
    switch (o.kind) {
      case 'grant': {
        const expiresAt = o.expiresInDays === null ? null : new Date(at + o.expiresInDays * DAY).toISOString();
        const purposes = [{ purpose: PURPOSES[o.purpose] as string, legalBasis: 'dpv:Consent' }];
        ids.push(
          (await h.log.grant(grantInput({ subjectId: `customer-${o.subject}`, purposes, expiresAt }), ctx)).record
            .recordId,
        );
        break;
      }
      case 'withdraw':
        if (id !== undefined) await h.log.withdraw(id, ctx).catch(expected);
        break;
      case 'revoke':
        if (id !== undefined) await h.log.revoke(id, ctx).catch(expected);
        break;
      case 'supersede': {
        if (id === undefined) break;
        const { record } = await h.log.getRecord(id);
        const replacement = grantInput({
          subject: record.subject,
          subjectId: undefined,
          notice: { ...record.notice, version: `${record.notice.version}.1` },
          expiresAt: null,
        });
        await h.log.supersede(id, replacement, ctx).then((r) => ids.push(r.record.recordId), expected);
        break;
      }
      case 'renew':
        if (id !== undefined)
          await h.log.renew(id, { expiresAt: new Date(at + o.days * DAY).toISOString() }, ctx).catch(expected);
        break;
      case 'advance':
        h.clock.advance(o.days * DAY);
        break;
      case 'expire':
        await h.log.expireDue();
        break;
    }
  }
}

/** Every subject's grants in force per purpose, as the projection answers and as the fold of each record says. */
async function answers(h: LogHarness) {
  const at = h.clock.now();
  const out: { projected: string[]; folded: string[] }[] = [];
  for (let s = 0; s <= 5; s++) {
    const subject = pseudonymize(SUBJECT_KEY, `customer-${s}`);
    const history = await h.log.subjectHistory(subject);
    for (const purpose of PURPOSES) {
      const projected = h.log.view.grantsFor(subject, purpose, at).map((g) => `${g.recordId}:${g.expiresAt}`);
      const folded = history
        .filter((r) => r.record.purposes.some((p) => p.purpose === purpose) && r.current.isActive)
        .map((r) => `${r.record.recordId}:${r.current.expiresAt}`);
      out.push({ projected, folded });
    }
  }
  return out;
}

describe('the column projection against the fold of each record', () => {
  it('answers every subject and purpose as the fold does, live and after a replay from the file', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 40 }), async (ops) => {
        const path = join(dir, `columns-${run++}.duckdb`);
        const h = await openHarness({ path });
        let at: Date;
        let live: Awaited<ReturnType<typeof answers>>;
        try {
          await play(h, ops);
          at = h.clock.now();
          live = await answers(h);
          for (const { projected, folded } of live) expect(projected).toEqual(folded);
        } finally {
          await h.close();
        }
        const reopened = await openHarness({ path, start: at.toISOString() });
        try {
          expect(await answers(reopened)).toEqual(live);
          // At the edges of every validity window (just before and at expiry) the columns and the fold agree too.
          const edges = (
            await Promise.all(
              [0, 1, 2, 3, 4, 5].map((s) => reopened.log.subjectHistory(pseudonymize(SUBJECT_KEY, `customer-${s}`))),
            )
          )
            .flat()
            .flatMap((r) => (r.current.expiresAt === null ? [] : [Date.parse(r.current.expiresAt)]));
          for (const edge of edges.slice(0, 6)) {
            for (const t of [edge - 1, edge]) {
              reopened.clock.set(new Date(t));
              for (const { projected, folded } of await answers(reopened)) expect(projected).toEqual(folded);
            }
          }
        } finally {
          await reopened.close();
        }
      }),
      { numRuns: 25 },
    );
  }, 120_000);
});
