// Hash-consing (as in Lisp and the JVM's string table) for the consent projection: most records share their
// purposes, recipients, data categories, notice and minimization terms, so the projection keeps one frozen copy of
// each distinct value instead of one per record. At a million records this is most of the projection's memory.

/** Entries beyond this are not interned: a flood of distinct values then costs what it would without interning. */
const DEFAULT_MAX_ENTRIES = 65_536;

export type ValueInterner = {
  /** The shared, deeply frozen copy of a JSON value equal to `value` (or `value` itself, frozen, once full). */
  intern<T>(value: T): T;
  readonly size: number;
};

/** Freezes a JSON value and everything in it, so a shared copy cannot be changed through one of its holders. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

export function createValueInterner(maxEntries = DEFAULT_MAX_ENTRIES): ValueInterner {
  const values = new Map<string, unknown>();
  return {
    get size() {
      return values.size;
    },
    intern<T>(value: T): T {
      if (typeof value !== 'object' || value === null) return value;
      // JSON text is an exact key here: the values are parsed JSON, so key order is that of one zod schema.
      const key = JSON.stringify(value);
      const known = values.get(key);
      if (known !== undefined) return known as T;
      const frozen = deepFreeze(value);
      if (values.size < maxEntries) values.set(key, frozen);
      return frozen;
    },
  };
}

/** The process-wide interner for consent terms (records and the grants derived from them). */
export const consentTerms: ValueInterner = createValueInterner();
