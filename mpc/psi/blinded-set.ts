// A party's own PSI set: identifiers streamed in batches to the X25519 pool as X25519(k, u(x)) (RFC 7748, u from
// point-hash.ts), then shuffled with Fisher-Yates so the order sent reveals nothing about the order of the rows.
import { batchIdentifiers } from './identifier-batch.ts';
import { createPointTable } from './point-table.ts';
import { PsiProtocolError } from './psi-error.ts';
import { randomPermutation, type RandomSource } from './shuffle.ts';
import type { X25519Pool } from './x25519-pool.ts';

/** `points[k]` is the blinded point of row `rowAt[k]`: 36 bytes per row in total, and no object per row. */
export type BlindedSet = { points: Buffer; rowAt: Uint32Array; size: number };

const EMPTY = Buffer.alloc(0);

export type BlindOptions = {
  ids: AsyncIterable<string> | Iterable<string>;
  jobId: string;
  scalar: Uint8Array;
  pool: X25519Pool;
  random: RandomSource;
  batchRecords: number;
  maxRows: number;
};

/**
 * Blinds and shuffles the input. At most a few batches per worker are in flight, so a fast input stream waits for
 * the pool instead of piling up identifier bytes. A repeated identifier is refused (PSI_DUPLICATE_INPUT, naming
 * the two rows): the peer would reject the repeated point anyway, and one subject must count once.
 */
export async function blindIdentifiers(options: BlindOptions): Promise<BlindedSet> {
  const { pool, scalar, jobId, batchRecords } = options;
  const batches: Buffer[] = [];
  const all: Promise<void>[] = [];
  const running = new Set<Promise<void>>();
  const maxInFlight = 2 * pool.size + 2;
  let size = 0;
  let streamFailure: { error: unknown } | null = null;
  try {
    for await (const batch of batchIdentifiers(options.ids, batchRecords)) {
      if (batch.firstRow + batch.count > options.maxRows) {
        throw new PsiProtocolError('PSI_SET_TOO_LARGE', 'PSI input has more rows than allowed', {
          limit: options.maxRows,
        });
      }
      const index = batches.length;
      batches.push(EMPTY);
      const work = pool.hashAndMultiply(scalar, jobId, batch).then((points) => {
        batches[index] = points;
      });
      all.push(work);
      running.add(work);
      work.then(
        () => running.delete(work),
        () => running.delete(work),
      );
      size += batch.count;
      if (running.size >= maxInFlight) await Promise.race(running);
    }
  } catch (error) {
    streamFailure = { error };
  }
  // Never leave chunks running unobserved, even when the input stream throws.
  const chunkFailure = (await Promise.allSettled(all)).find((r) => r.status === 'rejected');
  if (streamFailure !== null) throw streamFailure.error;
  if (chunkFailure !== undefined) throw chunkFailure.reason;

  const rowAt = randomPermutation(size, options.random);
  const points = Buffer.allocUnsafeSlow(size * 32);
  for (let k = 0; k < size; k++) {
    const row = rowAt[k] as number;
    const batch = batches[Math.floor(row / batchRecords)] as Buffer;
    const at = (row % batchRecords) * 32;
    batch.copy(points, k * 32, at, at + 32);
  }
  const duplicate = createPointTable(points, options.random).duplicate;
  if (duplicate !== null) {
    const rows = [rowAt[duplicate.first] as number, rowAt[duplicate.second] as number].sort((a, b) => a - b);
    throw new PsiProtocolError('PSI_DUPLICATE_INPUT', 'PSI input lists the same identifier twice', { rows });
  }
  return { points, rowAt, size };
}
