// Canonical JSON (RFC 8785, JCS) and the SHA-256 digests every signed record and chain link uses.
import { hash } from 'node:crypto';
import canonicalizeJcs from 'canonicalize';
import { GatewayError } from '../core/errors.ts';

/** Thrown inside the fast path for anything it does not handle itself; the library then serializes the whole value. */
const NOT_PLAIN = Symbol('not plain JSON data');
const MAX_FAST_DEPTH = 64;
/** Keys a JS object enumerates before all others, in numeric order, whatever order they were added in. */
const ARRAY_INDEX_KEY = /^(?:0|[1-9]\d*)$/;

/** A fresh object holding `record`'s members that come before `stop` in `keys`, to go on copying from there. */
function copyOf(record: Record<string, unknown>, keys: readonly string[], stop: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    if (key === stop) break;
    out[key] = record[key];
  }
  return out;
}

/**
 * `value` with every object's members re-inserted in RFC 8785 order (UTF-16 code units), so that one
 * JSON.stringify writes the canonical form: JSON.stringify's numbers and strings are exactly JCS's. Shares what
 * needs no reordering. Throws NOT_PLAIN for anything whose JSON text JSON.stringify and JCS could write differently
 * or that JCS refuses: toJSON, boxed or class instances, array-index keys (which objects always enumerate first),
 * `__proto__`, lone surrogates, non-finite numbers, undefined in an array, nesting past the depth bound.
 */
function sortedForJcs(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) throw NOT_PLAIN;
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw NOT_PLAIN;
      return value;
    case 'boolean':
      return value;
    case 'object': {
      if (value === null) return null;
      if (depth > MAX_FAST_DEPTH) throw NOT_PLAIN;
      if (Array.isArray(value)) {
        let copy: unknown[] | null = null;
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined || typeof item === 'function' || typeof item === 'symbol') throw NOT_PLAIN;
          const sorted = sortedForJcs(item, depth + 1);
          if (sorted !== item) (copy ??= value.slice())[i] = sorted;
        }
        return copy ?? value;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (
        (proto !== Object.prototype && proto !== null) ||
        typeof (value as { toJSON?: unknown }).toJSON === 'function'
      )
        throw NOT_PLAIN;
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      // An object already in order, whose members need no change, is written as it is: no copy.
      let isInOrder = true;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as string;
        const first = key.charCodeAt(0);
        // `out.__proto__ = x` would set a prototype, not add a member.
        if ((first >= 48 && first <= 57 && ARRAY_INDEX_KEY.test(key)) || key === '__proto__' || !key.isWellFormed())
          throw NOT_PLAIN;
        if (i > 0 && (keys[i - 1] as string) >= key) isInOrder = false;
      }
      if (!isInOrder) keys.sort();
      let out: Record<string, unknown> | null = isInOrder ? null : {};
      for (const key of keys) {
        const member = record[key];
        if (member === undefined || typeof member === 'function' || typeof member === 'symbol') {
          // JSON and JCS both leave these members out.
          out ??= copyOf(record, keys, key);
          continue;
        }
        const sorted = sortedForJcs(member, depth + 1);
        if (out === null && sorted !== member) out = copyOf(record, keys, key);
        if (out !== null) out[key] = sorted;
      }
      return out ?? record;
    }
    default:
      throw NOT_PLAIN;
  }
}

/**
 * RFC 8785 serialization. Throws BAD_INPUT for values JSON cannot represent (undefined at top, NaN, Infinity).
 * Plain data, which is everything the gateway hashes, is reordered and written by one JSON.stringify, 1.5 to 2 times
 * faster than the general library's writer; anything else, and every error, goes through `canonicalize`, and the
 * tests hold the two to the same bytes.
 */
export function canonicalize(value: unknown): string {
  try {
    return JSON.stringify(sortedForJcs(value, 0));
  } catch (error) {
    if (error !== NOT_PLAIN) throw error;
  }
  let text: string | undefined;
  try {
    text = canonicalizeJcs(value);
  } catch (cause) {
    throw new GatewayError('BAD_INPUT', 'value cannot be canonicalized as JSON', {}, { cause });
  }
  if (text === undefined) throw new GatewayError('BAD_INPUT', 'value cannot be canonicalized as JSON');
  return text;
}

export function sha256Hex(data: string | Uint8Array): string {
  // One-shot: no Hash object per call, which is most of the cost for the short inputs hashed on every request.
  return hash('sha256', data, 'hex');
}

/** SHA-256 over the RFC 8785 form: equal JSON values hash equally regardless of key order. */
export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalize(value));
}

/** The hash that starts every chain: 32 zero bytes, hex. */
export const GENESIS_HASH = '0'.repeat(64);
