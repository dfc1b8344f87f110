// Precision rules: generalization by banding, truncation and rounding (ISO/IEC 20889:2018 §8.3,
// "generalization techniques"), plus the join that picks the coarsest of several rules.
//
// Grammar:  exact | suppress | band:N (1..1e9) | truncate:N (1..256) | round:N (-9..9)
//   band:N      numeric value -> label "lo-hi" of the half-open interval [lo, lo+N), lo a multiple of N
//               (age 37, band:5 -> "35-39"; the label names the inclusive integer bounds)
//   truncate:N  keep the first N code points (district code "310104", truncate:4 -> "3101")
//   round:N     round to N decimals; negative N rounds to tens (-1), hundreds (-2), ...
//   suppress    withhold the value; the join yields it when two rules cannot be ordered
// Reducing never throws: a value a rule cannot reduce becomes null, so nothing finer than allowed leaks.
import { z } from 'zod';

const RULE_PATTERN =
  /^(?:exact|suppress|band:[1-9]\d{0,8}|band:1000000000|truncate:(?:[1-9]\d?|1\d\d|2[0-4]\d|25[0-6])|round:(?:0|-?[1-9]))$/;

export const PrecisionRule = z
  .string()
  .regex(RULE_PATTERN, 'precision rule must be exact, suppress, band:N, truncate:N or round:N');
export type PrecisionRule = z.infer<typeof PrecisionRule>;

export type ParsedRule = { kind: 'exact' } | { kind: 'suppress' } | { kind: 'band' | 'truncate' | 'round'; n: number };

const EXACT: ParsedRule = { kind: 'exact' };
const SUPPRESS: ParsedRule = { kind: 'suppress' };

/** Parse a rule string; null when it is not in the grammar (callers treat that as suppress). */
export function parsePrecisionRule(rule: string): ParsedRule | null {
  if (typeof rule !== 'string' || !RULE_PATTERN.test(rule)) return null;
  if (rule === 'exact') return EXACT;
  if (rule === 'suppress') return SUPPRESS;
  const colon = rule.indexOf(':');
  const kind = rule.slice(0, colon) as 'band' | 'truncate' | 'round';
  return { kind, n: Number(rule.slice(colon + 1)) };
}

function formatRule(rule: ParsedRule): PrecisionRule {
  return rule.kind === 'exact' || rule.kind === 'suppress' ? rule.kind : `${rule.kind}:${rule.n}`;
}

const MAX_BAND = 1_000_000_000;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * The least upper bound of two rules: an output no finer than either.
 * - band: the least common multiple of the widths. Bands are aligned at 0, so band:lcm is the finest
 *   partition that both band partitions refine (band:10 ⊔ band:5 = band:10; band:6 ⊔ band:4 = band:12).
 * - truncate: the shorter prefix. round: the fewer decimals.
 * - rules of different kinds are incomparable (a range label is neither finer nor coarser than a
 *   rounded number), so the field is suppressed rather than guessing which one the subject meant.
 */
export function joinRules(a: ParsedRule, b: ParsedRule): ParsedRule {
  if (a.kind === 'suppress' || b.kind === 'suppress') return SUPPRESS;
  if (a.kind === 'exact') return b;
  if (b.kind === 'exact') return a;
  if (a.kind !== b.kind) return SUPPRESS;
  if (a.kind === 'band') {
    const lcm = (a.n / gcd(a.n, b.n)) * b.n;
    return lcm <= MAX_BAND ? (lcm === a.n ? a : { kind: 'band', n: lcm }) : SUPPRESS;
  }
  return a.n <= b.n ? a : b;
}

/**
 * The coarsest rule any of `tables` sets for `field`; a table without an entry adds no constraint
 * ('exact'). A malformed rule in any table suppresses the field (fail closed).
 */
export function precisionFor(field: string, ...tables: ReadonlyArray<Readonly<Record<string, string>>>): PrecisionRule {
  let acc: ParsedRule = EXACT;
  for (const table of tables) {
    if (!Object.hasOwn(table, field)) continue;
    const parsed = parsePrecisionRule(table[field] as string);
    acc = parsed === null ? SUPPRESS : joinRules(acc, parsed);
    if (acc.kind === 'suppress') break;
  }
  return formatRule(acc);
}

const DECIMAL = /^-?\d{1,17}(?:\.\d{1,17})?$/;
const BAND_LABEL = /^(-?\d{1,16})-(-?\d{1,16})$/;

/** A plain finite number from a number, safe bigint or decimal string; null otherwise. */
function toNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : null;
  }
  if (typeof value === 'string' && DECIMAL.test(value)) return Number(value);
  return null;
}

function bandLabel(lo: number, width: number): string | null {
  const hi = lo + width - 1;
  return Number.isSafeInteger(lo) && Number.isSafeInteger(hi) ? `${lo}-${hi}` : null;
}

function applyBand(value: unknown, width: number): string | null {
  if (typeof value === 'string') {
    // An already-banded label can be coarsened only if the whole interval falls in one new band;
    // this is what makes band idempotent and band:10 ∘ band:5 = band:10.
    const m = BAND_LABEL.exec(value);
    if (m !== null) {
      const lo = Number(m[1]);
      const hi = Number(m[2]);
      if (!(lo <= hi)) return null;
      const newLo = Math.floor(lo / width) * width;
      return Math.floor(hi / width) * width === newLo ? bandLabel(newLo, width) : null;
    }
  }
  const n = toNumber(value);
  if (n === null) return null;
  // The quotient can underflow (-5e-324 / 7 is -0) or round across a boundary for large values; correct
  // it so the band always contains the value.
  let lo = Math.floor(n / width) * width + 0;
  if (lo > n) lo -= width;
  else if (lo + width <= n) lo += width;
  return bandLabel(lo, width);
}

function applyTruncate(value: unknown, length: number): string | null {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value)))
    text = String(value);
  else return null;
  // Code points, not UTF-16 units, so a surrogate pair is never split into an invalid string.
  if (text.length <= length) return text;
  let out = '';
  let count = 0;
  for (const ch of text) {
    if (count === length) break;
    out += ch;
    count += 1;
  }
  return out;
}

function applyRound(value: unknown, decimals: number): number | null {
  const n = toNumber(value);
  if (n === null) return null;
  let out: number;
  if (decimals >= 0) {
    const scale = 10 ** decimals;
    const scaled = Math.round(n * scale);
    // Beyond 2^53 the scaled value is no longer exact, so the rounding could not be trusted.
    if (!Number.isSafeInteger(scaled)) return null;
    out = scaled / scale;
  } else {
    const step = 10 ** -decimals;
    out = Math.round(n / step) * step;
    if (!Number.isSafeInteger(out)) return null;
  }
  return out + 0; // normalizes -0 to 0 so the sign of a rounded-away value does not leak
}

/** Reduce `value` to `rule`. Never throws; returns null when the value cannot be reduced to the rule. */
export function applyPrecision(value: unknown, rule: string): unknown {
  const parsed = parsePrecisionRule(rule);
  if (parsed === null) return null;
  if (value === null || value === undefined) return null;
  switch (parsed.kind) {
    case 'exact':
      return value;
    case 'suppress':
      return null;
    case 'band':
      return applyBand(value, parsed.n);
    case 'truncate':
      return applyTruncate(value, parsed.n);
    case 'round':
      return applyRound(value, parsed.n);
  }
}
