// The consent projection's records as columns of typed arrays (a column store, as in DuckDB or Arrow), outside the
// JS heap: per record its id, subject, status, validity window, an index into a table of shared terms, and the
// seqs of its events; about 110 bytes, where a record's objects on the heap cost about a kilobyte and made the
// garbage collector walk a million of them. The record itself, and its full history, are read back from the log.
import { createFixedKeyIndex } from './fixed-key-index.ts';
import { TerminalReason, isExpiryDueAt, isInForceAt, type ConsentCore } from './lifecycle.ts';
import { ConsentStatus } from './record.ts';

/** What a grant says, in the shape the decision point reads; one frozen copy per distinct combination. */
export type GrantTerms = Readonly<{
  controller: string;
  purposes: readonly string[];
  recipients: readonly string[];
  fieldAllowlist: readonly string[];
  precision: Readonly<Record<string, string>>;
}>;

const STATUSES: readonly ConsentStatus[] = ConsentStatus.options;
const REASONS: readonly (TerminalReason | null)[] = [null, ...TerminalReason.options];
const ID_BYTES = 16;
// 'sp_' + 43 base64url characters carry 258 bits; with one 'A' (six zero bits) appended they decode to exactly
// 33 bytes, so every valid pseudonym, canonical or not, has its own key and prints back unchanged.
const SUBJECT_BYTES = 33;
const RECORD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const PSEUDONYM = /^sp_[A-Za-z0-9_-]{43}$/;
const NONE = -1;

export type ConsentColumns = {
  readonly size: number;
  /**
   * Adds a granted record (its grant event is `seq`); returns its row. The id must be new. Positional on purpose
   * (a max-params exemption): the projection calls it once per grant event while replaying the whole log.
   */
  add(recordId: string, subject: string, terms: GrantTerms, core: ConsentCore, seq: number): number;
  /** The row of `recordId`, or -1 (also for a string that is not a record id). */
  rowOf(recordId: string): number;
  /** The first row of `subject` in grant order, or -1; then `nextOfSubject` until -1. */
  firstOfSubject(subject: string): number;
  nextOfSubject(row: number): number;
  /** The lifecycle's view of the row: `supersededBy` and `updatedAt` are not kept (the log has them). */
  core(row: number): ConsentCore;
  setCore(row: number, core: ConsentCore): void;
  addSeq(row: number, seq: number): void;
  seqs(row: number): readonly number[];
  recordId(row: number): string;
  subject(row: number): string;
  terms(row: number): GrantTerms;
  status(row: number): ConsentStatus;
  expiresAt(row: number): string | null;
  notBeforeMs(row: number): number;
  expiresAtMs(row: number): number | null;
  /** lifecycle.isInForceAt on the row's fields. */
  isActiveAt(row: number, atMs: number): boolean;
  /** lifecycle.isExpiryDueAt on the row's fields. */
  isExpiryDue(row: number, atMs: number): boolean;
};

export function createConsentColumns(initialCapacity = 1024): ConsentColumns {
  let capacity = initialCapacity;
  let size = 0;
  let ids = Buffer.alloc(capacity * ID_BYTES);
  let subjects = Buffer.alloc(capacity * SUBJECT_BYTES);
  let nextSame = new Int32Array(capacity);
  let statuses = new Uint8Array(capacity);
  let reasons = new Uint8Array(capacity);
  let notBefore = new Float64Array(capacity);
  let expires = new Float64Array(capacity); // NaN: no expiry
  let termRefs = new Uint32Array(capacity);
  let firstSeqs = new Float64Array(capacity);
  // Rare cases kept on the side: records with more than one event, and expiries not in toISOString() form.
  const laterSeqs = new Map<number, number[]>();
  const oddExpiries = new Map<number, string>();
  const termTable: GrantTerms[] = [];
  const termIndex = new Map<string, number>();
  const termByIdentity = new WeakMap<GrantTerms, number>();
  const byId = createFixedKeyIndex(ID_BYTES, () => ids);
  const bySubject = createFixedKeyIndex(SUBJECT_BYTES, () => subjects); // first row of each subject
  const idKey = Buffer.alloc(ID_BYTES);
  const subjectKey = Buffer.alloc(SUBJECT_BYTES);

  const grow = () => {
    capacity *= 2;
    const wider = <T extends Buffer | Int32Array | Uint8Array | Float64Array | Uint32Array>(
      old: T,
      make: (n: number) => T,
      width = 1,
    ): T => {
      const next = make(capacity * width);
      next.set(old as never);
      return next;
    };
    ids = wider(ids, (n) => Buffer.alloc(n), ID_BYTES);
    subjects = wider(subjects, (n) => Buffer.alloc(n), SUBJECT_BYTES);
    nextSame = wider(nextSame, (n) => new Int32Array(n));
    statuses = wider(statuses, (n) => new Uint8Array(n));
    reasons = wider(reasons, (n) => new Uint8Array(n));
    notBefore = wider(notBefore, (n) => new Float64Array(n));
    expires = wider(expires, (n) => new Float64Array(n));
    termRefs = wider(termRefs, (n) => new Uint32Array(n));
    firstSeqs = wider(firstSeqs, (n) => new Float64Array(n));
  };

  const encodeId = (recordId: string): boolean => {
    if (!RECORD_ID.test(recordId)) return false;
    idKey.write(recordId.replaceAll('-', ''), 0, ID_BYTES, 'hex');
    return true;
  };
  const encodeSubject = (subject: string): boolean => {
    if (!PSEUDONYM.test(subject)) return false;
    subjectKey.write(`${subject.slice(3)}A`, 0, SUBJECT_BYTES, 'base64url');
    return true;
  };
  const internTerms = (terms: GrantTerms): number => {
    // Terms usually arrive as the interner's shared copy, found by identity without serializing them again.
    const same = termByIdentity.get(terms);
    if (same !== undefined) return same;
    const key = JSON.stringify(terms);
    let ref = termIndex.get(key);
    if (ref === undefined) {
      termTable.push(terms);
      ref = termTable.length - 1;
      termIndex.set(key, ref);
    }
    termByIdentity.set(terms, ref);
    return ref;
  };
  const writeCore = (row: number, core: ConsentCore) => {
    statuses[row] = STATUSES.indexOf(core.status);
    reasons[row] = REASONS.indexOf(core.terminalReason);
    notBefore[row] = core.notBeforeMs;
    expires[row] = core.expiresAtMs ?? Number.NaN;
    oddExpiries.delete(row);
    if (
      core.expiresAt !== null &&
      (core.expiresAtMs === null || new Date(core.expiresAtMs).toISOString() !== core.expiresAt)
    )
      oddExpiries.set(row, core.expiresAt);
  };
  const expiresAtMs = (row: number): number | null => {
    const ms = expires[row] as number;
    return Number.isNaN(ms) ? null : ms;
  };
  const expiresAt = (row: number): string | null => {
    const odd = oddExpiries.get(row);
    if (odd !== undefined) return odd;
    const ms = expiresAtMs(row);
    return ms === null ? null : new Date(ms).toISOString();
  };
  const status = (row: number): ConsentStatus => STATUSES[statuses[row] as number] as ConsentStatus;
  const reason = (row: number): TerminalReason | null => REASONS[reasons[row] as number] ?? null;

  return {
    get size() {
      return size;
    },
    // eslint-disable-next-line max-params -- hot kernel: once per row while the log replays (millions at startup)
    add(recordId, subject, terms, core, seq) {
      if (!encodeId(recordId)) throw new TypeError(`not a record id: ${recordId}`);
      if (!encodeSubject(subject)) throw new TypeError('not a subject pseudonym');
      if (byId.find(idKey) !== NONE) throw new TypeError(`record ${recordId} is already projected`);
      if (size === capacity) grow();
      const row = size++;
      idKey.copy(ids, row * ID_BYTES);
      subjectKey.copy(subjects, row * SUBJECT_BYTES);
      nextSame[row] = NONE;
      termRefs[row] = internTerms(terms);
      firstSeqs[row] = seq;
      writeCore(row, core);
      byId.insert(row);
      const first = bySubject.find(subjectKey);
      if (first === NONE) {
        bySubject.insert(row);
      } else {
        let last = first;
        while (nextSame[last] !== NONE) last = nextSame[last] as number;
        nextSame[last] = row;
      }
      return row;
    },
    rowOf: (recordId) => (encodeId(recordId) ? byId.find(idKey) : NONE),
    firstOfSubject: (subject) => (encodeSubject(subject) ? bySubject.find(subjectKey) : NONE),
    nextOfSubject: (row) => nextSame[row] as number,
    core: (row) => ({
      status: status(row),
      expiresAt: expiresAt(row),
      terminalReason: reason(row),
      supersededBy: null,
      updatedAt: '',
      notBeforeMs: notBefore[row] as number,
      expiresAtMs: expiresAtMs(row),
    }),
    setCore: writeCore,
    addSeq(row, seq) {
      const later = laterSeqs.get(row);
      if (later === undefined) laterSeqs.set(row, [seq]);
      else later.push(seq);
    },
    seqs: (row) => [firstSeqs[row] as number, ...(laterSeqs.get(row) ?? [])],
    recordId(row) {
      const hex = ids.toString('hex', row * ID_BYTES, (row + 1) * ID_BYTES);
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    },
    subject: (row) =>
      `sp_${subjects.toString('base64url', row * SUBJECT_BYTES, (row + 1) * SUBJECT_BYTES).slice(0, 43)}`,
    terms: (row) => termTable[termRefs[row] as number] as GrantTerms,
    status,
    expiresAt,
    notBeforeMs: (row) => notBefore[row] as number,
    expiresAtMs,
    isActiveAt: (row, atMs) => isInForceAt(status(row), notBefore[row] as number, expiresAtMs(row), atMs),
    isExpiryDue: (row, atMs) => isExpiryDueAt(reason(row), status(row), expiresAtMs(row), atMs),
  };
}
