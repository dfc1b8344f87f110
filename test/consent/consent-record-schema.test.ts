// The consent record and grant request schemas: strict, bounded, and consistent with PIPL separate-consent rules.
import { describe, expect, it } from 'vitest';
import { ConsentGrantInput, ConsentRecord, PrecisionRule, RenewInput, buildGrantRecord } from '../../consent/record.ts';
import { grantInput } from '../fixtures/consent-log-fixture.ts';

const issuesOf = (input: unknown) => {
  const r = ConsentGrantInput.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

const fill = {
  recordId: '0b7f3f0e-8c1a-4f7e-9a51-2f8d2d7f6a10',
  subject: 'sp_' + 'a'.repeat(43),
  controller: 'dealer',
  notBefore: '2025-03-01T00:00:00.000Z',
  expiresAt: '2026-03-01T00:00:00.000Z',
  supersedes: null,
};

describe('ConsentGrantInput', () => {
  it('accepts a complete request', () => {
    expect(issuesOf(grantInput())).toEqual([]);
  });

  it('rejects unknown fields at every level', () => {
    expect(issuesOf(grantInput({ extra: 1 }))).toEqual([expect.stringContaining('Unrecognized key')]);
    expect(
      issuesOf(grantInput({ notice: { url: 'https://x.example/n', hash: 'a'.repeat(64), version: '1', lang: 'en' } }))
        .length,
    ).toBe(1);
    expect(issuesOf(grantInput({ status: 'Given' })).length).toBe(1);
    expect(issuesOf(grantInput({ recordId: fill.recordId })).length).toBe(1);
  });

  it('needs exactly one of subjectId and subject', () => {
    expect(issuesOf(grantInput({ subjectId: undefined }))).toEqual([
      'subject: give exactly one of subjectId or subject',
    ]);
    expect(issuesOf(grantInput({ subject: 'sp_' + 'a'.repeat(43) }))).toEqual([
      'subject: give exactly one of subjectId or subject',
    ]);
    expect(issuesOf(grantInput({ subjectId: undefined, subject: 'sp_' + 'a'.repeat(43) }))).toEqual([]);
    expect(issuesOf(grantInput({ subjectId: undefined, subject: 'customer-1' })).length).toBeGreaterThan(0);
  });

  it('bounds strings and arrays so hostile input stays small', () => {
    expect(issuesOf(grantInput({ subjectId: 'x'.repeat(257) })).length).toBe(1);
    const many = Array.from({ length: 65 }, (_, i) => ({ purpose: `p${i}`, legalBasis: 'dpv:Consent' }));
    expect(issuesOf(grantInput({ purposes: many })).length).toBe(1);
    expect(issuesOf(grantInput({ purposes: [{ purpose: 'p'.repeat(257), legalBasis: 'dpv:Consent' }] })).length).toBe(
      1,
    );
    expect(
      issuesOf(
        grantInput({ notice: { url: 'https://x.example/' + 'a'.repeat(600), hash: 'a'.repeat(64), version: '1' } }),
      ).length,
    ).toBe(1);
  });

  it('requires separate consent for sharing, sensitive data and cross-border transfer (PIPL Arts. 23, 29, 39)', () => {
    expect(issuesOf(grantInput({ separateConsent: { sharing: false, sensitive: false, crossBorder: false } }))).toEqual(
      ['separateConsent.sharing: sharing with another handler needs separate consent'],
    );
    expect(issuesOf(grantInput({ dataCategories: [{ category: 'dpv:HealthRecord', sensitive: true }] }))).toEqual([
      'separateConsent.sensitive: sensitive data needs separate consent',
    ]);
    expect(
      issuesOf(
        grantInput({ minimization: { fieldAllowlist: [], precision: {}, localOnly: false, crossBorder: true } }),
      ),
    ).toEqual(['separateConsent.crossBorder: cross-border transfer needs separate consent']);
    expect(
      issuesOf(
        grantInput({
          minimization: { fieldAllowlist: [], precision: {}, localOnly: true, crossBorder: true },
          separateConsent: { sharing: true, sensitive: false, crossBorder: true },
        }),
      ),
    ).toEqual(['minimization.crossBorder: localOnly contradicts crossBorder']);
  });

  it('rejects precision rules outside the allowlist, duplicates, and expiry before start', () => {
    expect(
      issuesOf(
        grantInput({
          minimization: {
            fieldAllowlist: ['age'],
            precision: { income: 'band:1000' },
            localOnly: true,
            crossBorder: false,
          },
        }),
      ),
    ).toEqual(['minimization.precision.income: precision rule for a field outside fieldAllowlist']);
    expect(
      issuesOf(
        grantInput({
          recipients: [
            { id: 'insurer', role: 'processor' },
            { id: 'insurer', role: 'processor' },
          ],
        }),
      ),
    ).toEqual(['recipients.1.id: recipient listed twice']);
    expect(issuesOf(grantInput({ notBefore: '2026-01-01T00:00:00Z', expiresAt: '2025-01-01T00:00:00Z' }))).toEqual([
      'expiresAt: expiresAt must be after notBefore',
    ]);
  });

  it('requires offsets on timestamps', () => {
    expect(issuesOf(grantInput({ expiresAt: '2026-03-01T00:00:00' })).length).toBe(1);
    expect(issuesOf(grantInput({ expiresAt: '2026-03-01T08:00:00+08:00' }))).toEqual([]);
  });
});

describe('PrecisionRule', () => {
  it.each(['band:5', 'truncate:4', 'round:-2', 'round:1', 'exact'])('accepts %s', (rule) =>
    expect(PrecisionRule.safeParse(rule).success).toBe(true),
  );
  it.each(['band:', 'band:-5', 'round:x', 'Exact', 'truncate:4 ', 'hash'])('rejects %s', (rule) =>
    expect(PrecisionRule.safeParse(rule).success).toBe(false),
  );
});

describe('buildGrantRecord', () => {
  it('builds a record that ConsentRecord accepts, frozen, with status Given and no anchor yet', () => {
    const record = buildGrantRecord(ConsentGrantInput.parse(grantInput()), () => fill);
    expect(ConsentRecord.parse(record)).toEqual(record);
    expect(record).toMatchObject({
      status: 'Given',
      anchor: null,
      signatures: [],
      supersedes: null,
      controller: 'dealer',
    });
    expect(Object.isFrozen(record.minimization.precision)).toBe(true);
    expect('subjectId' in record).toBe(false);
  });

  it('rejects a fill whose expiry is not after notBefore', () => {
    expect(() =>
      buildGrantRecord(ConsentGrantInput.parse(grantInput()), () => ({
        ...fill,
        notBefore: '2027-01-01T00:00:00.000Z',
      })),
    ).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
  });
});

describe('RenewInput', () => {
  it('is strict: only expiresAt and echoes of the fresh-consent fields', () => {
    expect(RenewInput.safeParse({ expiresAt: '2027-01-01T00:00:00Z' }).success).toBe(true);
    expect(RenewInput.safeParse({ expiresAt: '2027-01-01T00:00:00Z', jurisdiction: 'EU' }).success).toBe(false);
  });
});
