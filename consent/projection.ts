// The in-memory read model of the consent log (CQRS projection): events applied one by one, at write time and on
// replay at start, into per-subject and per-partner indexes so each authorization lookup is a few map reads.
// It holds each record's folded state and the seqs of its events, not the events: histories are read from the
// store by seq (a primary-key lookup), so memory grows by a few hundred bytes per record, not by its signed log.
import { GatewayError } from '../gateway/errors.ts';
import type { ActiveDelegation, ActiveGrant, AuthorizationView } from './authorization-view.ts';
import { applyDelegationEvent, isDelegationActiveAt, type DelegationState } from './delegation.ts';
import type { LogEvent } from './event.ts';
import { applyConsentEvent, isActiveAt, type ConsentState } from './lifecycle.ts';
import { consentTerms } from './value-interner.ts';

/** A record's folded state and the seqs of its events, oldest first. */
export type RecordHistory = { state: ConsentState; seqs: readonly number[] };
export type DelegationHistory = { state: DelegationState; seqs: readonly number[] };

// One event (the common case: a grant never changed) is kept as a bare number.
type Seqs = number | number[];
type RecordEntry = { state: ConsentState; seqs: Seqs; grant: ActiveGrant };
type DelegationEntry = { state: DelegationState; seqs: Seqs; active: ActiveDelegation };

/** How many of the newest events stay in memory, so a write's answer and its receipt need no read. */
const RECENT_EVENTS = 4096;

export type ConsentProjection = AuthorizationView & {
  /** Applies the next event of the log; events must arrive in seq order, exactly once. */
  apply(event: LogEvent): void;
  /** The seq of the last applied event (0 before any). */
  readonly lastSeq: number;
  consentState(recordId: string): ConsentState | undefined;
  delegationState(delegationId: string): DelegationState | undefined;
  getRecord(recordId: string): RecordHistory | undefined;
  getDelegation(delegationId: string): DelegationHistory | undefined;
  recordsOfSubject(subject: string): RecordHistory[];
  /** Every record, for sweeps such as the expiry job and rebuilding the SQL projection. */
  allRecords(): IterableIterator<RecordHistory>;
  /** One of the newest RECENT_EVENTS events, or undefined (then read it from the store). */
  recentEvent(seq: number): LogEvent | undefined;
};

/** The view the decision point reads: shared, frozen objects so callers cannot alter the projection. */
export function toActiveGrant(state: ConsentState): ActiveGrant {
  const r = state.record;
  return Object.freeze({
    recordId: r.recordId,
    subject: r.subject,
    controller: r.controller,
    purposes: consentTerms.intern(r.purposes.map((p) => p.purpose)),
    recipients: consentTerms.intern(r.recipients.map((x) => x.id)),
    // Already shared and frozen: the record's minimization terms are interned (record.ts).
    fieldAllowlist: r.minimization.fieldAllowlist,
    precision: r.minimization.precision,
    expiresAt: state.expiresAt,
  });
}

function toActiveDelegation(state: DelegationState): ActiveDelegation {
  const d = state.delegation;
  return Object.freeze({
    delegationId: d.delegationId, controller: d.controller, partner: d.partner,
    purposes: Object.freeze([...d.purposes]), fieldAllowlist: Object.freeze([...d.fieldAllowlist]), expiresAt: d.expiresAt,
  });
}

const seqList = (seqs: Seqs): readonly number[] => (typeof seqs === 'number' ? [seqs] : seqs);
const addSeq = (seqs: Seqs | undefined, seq: number): Seqs => (seqs === undefined ? seq : [...seqList(seqs), seq]);

export function createProjection(): ConsentProjection {
  const records = new Map<string, RecordEntry>();
  const bySubject = new Map<string, string | string[]>();
  const delegations = new Map<string, DelegationEntry>();
  const byPartner = new Map<string, string | string[]>();
  const recent = new Map<number, LogEvent>();
  let lastSeq = 0;

  const index = (map: Map<string, string | string[]>, key: string, id: string) => {
    const ids = map.get(key);
    if (ids === undefined) map.set(key, id);
    else if (typeof ids === 'string') map.set(key, [ids, id]);
    else ids.push(id);
  };
  const idsOf = (map: Map<string, string | string[]>, key: string): readonly string[] => {
    const ids = map.get(key);
    return ids === undefined ? [] : typeof ids === 'string' ? [ids] : ids;
  };

  const applyConsent = (event: LogEvent) => {
    const entry = records.get(event.recordId);
    const state = applyConsentEvent(entry?.state, event);
    records.set(event.recordId, { state, seqs: addSeq(entry?.seqs, event.seq), grant: toActiveGrant(state) });
    if (entry === undefined) index(bySubject, state.record.subject, event.recordId);
  };

  const applyDelegation = (event: LogEvent) => {
    const entry = delegations.get(event.recordId);
    const state = applyDelegationEvent(entry?.state, event);
    delegations.set(event.recordId, { state, seqs: addSeq(entry?.seqs, event.seq), active: toActiveDelegation(state) });
    if (entry === undefined) index(byPartner, state.delegation.partner, event.recordId);
  };

  const history = (entry: RecordEntry): RecordHistory => ({ state: entry.state, seqs: seqList(entry.seqs) });

  return {
    get lastSeq() { return lastSeq; },
    apply(event) {
      if (event.seq !== lastSeq + 1) {
        // At start-up this is a hole (or a repeat) in the stored log: name the seq so an operator can find the row.
        throw new GatewayError('INTERNAL', `consent log is not contiguous: expected event seq ${lastSeq + 1}, found ${event.seq}`, { expected: lastSeq + 1, got: event.seq });
      }
      if (event.kind === 'consent') applyConsent(event);
      else applyDelegation(event);
      lastSeq = event.seq;
      recent.set(event.seq, event);
      recent.delete(event.seq - RECENT_EVENTS);
    },
    grantsFor(subject, purpose, at) {
      const out: ActiveGrant[] = [];
      for (const id of idsOf(bySubject, subject)) {
        const entry = records.get(id);
        if (entry !== undefined && entry.grant.purposes.includes(purpose) && isActiveAt(entry.state, at)) out.push(entry.grant);
      }
      return out;
    },
    delegationsFor(partner, purpose, at) {
      const out: ActiveDelegation[] = [];
      for (const id of idsOf(byPartner, partner)) {
        const entry = delegations.get(id);
        if (entry !== undefined && entry.active.purposes.includes(purpose) && isDelegationActiveAt(entry.state, at)) out.push(entry.active);
      }
      return out;
    },
    consentState: (recordId) => records.get(recordId)?.state,
    delegationState: (delegationId) => delegations.get(delegationId)?.state,
    getRecord(recordId) {
      const entry = records.get(recordId);
      return entry === undefined ? undefined : history(entry);
    },
    getDelegation(delegationId) {
      const entry = delegations.get(delegationId);
      return entry === undefined ? undefined : { state: entry.state, seqs: seqList(entry.seqs) };
    },
    recordsOfSubject(subject) {
      const out: RecordHistory[] = [];
      for (const id of idsOf(bySubject, subject)) {
        const entry = records.get(id);
        if (entry !== undefined) out.push(history(entry));
      }
      return out;
    },
    *allRecords() {
      for (const entry of records.values()) yield history(entry);
    },
    recentEvent: (seq) => recent.get(seq),
  };
}
