// An open-addressing hash index over fixed-width binary keys that live in a caller's column (record ids, subject
// pseudonyms): the index stores row numbers only, in one Int32Array, so a million keys cost a few megabytes
// outside the JS heap instead of a million Map entries and key strings on it.
import { randomBytes } from 'node:crypto';

export type FixedKeyIndex = {
  /** The row whose key equals `key` (its first `width` bytes from `offset`), or -1. */
  find(key: Uint8Array, offset?: number): number;
  /** Adds `row`, whose key must not be in the index yet. */
  insert(row: number): void;
  readonly size: number;
};

/** Keys come from clients too (a grant may name its own subject pseudonym), so probe order depends on a secret seed. */
const SEED = randomBytes(4).readUInt32LE(0);

/**
 * A keyed 32-bit mix of the whole key (Murmur3-style finalizer per word), so crafted keys cannot pile into one chain.
 */
function hashKey(bytes: Uint8Array, offset: number, width: number): number {
  let h = SEED;
  for (let i = 0; i + 4 <= width; i += 4) {
    const o = offset + i;
    const word =
      (bytes[o] as number) |
      ((bytes[o + 1] as number) << 8) |
      ((bytes[o + 2] as number) << 16) |
      ((bytes[o + 3] as number) << 24);
    h = Math.imul(h ^ word, 0xcc9e2d51);
    h = (h << 15) | (h >>> 17);
    h = Math.imul(h, 0x1b873593);
  }
  for (let i = width - (width % 4); i < width; i++) h = Math.imul(h ^ (bytes[offset + i] as number), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/**
 * `keysOf()` returns the column the keys live in (row r's key at r * width); it is read at call time because the
 * caller grows (reallocates) it. The table stays at most half full, so probes are short.
 */
export function createFixedKeyIndex(width: number, keysOf: () => Uint8Array): FixedKeyIndex {
  let slots = new Int32Array(1024); // row + 1; 0 is empty
  let mask = slots.length - 1;
  let size = 0;

  const equals = (row: number, key: Uint8Array, offset: number): boolean => {
    const keys = keysOf();
    const base = row * width;
    for (let i = 0; i < width; i++) if (keys[base + i] !== key[offset + i]) return false;
    return true;
  };

  const place = (table: Int32Array, row: number) => {
    const m = table.length - 1;
    let i = hashKey(keysOf(), row * width, width) & m;
    while (table[i] !== 0) i = (i + 1) & m;
    table[i] = row + 1;
  };

  return {
    get size() {
      return size;
    },
    find(key, offset = 0) {
      let i = hashKey(key, offset, width) & mask;
      for (;;) {
        const slot = slots[i] as number;
        if (slot === 0) return -1;
        if (equals(slot - 1, key, offset)) return slot - 1;
        i = (i + 1) & mask;
      }
    },
    insert(row) {
      if ((size + 1) * 2 > slots.length) {
        const grown = new Int32Array(slots.length * 2);
        for (const slot of slots) if (slot !== 0) place(grown, slot - 1);
        slots = grown;
        mask = slots.length - 1;
      }
      place(slots, row);
      size++;
    },
  };
}
