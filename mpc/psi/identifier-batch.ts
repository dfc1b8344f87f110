// Streams identifiers (e.g. consent pseudonyms) into batches packed as UTF-8 bytes plus end offsets, so a party
// with 10M rows holds a few contiguous buffers instead of 10M strings, and a batch can be moved to a worker whole.
import { GatewayError } from '../../core/errors.ts';

/** Identifiers longer than this are a data error, not a subject id (pseudonyms are 46 characters). */
export const MAX_IDENTIFIER_BYTES = 1024;

/** Identifier i of the batch is bytes[ends[i-1] .. ends[i]); `firstRow` is its row number in the whole input. */
export type IdentifierBatch = { bytes: Uint8Array; ends: Uint32Array; firstRow: number; count: number };

const encoder = new TextEncoder();

/** UTF-8 bytes of one identifier; the error names the row, never the value (it may be personal data). */
export function encodeIdentifier(id: unknown, row: number): Uint8Array {
  if (typeof id !== 'string' || id.length === 0)
    throw new GatewayError('BAD_INPUT', 'PSI identifier must be a non-empty string', { row });
  const bytes = encoder.encode(id);
  if (bytes.length > MAX_IDENTIFIER_BYTES)
    throw new GatewayError('BAD_INPUT', `PSI identifier is longer than ${MAX_IDENTIFIER_BYTES} bytes`, { row });
  return bytes;
}

/**
 * Packs up to `batchSize` identifiers per batch; only the batch being filled is held, never the whole input. A
 * batch is a view into buffers reused for the next one: it is valid until the next batch is requested, so a
 * consumer copies what it keeps (the X25519 pool copies it at once).
 */
export async function* batchIdentifiers(
  ids: AsyncIterable<string> | Iterable<string>,
  batchSize: number,
): AsyncGenerator<IdentifierBatch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be a positive integer');
  let bytes = new Uint8Array(batchSize * 64);
  const ends = new Uint32Array(batchSize);
  let used = 0;
  let count = 0;
  let row = 0;
  for await (const id of ids) {
    const encoded = encodeIdentifier(id, row);
    if (used + encoded.length > bytes.length) {
      const grown = new Uint8Array(Math.max(bytes.length * 2, used + encoded.length));
      grown.set(bytes.subarray(0, used));
      bytes = grown;
    }
    bytes.set(encoded, used);
    used += encoded.length;
    ends[count++] = used;
    row++;
    if (count === batchSize) {
      yield { bytes: bytes.subarray(0, used), ends, firstRow: row - count, count };
      used = 0;
      count = 0;
    }
  }
  if (count > 0) yield { bytes: bytes.subarray(0, used), ends: ends.subarray(0, count), firstRow: row - count, count };
}
