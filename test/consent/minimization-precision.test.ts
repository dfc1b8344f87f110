// Precision rules (ISO/IEC 20889 generalization): reductions never reveal more than the rule allows,
// are idempotent, and the join of two rules is no finer than either.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyPrecision, precisionFor } from '../../consent/minimization.ts';
import { PrecisionRule, joinRules, parsePrecisionRule } from '../../consent/precision.ts';

function bandBounds(label: unknown): [number, number] {
  expect(typeof label).toBe('string');
  const m = /^(-?\d+)-(-?\d+)$/.exec(label as string);
  expect(m).not.toBeNull();
  return [Number(m?.[1]), Number(m?.[2])];
}

describe('applyPrecision examples', () => {
  it('bands age 37 with band:5 to 35-39 and band:10 to 30-39', () => {
    expect(applyPrecision(37, 'band:5')).toBe('35-39');
    expect(applyPrecision(37, 'band:10')).toBe('30-39');
    expect(applyPrecision(-3, 'band:5')).toBe('-5--1');
    expect(applyPrecision(37n, 'band:5')).toBe('35-39');
    expect(applyPrecision('37', 'band:5')).toBe('35-39');
  });
  it('coarsens an existing band label only when it falls inside one new band', () => {
    expect(applyPrecision('35-39', 'band:10')).toBe('30-39');
    expect(applyPrecision('35-44', 'band:10')).toBeNull();
    expect(applyPrecision('39-35', 'band:5')).toBeNull();
  });
  it('truncates a district code to its first N characters, numbers included', () => {
    expect(applyPrecision('310104', 'truncate:4')).toBe('3101');
    expect(applyPrecision(310104, 'truncate:4')).toBe('3101');
    expect(applyPrecision('ab', 'truncate:4')).toBe('ab');
    expect(applyPrecision('😀😀😀', 'truncate:2')).toBe('😀😀');
  });
  it('rounds to N decimals, negative N to tens and hundreds', () => {
    expect(applyPrecision(3.14159, 'round:2')).toBe(3.14);
    expect(applyPrecision(1234.5, 'round:0')).toBe(1235);
    expect(applyPrecision(1234, 'round:-2')).toBe(1200);
    expect(applyPrecision(1250, 'round:-2')).toBe(1300);
    expect(Object.is(applyPrecision(-0.4, 'round:0'), 0)).toBe(true);
  });
  it('passes exact values through and suppresses to null', () => {
    expect(applyPrecision('Model Y', 'exact')).toBe('Model Y');
    expect(applyPrecision('Model Y', 'suppress')).toBeNull();
  });
  it('returns null for values a rule cannot reduce, never the raw value', () => {
    for (const rule of ['band:5', 'round:1']) {
      for (const odd of ['abc', '2024-05-01', true, {}, [], NaN, Infinity, 2n ** 70n, null, undefined]) {
        expect(applyPrecision(odd, rule)).toBeNull();
      }
    }
    for (const odd of [1.5, true, {}, NaN, null]) expect(applyPrecision(odd, 'truncate:2')).toBeNull();
    expect(applyPrecision(1e300, 'round:2')).toBeNull();
  });
  it('treats a rule outside the grammar as suppress', () => {
    for (const bad of ['band:0', 'band:-5', 'truncate:0', 'round:10', 'round:-0', 'BAND:5', 'band:5 ', '']) {
      expect(parsePrecisionRule(bad)).toBeNull();
      expect(PrecisionRule.safeParse(bad).success).toBe(false);
      expect(applyPrecision(37, bad)).toBeNull();
    }
  });
});

describe('applyPrecision properties', () => {
  const width = fc.integer({ min: 1, max: 1000 });
  it('an output band always contains the input', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e12, max: 1e12, noNaN: true }), width, (value, n) => {
        const [lo, hi] = bandBounds(applyPrecision(value, `band:${n}`));
        expect(hi - lo + 1).toBe(n);
        expect(lo).toBeLessThanOrEqual(value);
        expect(value).toBeLessThan(hi + 1); // the label names [lo, lo + N)
        expect(Math.abs(lo % n)).toBe(0);
      }),
    );
  });
  it('truncate is never longer than N code points and is a prefix', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.integer({ min: 1, max: 30 }), (value, n) => {
        const out = applyPrecision(value, `truncate:${n}`) as string;
        expect([...out].length).toBeLessThanOrEqual(n);
        expect(value.startsWith(out)).toBe(true);
      }),
    );
  });
  it('rounding moves a value by at most half a step', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.integer({ min: -3, max: 3 }), (value, n) => {
        const out = applyPrecision(value, `round:${n}`) as number;
        expect(Math.abs(out - value)).toBeLessThanOrEqual(10 ** -n / 2 + 1e-9);
      }),
    );
  });
  it('applying a rule twice equals applying it once', () => {
    const rule = fc.oneof(
      width.map((n) => `band:${n}`),
      fc.integer({ min: 1, max: 20 }).map((n) => `truncate:${n}`),
      fc.integer({ min: -6, max: 6 }).map((n) => `round:${n}`),
      fc.constantFrom('exact', 'suppress'),
    );
    const value = fc.oneof(
      fc.double({ min: -1e9, max: 1e9, noNaN: true }),
      fc.integer(),
      fc.string({ maxLength: 20 }),
      fc.bigInt({ min: -(2n ** 60n), max: 2n ** 60n }),
    );
    fc.assert(
      fc.property(value, rule, (v, r) => {
        const once = applyPrecision(v, r);
        expect(applyPrecision(once, r)).toStrictEqual(once);
      }),
    );
  });
});

describe('precisionFor picks the coarsest rule', () => {
  it('band:10 beats band:5 in either order', () => {
    expect(precisionFor('age', { age: 'band:5' }, { age: 'band:10' })).toBe('band:10');
    expect(precisionFor('age', { age: 'band:10' }, { age: 'band:5' })).toBe('band:10');
  });
  it('joins unaligned band widths at their least common multiple', () => {
    expect(precisionFor('age', { age: 'band:6' }, { age: 'band:4' })).toBe('band:12');
    expect(precisionFor('age', { age: 'band:999999937' }, { age: 'band:999999929' })).toBe('suppress');
  });
  it('keeps the shorter prefix and the fewer decimals', () => {
    expect(precisionFor('d', { d: 'truncate:4' }, { d: 'truncate:2' })).toBe('truncate:2');
    expect(precisionFor('p', { p: 'round:-1' }, { p: 'round:2' })).toBe('round:-1');
  });
  it('treats a missing rule as exact and a malformed one as suppress', () => {
    expect(precisionFor('x', {}, {})).toBe('exact');
    expect(precisionFor('x', { x: 'exact' }, { x: 'round:1' })).toBe('round:1');
    expect(precisionFor('x', { x: 'band:5' }, { x: 'band:five' })).toBe('suppress');
    expect(precisionFor('constructor', {})).toBe('exact');
  });
  it('suppresses a field whose rules are of different kinds', () => {
    expect(precisionFor('x', { x: 'band:5' }, { x: 'round:-1' })).toBe('suppress');
    expect(precisionFor('x', { x: 'truncate:3' }, { x: 'band:5' })).toBe('suppress');
  });
  it('the joined band is never finer than either input band', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: -1e6, max: 1e6 }),
        (a, b, v) => {
          const joined = joinRules({ kind: 'band', n: a }, { kind: 'band', n: b });
          expect(joined.kind).toBe('band');
          const rule = `band:${(joined as { n: number }).n}`;
          // Coarser means: the joined output is a function of either finer output.
          expect(applyPrecision(applyPrecision(v, `band:${a}`), rule)).toBe(applyPrecision(v, rule));
          expect(applyPrecision(applyPrecision(v, `band:${b}`), rule)).toBe(applyPrecision(v, rule));
        },
      ),
    );
  });
});
