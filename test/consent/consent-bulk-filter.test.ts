// The bulk consent filter (one set operation in DuckDB) keeps exactly the subjects a per-subject check through the
// in-memory projection keeps, for any history of grants, withdrawals, revocations, renewals and supersedes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pseudonymize } from '../../consent/pseudonym.ts';
import {
  DAY,
  SUBJECT_KEY,
  T0,
  grantInput,
  openHarness,
  openJournaledHarness,
} from '../fixtures/consent-log-fixture.ts';

const PURPOSES = ['joint-modeling', 'valuation', 'marketing'];
const PARTIES = ['insurer', 'charging-co', 'battery-maker'];
const ctx = { actor: 'tok_collector' };
const t0 = Date.parse(T0);
const iso = (days: number) => new Date(t0 + days * DAY).toISOString();

const grantArb = fc.record({
  subject: fc.nat(11),
  purposes: fc.subarray(PURPOSES, { minLength: 1 }),
  recipients: fc.subarray(PARTIES, { minLength: 1 }),
  startDay: fc.integer({ min: -5, max: 5 }),
  lengthDays: fc.option(fc.integer({ min: 1, max: 20 }), { nil: null }),
});
const actionArb = fc.record({
  kind: fc.constantFrom('withdraw', 'revoke', 'renew', 'supersede', 'advance'),
  target: fc.nat(),
  days: fc.integer({ min: 1, max: 10 }),
});

type GrantSpec = {
  subject: number;
  purposes: string[];
  recipients: string[];
  startDay: number;
  lengthDays: number | null;
};

const queryArb = fc.record({
  mode: fc.constantFrom('day', 'start', 'end'),
  day: fc.integer({ min: -6, max: 30 }),
  pick: fc.nat(),
  deltaMs: fc.constantFrom(-1, 0, 1),
});

const inputFor = (g: GrantSpec) =>
  grantInput({
    subjectId: `customer-${g.subject}`,
    purposes: g.purposes.map((purpose) => ({ purpose, legalBasis: 'dpv:Consent' })),
    recipients: g.recipients.map((id) => ({ id, role: 'joint-controller' })),
    notBefore: iso(g.startDay),
    expiresAt: g.lengthDays === null ? null : iso(g.startDay + g.lengthDays),
  });

// In memory, each write commits its own transaction. Over a file, each write is a journal line, and the filter moves
// all of them into the tables at once, merging every record's changes into its last row; half the runs move the
// grants first, so the actions then replace rows already in the table.
describe.each([
  { storage: 'in memory', open: openHarness },
  { storage: 'journaled', open: openJournaledHarness },
])('filterSubjects ($storage)', ({ open }) => {
  it('agrees with a naive per-subject evaluation (property)', async () => {
    let nonEmpty = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          grants: fc.array(grantArb, { minLength: 1, maxLength: 14 }),
          actions: fc.array(actionArb, { maxLength: 10 }),
          purpose: fc.constantFrom(...PURPOSES),
          recipient: fc.constantFrom(...PARTIES),
          query: queryArb,
          candidateIds: fc.array(fc.nat(15), { maxLength: 20 }),
          isMovedBetween: fc.boolean(),
        }),
        async ({ grants, actions, purpose, recipient, query, candidateIds, isMovedBetween }) => {
          const h = await open({ start: iso(-10) });
          try {
            const written: { id: string; spec: GrantSpec }[] = [];
            for (const spec of grants)
              written.push({ id: (await h.log.grant(inputFor(spec), ctx)).record.recordId, spec });
            if (isMovedBetween) await h.store.settle();
            for (const a of actions) {
              const { id, spec } = written[a.target % written.length]!;
              // Random actions are often invalid (withdraw twice, renew an open-ended record, supersede with a past
              // expiry): nothing is written then, and both sides must still agree.
              await (async () => {
                if (a.kind === 'advance') {
                  h.clock.advance(a.days * DAY);
                  return;
                }
                if (a.kind === 'withdraw') await h.log.withdraw(id, ctx);
                if (a.kind === 'revoke') await h.log.revoke(id, ctx);
                if (a.kind === 'renew')
                  await h.log.renew(
                    id,
                    { expiresAt: new Date(h.clock.now().getTime() + a.days * DAY * 3).toISOString() },
                    ctx,
                  );
                if (a.kind === 'supersede') {
                  const next = {
                    ...spec,
                    purposes: [...spec.purposes].reverse().slice(0, 2),
                    startDay: spec.startDay + 1,
                  };
                  written.push({ id: (await h.log.supersede(id, inputFor(next), ctx)).record.recordId, spec: next });
                }
              })().catch((e: { code?: string }) => {
                if (e.code !== 'CONFLICT' && e.code !== 'BAD_INPUT') throw e;
              });
            }
            // Query at a plain day or within a millisecond of some record's start or (renewed) end: the edges matter.
            const edgeOf = written[query.pick % written.length]!;
            const current = await h.log.getRecord(edgeOf.id);
            const edge =
              query.mode === 'start'
                ? current.record.notBefore
                : query.mode === 'end'
                  ? current.current.expiresAt
                  : null;
            const at = new Date(edge === null ? t0 + query.day * DAY : Date.parse(edge) + query.deltaMs);
            // Candidates include subjects with no record at all and duplicates.
            const candidates = candidateIds.map((n) => pseudonymize(SUBJECT_KEY, `customer-${n}`));
            const naive = [...new Set(candidates)].filter((s) =>
              h.log.view.grantsFor(s, purpose, at).some((g) => g.recipients.includes(recipient)),
            );
            expect(await h.log.filterSubjects(candidates, purpose, recipient, at)).toEqual(naive);
            // The complement (what a PSI job re-checks before sending): every other distinct candidate, in input order.
            expect(await h.log.uncoveredSubjects(candidates, purpose, recipient, at)).toEqual(
              [...new Set(candidates)].filter((c) => !naive.includes(c)),
            );
            if (naive.length > 0) nonEmpty++;
          } finally {
            await h.close();
          }
        },
      ),
      { numRuns: 30 },
    );
    // Guard against a vacuous property: some runs must keep subjects.
    expect(nonEmpty).toBeGreaterThan(0);
  });

  it('filters 100,000 candidates in one call', async () => {
    const h = await open();
    try {
      const granted = await Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          h.log.grant(
            grantInput({
              subjectId: `customer-${i}`,
              recipients: [{ id: i % 3 === 0 ? 'battery-maker' : 'insurer', role: 'third-party' }],
            }),
            ctx,
          ),
        ),
      );
      await h.log.withdraw(granted[1]!.record.recordId, ctx);
      const candidates = Array.from({ length: 100_000 }, (_, i) => pseudonymize(SUBJECT_KEY, `customer-${i}`));
      const kept = await h.log.filterSubjects(candidates, 'joint-modeling', 'insurer');
      const expected = Array.from({ length: 300 }, (_, i) => i)
        .filter((i) => i % 3 !== 0 && i !== 1)
        .map((i) => candidates[i]);
      expect(kept).toEqual(expected);
    } finally {
      await h.close();
    }
  });

  it('refuses raw identifiers in the candidate list without echoing them', async () => {
    const h = await open();
    try {
      const error = await h.log
        .filterSubjects(['sp_' + 'a'.repeat(43), '+8613800138000'], 'joint-modeling', 'insurer')
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'BAD_INPUT', detail: { index: 1 } });
      expect(JSON.stringify(error) + String(error)).not.toContain('13800138000');
    } finally {
      await h.close();
    }
  });
});
