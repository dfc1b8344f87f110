// Shared inputs for the PSI tests: the FATE default-credit ids (datasets/fate/, Apache-2.0, see
// LICENSE-FATE-Apache-2.0 beside the data), a seeded random source, and seeded row dropping, so every PSI test run
// sees the same sets.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { createGunzip } from 'node:zlib';
import { fateFile } from '../../fixtures/fate.ts';
import type { RandomSource } from '../../../mpc/psi/shuffle.ts';

export const FATE_GUEST_CSV = pathToFileURL(fateFile('default_credit_hetero_guest'));
export const FATE_HOST_CSV = pathToFileURL(fateFile('default_credit_hetero_host'));

/** Streams the `id` column of a CSV file, gzip-compressed or not (comma-separated, unquoted, as FATE files are). */
export async function* readIdColumn(file: URL): AsyncGenerator<string> {
  const raw = createReadStream(file);
  const input = file.pathname.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  const lines = createInterface({ input, crlfDelay: Infinity });
  let column = -1;
  for await (const line of lines) {
    if (line.length === 0) continue;
    const cells = line.split(',');
    if (column === -1) {
      column = cells.indexOf('id');
      if (column === -1) throw new Error(`${file.pathname} has no id column`);
      continue;
    }
    yield cells[column] as string;
  }
}

export async function readIds(file: URL): Promise<string[]> {
  const ids: string[] = [];
  for await (const id of readIdColumn(file)) ids.push(id);
  return ids;
}

/** SHA-256 in counter mode: deterministic bytes for a seed (test data only, never for keys). */
export function seededRandom(seed: string): RandomSource {
  let counter = 0;
  return (size) => {
    const out = new Uint8Array(size);
    for (let at = 0; at < size; at += 32) {
      const block = createHash('sha256').update(`${seed}/${counter++}`).digest();
      out.set(block.subarray(0, Math.min(32, size - at)), at);
    }
    return out;
  };
}

/** Keeps each row with probability `keep`, decided by the seed: the same seed always drops the same rows. */
export function dropRows(ids: readonly string[], seed: string, keep: number): string[] {
  const bytes = seededRandom(seed)(ids.length * 4);
  const view = new DataView(bytes.buffer);
  return ids.filter((_, i) => view.getUint32(i * 4) / 2 ** 32 < keep);
}

/** The ids of `rows` (row numbers into `ids`), as a sorted array for comparison. */
export function idsAt(ids: readonly string[], rows: Uint32Array): string[] {
  return Array.from(rows, (row) => ids[row] as string).sort();
}

export function intersect(...sets: readonly (readonly string[])[]): string[] {
  const [first = [], ...rest] = sets;
  const others = rest.map((s) => new Set(s));
  return first.filter((id) => others.every((s) => s.has(id))).sort();
}
