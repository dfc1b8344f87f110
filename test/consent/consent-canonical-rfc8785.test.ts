// RFC 8785 (JSON Canonicalization Scheme) vectors for the canonical form every consent and audit hash is taken over.
import { describe, expect, it } from 'vitest';
import canonicalizeJcs from 'canonicalize';
import { canonicalHash, canonicalize, sha256Hex } from '../../consent/canonical.ts';
import { prng } from '../fixtures/json-mutations.ts';

// Keys and values where a fast writer could part from the library: array-index keys (which objects enumerate
// first), a __proto__ member, ordering by UTF-16 code units, escapes, lone surrogates, edge doubles, members that
// JSON leaves out, and objects that are not plain data.
const KEYS = [
  'a',
  'b',
  'B',
  '',
  '1',
  '10',
  '9',
  '01',
  '4294967295',
  '-1',
  '1.5',
  '__proto__',
  'é',
  '€',
  '\ud83d\ude00',
  '\ufb33',
  '\r',
  'key with space',
  'toJSON',
];
const LEAVES: unknown[] = [
  0,
  -0,
  1,
  -1,
  1.5,
  1e21,
  1e-7,
  5e-324,
  Number.MAX_VALUE,
  2 ** 53,
  Number('333333333.33333329'),
  Number.NaN,
  Number.POSITIVE_INFINITY,
  '',
  'x',
  'quote " and \\ backslash',
  'line\nbreak',
  '\u0000\u001f',
  '€$',
  '\ud83d\ude00',
  '\ud800',
  'a\udc00b',
  true,
  false,
  null,
  undefined,
  new Date(0),
  new Map([[1, 2]]),
  Object.create(null) as object,
];

function randomValue(rand: () => number, depth: number): unknown {
  const roll = rand();
  if (depth > 3 || roll < 0.45) return LEAVES[Math.floor(rand() * LEAVES.length)];
  if (roll < 0.65) return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth + 1));
  // Through JSON.parse where possible, so a "__proto__" key is an own member, as in a parsed request body.
  const entries = Array.from(
    { length: Math.floor(rand() * 5) },
    () => [KEYS[Math.floor(rand() * KEYS.length)] as string, randomValue(rand, depth + 1)] as const,
  );
  const object: Record<string, unknown> = JSON.parse('{}');
  for (const [key, value] of entries)
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  return object;
}

const outcome = (write: () => string | undefined): string => {
  try {
    return `ok ${write()}`;
  } catch {
    return 'refused';
  }
};

describe('canonical JSON (RFC 8785)', () => {
  it('serializes numbers as in the §3.2.2 example', () => {
    // Source: RFC 8785 §3.2.2; JSON.parse is the "parser" of §3.1, so literals go through it as text.
    const input = JSON.parse('[333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001]');
    expect(canonicalize(input)).toBe('[333333333.3333333,1e+30,4.5,0.002,1e-27]');
  });

  it('reproduces the complete §3.2.2 example (numbers, string escapes, literals, key order)', () => {
    const input = JSON.parse(String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`);
    expect(canonicalize(input)).toBe(
      String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
    );
  });

  it('sorts properties by UTF-16 code units as in §3.2.3', () => {
    // Source: RFC 8785 §3.2.3 sorting example.
    const input = JSON.parse(String.raw`{
      "\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis"
    }`);
    const keys = [...canonicalize(input).matchAll(/"([^"]*)":"/g)].map((m) => m[1]);
    expect(keys).toEqual(['\\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
  });

  // Source: RFC 8785 Appendix B, IEEE 754 bit patterns and their required serializations.
  const NUMBERS: [string, string][] = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ];
  it.each(NUMBERS)('serializes the double 0x%s as %s (Appendix B)', (bits, expected) => {
    expect(canonicalize(Buffer.from(bits, 'hex').readDoubleBE(0))).toBe(expected);
  });

  it('refuses NaN and Infinity (Appendix B) with BAD_INPUT', () => {
    expect(() => canonicalize(Number.NaN)).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
    expect(() => canonicalize({ a: Number.POSITIVE_INFINITY })).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
  });

  it('writes exactly what the canonicalize library writes, and refuses what it refuses, on 20,000 seeded values', () => {
    const rand = prng(8785);
    let written = 0;
    for (let i = 0; i < 20_000; i++) {
      const value = randomValue(rand, 0);
      const expected = outcome(() => canonicalizeJcs(value));
      const actual = outcome(() => canonicalize(value));
      // The library returns undefined for a top-level undefined; the gateway refuses it.
      expect(actual, String(i)).toBe(expected === 'ok undefined' ? 'refused' : expected);
      if (actual.startsWith('ok')) written++;
    }
    expect(written).toBeGreaterThan(5_000);
  });

  it('hashes equal JSON values equally regardless of key order', () => {
    expect(canonicalHash({ b: [1, { y: 2, x: 1 }], a: 'z' })).toBe(canonicalHash({ a: 'z', b: [1, { x: 1, y: 2 }] }));
    expect(canonicalHash({ a: 1 })).toBe(sha256Hex('{"a":1}'));
  });
});
