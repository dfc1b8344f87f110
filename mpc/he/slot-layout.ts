// How vectors of rows map onto CKKS slots (DESIGN.md §6: sample-packed, so an inner product needs no rotation).
//
// A vector of `rows` values is cut into chunks of `chunk` = min(rows, slots) rows. Each chunk fills one ciphertext,
// repeated `tiles` = floor(slots / chunk) times side by side. A party that holds several columns of the same rows
// multiplies the ciphertext by a plaintext that carries one column per tile, so one ciphertext carries `tiles` inner
// products at once, and sums over chunks with additions. The key holder decrypts and adds up each tile: no rotation,
// hence no Galois key, and the layout is public (it depends on row counts only).
export type SlotLayout = {
  rows: number;
  slots: number;
  /** Rows per chunk. */
  chunk: number;
  chunks: number;
  /** Copies of a chunk per ciphertext: columns per product ciphertext. */
  tiles: number;
};

export function slotLayout(rows: number, slots: number): SlotLayout {
  if (!Number.isInteger(rows) || rows < 1) throw new RangeError('rows must be a positive integer');
  if (!Number.isInteger(slots) || slots < 1) throw new RangeError('slots must be a positive integer');
  const chunk = Math.min(rows, slots);
  return { rows, slots, chunk, chunks: Math.ceil(rows / chunk), tiles: Math.floor(slots / chunk) };
}

/** Product ciphertexts for `columns` columns. */
export const productCount = (layout: SlotLayout, columns: number): number => Math.ceil(columns / layout.tiles);

/** Chunk `c` of `vector`, repeated in every tile (zeros past the last row). */
export function tiledChunk(layout: SlotLayout, vector: ArrayLike<number>, c: number): Float64Array {
  const out = new Float64Array(layout.slots);
  const from = c * layout.chunk;
  const to = Math.min(layout.rows, from + layout.chunk);
  for (let t = 0; t < layout.tiles; t++) {
    const base = t * layout.chunk;
    for (let i = from; i < to; i++) out[base + i - from] = vector[i] as number;
  }
  return out;
}

/** Chunk `c` of columns `group * tiles …` side by side, one per tile (zeros where a group has fewer columns). */
export function columnTiles(
  layout: SlotLayout,
  columns: readonly ArrayLike<number>[],
  group: number,
  c: number,
): Float64Array {
  const out = new Float64Array(layout.slots);
  const from = c * layout.chunk;
  const to = Math.min(layout.rows, from + layout.chunk);
  for (let t = 0; t < layout.tiles; t++) {
    const column = columns[group * layout.tiles + t];
    if (column === undefined) break;
    const base = t * layout.chunk;
    for (let i = from; i < to; i++) out[base + i - from] = column[i] as number;
  }
  return out;
}

/** Sums of each tile of decoded product slots: the inner products of group `group`, at most `columns` in all. */
export function tileSums(layout: SlotLayout, slots: ArrayLike<number>, group: number, columns: number): number[] {
  const sums: number[] = [];
  for (let t = 0; t < layout.tiles && group * layout.tiles + t < columns; t++) {
    let sum = 0;
    for (let i = 0; i < layout.chunk; i++) sum += slots[t * layout.chunk + i] as number;
    sums.push(sum);
  }
  return sums;
}
