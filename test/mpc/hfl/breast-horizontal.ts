// The FATE breast data (datasets/fate, Breast Cancer Wisconsin) as a horizontal federation: the guest's and the
// host's vertical splits joined on id into whole rows (y and x0..x29), then dealt to P parties by a seeded shuffle in
// unequal shares, each party's rows marked held out by isHeldOut (mpc/vfl/training-plan.ts) on their position in the
// party's own order: the order its CSV is written in.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { epochBatches, splitRows } from '../../../mpc/vfl/training-plan.ts';
import { fateFile, readCsvText } from '../../fixtures/fate.ts';

export const FEATURES = Array.from({ length: 30 }, (_, i) => `x${i}`);
/** The guest's split holds x0..x9; the host's x0..x19, which are x10..x29 of the joined rows. */
const HOST_OFFSET = 10;

/** Header and rows of one split, as text. (joint-fixture.ts has the same three lines, but importing it starts the
 * whole gateway's module graph for what is a pure simulation.) */
function readSplit(split: string): { header: string[]; rows: string[][] } {
  const [head, ...lines] = readCsvText(fateFile(split)).trim().split('\n');
  return { header: (head as string).split(','), rows: lines.map((l) => l.split(',')) };
}

/** Rows in columns: ids, the 0/1 label and one Float64Array per feature of FEATURES. */
export type Table = { ids: string[]; y: Float64Array; columns: Float64Array[] };

/** The breast rows joined on id, in the guest file's order (569 rows, 30 features). */
export function loadBreast(): Table {
  const guest = readSplit('breast_hetero_guest');
  const host = readSplit('breast_hetero_host');
  const hostById = new Map(host.rows.map((r) => [r[0] as string, r]));
  const at = (header: string[], name: string) => header.indexOf(name);
  const ids = guest.rows.map((r) => r[0] as string);
  if (ids.some((id) => !hostById.has(id)) || hostById.size !== ids.length)
    throw new Error('breast splits differ in ids');
  const value = (row: number, feature: number) =>
    feature < HOST_OFFSET
      ? Number((guest.rows[row] as string[])[at(guest.header, `x${feature}`)])
      : Number((hostById.get(ids[row] as string) as string[])[at(host.header, `x${feature - HOST_OFFSET}`)]);
  return {
    ids,
    y: Float64Array.from(guest.rows, (r) => Number(r[at(guest.header, 'y')])),
    columns: FEATURES.map((_, f) => Float64Array.from(ids.keys(), (row) => value(row, f))),
  };
}

/** One party's rows, with its training and held-out row indexes (splitRows over its own positions). */
export type HorizontalParty = Table & { train: number[]; test: number[] };

/** Shares of the rows per party: (P − i) / ΣP, e.g. 0.5/0.33/0.17 for 3 parties, 0.33 … 0.07 for 5. */
export const defaultShares = (parties: number): number[] =>
  Array.from({ length: parties }, (_, i) => (parties - i) / ((parties * (parties + 1)) / 2));

const rowsOf = (table: Table, positions: readonly number[]): Table => ({
  ids: positions.map((p) => table.ids[p] as string),
  y: Float64Array.from(positions, (p) => table.y[p] as number),
  columns: table.columns.map((column) => Float64Array.from(positions, (p) => column[p] as number)),
});

/**
 * Deals the rows of `table` (default: loadBreast()) to `parties` parties: a seeded Fisher–Yates shuffle
 * (training-plan.ts epochBatches), cut by `shares` (default defaultShares); each party keeps its rows in the table's
 * order and holds out row k when isHeldOut(k, testPercent).
 */
export function splitHorizontal(options: {
  parties: number;
  seed: number;
  shares?: readonly number[];
  testPercent?: number;
  table?: Table;
}): HorizontalParty[] {
  const table = options.table ?? loadBreast();
  const shares = options.shares ?? defaultShares(options.parties);
  if (shares.length !== options.parties) throw new RangeError('one share per party');
  const total = shares.reduce((a, s) => a + s, 0);
  const positions = Array.from(table.ids.keys());
  const order = epochBatches(positions, positions.length, { seed: options.seed, epoch: 0 })[0] as number[];
  let from = 0;
  let cumulative = 0;
  return shares.map((share) => {
    cumulative += share;
    const to = Math.round((cumulative / total) * order.length);
    const own = order.slice(from, to).sort((a, b) => a - b);
    from = to;
    const rows = rowsOf(table, own);
    const split = splitRows(Uint32Array.from(own.keys()), options.testPercent ?? 20);
    return { ...rows, ...split };
  });
}

/** The union of the parties' rows, their training and held-out indexes renumbered: the pooled baseline's data. */
export function poolParties(parties: readonly HorizontalParty[]): HorizontalParty {
  const pooled: HorizontalParty = { ids: [], y: new Float64Array(0), columns: [], train: [], test: [] };
  let offset = 0;
  const ys: number[] = [];
  const columns: number[][] = FEATURES.map(() => []);
  for (const party of parties) {
    pooled.ids.push(...party.ids);
    ys.push(...party.y);
    party.columns.forEach((column, c) => (columns[c] as number[]).push(...column));
    pooled.train.push(...party.train.map((r) => r + offset));
    pooled.test.push(...party.test.map((r) => r + offset));
    offset += party.ids.length;
  }
  return { ...pooled, y: Float64Array.from(ys), columns: columns.map((c) => Float64Array.from(c)) };
}

/** Writes party i's rows to `dir`/party-i.csv (id,y,x0..x29, in the party's order); returns the paths. */
export function writePartyCsvs(parties: readonly Table[], dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  return parties.map((party, p) => {
    const lines = party.ids.map((id, r) =>
      [id, party.y[r], ...party.columns.map((column) => column[r])].map(String).join(','),
    );
    const path = join(dir, `party-${p}.csv`);
    writeFileSync(path, `${['id', 'y', ...FEATURES].join(',')}\n${lines.join('\n')}\n`);
    return path;
  });
}
