// Field allowlists intersect in request order, rows are projected and generalized by the plan, and
// aggregates need a cohort of at least k (k-anonymity, ISO/IEC 20889 §10).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MinimizationPlan, allowedFields, checkKThreshold, minimizeRow } from '../../consent/minimization.ts';

describe('allowedFields', () => {
  it('keeps the requested order and drops fields naming the first allowlist that lacks them', () => {
    const out = allowedFields(
      ['region_code', 'email', 'customer_age', 'vehicle_model'],
      { source: 'purpose p', fields: ['customer_age', 'vehicle_model', 'region_code'] },
      { source: 'consent c1', fields: ['vehicle_model', 'region_code', 'email'] },
    );
    expect(out.fields).toEqual(['region_code', 'vehicle_model']);
    expect(out.dropped).toEqual([
      { field: 'email', reason: 'not in purpose p allowlist' },
      { field: 'customer_age', reason: 'not in consent c1 allowlist' },
    ]);
  });
  it('keeps a field requested twice only once', () => {
    expect(allowedFields(['a', 'a', 'b'], { source: 's', fields: ['a', 'b'] }).fields).toEqual(['a', 'b']);
  });
  it('allows nothing when no allowlist is given', () => {
    const out = allowedFields(['a']);
    expect(out.fields).toEqual([]);
    expect(out.dropped).toEqual([{ field: 'a', reason: 'no allowlist grants it' }]);
  });
  it('is the set intersection of requested and every allowlist', () => {
    const names = fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { maxLength: 8 });
    fc.assert(
      fc.property(names, fc.array(names, { minLength: 1, maxLength: 4 }), (requested, lists) => {
        const out = allowedFields(requested, ...lists.map((fields, i) => ({ source: `l${i}`, fields })));
        const expected = [...new Set(requested)].filter((f) => lists.every((l) => l.includes(f)));
        expect(out.fields).toEqual(expected);
        expect(out.fields.length + out.dropped.length).toBe(new Set(requested).size);
      }),
    );
  });
});

describe('minimizeRow', () => {
  const plan = MinimizationPlan.parse({
    fields: ['customer_age', 'region_code', 'vehicle_model', 'policy_premium'],
    precision: { customer_age: 'band:5', region_code: 'truncate:4', vehicle_model: 'exact' },
  });
  it('projects onto the plan fields and generalizes each value', () => {
    const row = {
      customer_age: 37,
      region_code: '310104',
      vehicle_model: 'Model Y',
      phone: '13800000000',
      email: 'x@y',
    };
    expect(minimizeRow(row, plan)).toEqual({ customer_age: '35-39', region_code: '3101', vehicle_model: 'Model Y' });
  });
  it('withholds a plan field that has no rule instead of assuming exact', () => {
    expect(minimizeRow({ policy_premium: 4321 }, plan)).toEqual({ policy_premium: null });
  });
  it('never copies inherited properties', () => {
    const p = MinimizationPlan.parse({
      fields: ['constructor', 'toString'],
      precision: { constructor: 'exact', toString: 'exact' },
    });
    expect(minimizeRow({}, p)).toEqual({});
  });
  it('rejects a plan with a malformed rule or a prototype-polluting field name', () => {
    expect(MinimizationPlan.safeParse({ fields: ['a'], precision: { a: 'band:x' } }).success).toBe(false);
    expect(MinimizationPlan.safeParse({ fields: ['__proto__'], precision: {} }).success).toBe(false);
  });
});

describe('checkKThreshold', () => {
  it('passes at k and above, fails below', () => {
    expect(checkKThreshold(10, 10)).toBe(true);
    expect(checkKThreshold(11, 10)).toBe(true);
    expect(checkKThreshold(9, 10)).toBe(false);
  });
  it('treats an unknown or malformed cohort size as too small', () => {
    for (const size of [undefined, null, NaN, -1, 10.5, '10', Infinity]) expect(checkKThreshold(size, 1)).toBe(false);
  });
  it('fails for a k below 1 rather than releasing everything', () => {
    expect(checkKThreshold(100, 0)).toBe(false);
    expect(checkKThreshold(100, NaN)).toBe(false);
  });
});
