// The purpose catalogue schema: strict, bounded, explicit recipients, rules only for allowed fields.
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_BUNDLE } from '../../consent/default-policy-bundle.ts';
import { PurposeCatalog, findPurpose } from '../../consent/purpose.ts';

const base = {
  description: 'Joint CLV modeling',
  fieldAllowlist: ['customer_age', 'region_code'],
  precision: { customer_age: 'band:5', region_code: 'truncate:4' },
  kThreshold: 10,
  allowedRecipients: ['insurer-a'],
  actions: ['join', 'aggregate'],
};

function paths(value: unknown): string[] {
  const parsed = PurposeCatalog.safeParse(value);
  expect(parsed.success).toBe(false);
  return parsed.error ? parsed.error.issues.map((i) => i.path.join('.')) : [];
}

describe('PurposeCatalog', () => {
  it('accepts the default catalogue', () => {
    expect(PurposeCatalog.parse(DEFAULT_POLICY_BUNDLE.purposes)).toEqual(DEFAULT_POLICY_BUNDLE.purposes);
  });
  it("rejects the '*' recipient: every recipient is named", () => {
    expect(paths({ p: { ...base, allowedRecipients: ['*'] } })).toEqual(['p.allowedRecipients.0']);
  });
  it('rejects a precision rule for a field outside the allowlist', () => {
    expect(paths({ p: { ...base, precision: { phone: 'truncate:3' } } })).toEqual(['p.precision.phone']);
  });
  it('rejects malformed rules, k below 1, unknown keys and duplicate fields', () => {
    expect(paths({ p: { ...base, precision: { customer_age: 'band:0' } } })).toEqual(['p.precision.customer_age']);
    expect(paths({ p: { ...base, kThreshold: 0 } })).toEqual(['p.kThreshold']);
    expect(paths({ p: { ...base, kThreshold: 2.5 } })).toEqual(['p.kThreshold']);
    expect(paths({ p: { ...base, extra: true } })).toEqual(['p']);
    expect(paths({ p: { ...base, fieldAllowlist: ['a', 'a'] } })).toEqual([
      'p.fieldAllowlist',
      'p.precision.customer_age',
      'p.precision.region_code',
    ]);
    expect(paths({ 'Bad Id': base })).toEqual(['Bad Id']);
  });
  it('bounds the number of purposes', () => {
    const many = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`p${i}`, base]));
    expect(paths(many)).toEqual(['']);
  });
  it('finds own purposes only, never inherited keys', () => {
    const catalog = PurposeCatalog.parse({ p: base });
    expect(findPurpose(catalog, 'p')?.kThreshold).toBe(10);
    expect(findPurpose(catalog, 'constructor')).toBeUndefined();
    expect(findPurpose(catalog, 'toString')).toBeUndefined();
  });
});
