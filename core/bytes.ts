// The one byte-length assertion for values our own code produced (keys, digests, points), in the style of noble's
// `abytes(value, length, title)`. A failure is a programmer error (RangeError, so the shell answers 500), never a
// client's: input from a client or a peer keeps its own catalogue code (BAD_INPUT, PSI_BAD_MESSAGE, ...).

/** An exact byte count, or a whole number of fixed-size records (`{ multipleOf: 32 }` for a run of points). */
export type ByteLength = number | { multipleOf: number };

/**
 * Asserts that `value` is a Uint8Array (a Buffer is one) and, when `length` is given, that it has exactly that many
 * bytes or a whole number of `multipleOf`-byte records. The RangeError names `label` and the expected and actual
 * lengths, never the bytes: the values checked here are often keys.
 */
export function abytes(value: unknown, length: ByteLength | undefined, label: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    const actual = value === null ? 'null' : typeof value === 'object' ? value.constructor?.name : typeof value;
    throw new RangeError(`${label} must be a Uint8Array, got ${actual ?? 'object'}`);
  }
  if (length === undefined) return;
  if (typeof length === 'number') {
    if (value.length !== length) throw new RangeError(`${label} must be ${length} bytes, got ${value.length}`);
  } else if (value.length % length.multipleOf !== 0) {
    throw new RangeError(`${label} must be a multiple of ${length.multipleOf} bytes, got ${value.length}`);
  }
}
