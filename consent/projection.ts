// The in-memory read model of the consent log (CQRS projection): events applied one by one, at write time and on
// replay at start, into indexes so each authorization lookup is a few reads. Consent records live in typed-array
// columns outside the JS heap (consent-columns.ts): per record what authorization and the expiry sweep read, plus
// the seqs of its events. The record and its history are read back from the store by seq (a primary-key lookup)
// and folded when asked for. Delegations are few and stay as objects.
import { GatewayError } from '../core/errors.ts';
import type { ActiveDelegation, ActiveGrant, AuthorizationView } from './authorization-view.ts';
import { createConsentColumns, type GrantTerms } from './consent-columns.ts';
import { applyDelegationEvent, isDelegationActiveAt, type DelegationState } from './delegation.ts';
import type { LogEvent } from './event.ts';
import { advanceConsent, grantedState, type ConsentState } from './lifecycle.ts';
import type { CurrentRow } from './commit-batch.ts';
import { consentTerms } from './value-interner.ts';

export type DelegationHistory = { state: DelegationState; seqs: readonly number[] };

// One event (the common case: a delegation never changed) is kept as a bare number.
type Seqs = number | number[];
type DelegationEntry = { state: DelegationState; seqs: Seqs; active: ActiveDelegation };

/** How many of the newest events stay in memory, so a write's answer and its receipt need no read. */
const RECENT_EVENTS = 4096;

export type ConsentProjection = AuthorizationView & {
  /** Applies the next event of the log; events must arrive in seq order, exactly once. */
  apply(event: LogEvent): void;
  /** The seq of the last applied event (0 before any). */
  readonly lastSeq: number;
  readonly recordCount: number;
  /** The seqs of a consent record's events, oldest first; undefined for an unknown record. */
  recordSeqs(recordId: string): readonly number[] | undefined;
  /** The records of `subject` with their event seqs, in grant order. */
  recordsOfSubject(subject: string): { recordId: string; seqs: readonly number[] }[];
  /** Ids of the records an expire event may be written for at `at`. */
  expiryDue(at: Date): string[];
  /** Every record's consent_current row, for rebuilding that table. */
  currentRows(): IterableIterator<CurrentRow>;
  delegationState(delegationId: string): DelegationState | undefined;
  getDelegation(delegationId: string): DelegationHistory | undefined;
  /** One of the newest RECENT_EVENTS events, or undefined (then read it from the store). */
  recentEvent(seq: number): LogEvent | undefined;
};

/** The terms of a grant the decision point reads, shared and frozen so callers cannot alter the projection. */
function grantTermsOf(record: ConsentState['record']): GrantTerms {
  return consentTerms.intern({
    controller: record.controller,
    purposes: record.purposes.map((p) => p.purpose),
    recipients: record.recipients.map((x) => x.id),
    fieldAllowlist: record.minimization.fieldAllowlist,
    precision: record.minimization.precision,
  });
}

function toActiveDelegation(state: DelegationState): ActiveDelegation {
  const d = state.delegation;
  return Object.freeze({
    delegationId: d.delegationId,
    controller: d.controller,
    partner: d.partner,
    purposes: Object.freeze([...d.purposes]),
    fieldAllowlist: Object.freeze([...d.fieldAllowlist]),
    expiresAt: d.expiresAt,
  });
}

const seqList = (seqs: Seqs): readonly number[] => (typeof seqs === 'number' ? [seqs] : seqs);
const addSeq = (seqs: Seqs | undefined, seq: number): Seqs => (seqs === undefined ? seq : [...seqList(seqs), seq]);

export function createProjection(): ConsentProjection {
  const records = createConsentColumns();
  const delegations = new Map<string, DelegationEntry>();
  const byPartner = new Map<string, string | string[]>();
  const recent = new Map<number, LogEvent>();
  let lastSeq = 0;

  const applyConsent = (event: LogEvent) => {
    if (event.type === 'grant') {
      const state = grantedState(event);
      if (records.rowOf(event.recordId) >= 0)
        throw new GatewayError('INTERNAL', 'consent log grants a record twice', {
          recordId: event.recordId,
          seq: event.seq,
        });
      records.add(event.recordId, state.record.subject, grantTermsOf(state.record), state, event.seq);
      return;
    }
    const row = records.rowOf(event.recordId);
    if (row < 0)
      throw new GatewayError('INTERNAL', 'consent log changes a record it never granted', {
        recordId: event.recordId,
        seq: event.seq,
      });
    records.setCore(row, advanceConsent(records.core(row), event));
    records.addSeq(row, event.seq);
  };

  const applyDelegation = (event: LogEvent) => {
    const entry = delegations.get(event.recordId);
    const state = applyDelegationEvent(entry?.state, event);
    delegations.set(event.recordId, { state, seqs: addSeq(entry?.seqs, event.seq), active: toActiveDelegation(state) });
    if (entry === undefined) {
      const ids = byPartner.get(state.delegation.partner);
      if (ids === undefined) byPartner.set(state.delegation.partner, event.recordId);
      else if (typeof ids === 'string') byPartner.set(state.delegation.partner, [ids, event.recordId]);
      else ids.push(event.recordId);
    }
  };

  const currentRow = (row: number): CurrentRow => {
    const terms = records.terms(row);
    return {
      recordId: records.recordId(row),
      subject: records.subject(row),
      controller: terms.controller,
      status: records.status(row),
      purposes: terms.purposes,
      recipients: terms.recipients,
      notBeforeMs: records.notBeforeMs(row),
      expiresAtMs: records.expiresAtMs(row),
    };
  };

  return {
    get lastSeq() {
      return lastSeq;
    },
    get recordCount() {
      return records.size;
    },
    apply(event) {
      if (event.seq !== lastSeq + 1) {
        // At start-up this is a hole (or a repeat) in the stored log: name the seq so an operator can find the row.
        throw new GatewayError(
          'INTERNAL',
          `consent log is not contiguous: expected event seq ${lastSeq + 1}, found ${event.seq}`,
          { expected: lastSeq + 1, got: event.seq },
        );
      }
      if (event.kind === 'consent') applyConsent(event);
      else applyDelegation(event);
      lastSeq = event.seq;
      recent.set(event.seq, event);
      recent.delete(event.seq - RECENT_EVENTS);
    },
    grantsFor(subject, purpose, at) {
      const out: ActiveGrant[] = [];
      const atMs = at.getTime();
      for (let row = records.firstOfSubject(subject); row >= 0; row = records.nextOfSubject(row)) {
        const terms = records.terms(row);
        if (!terms.purposes.includes(purpose) || !records.isActiveAt(row, atMs)) continue;
        out.push(
          Object.freeze({ recordId: records.recordId(row), subject, ...terms, expiresAt: records.expiresAt(row) }),
        );
      }
      return out;
    },
    delegationsFor(partner, purpose, at) {
      const out: ActiveDelegation[] = [];
      const ids = byPartner.get(partner);
      for (const id of ids === undefined ? [] : typeof ids === 'string' ? [ids] : ids) {
        const entry = delegations.get(id);
        if (entry !== undefined && entry.active.purposes.includes(purpose) && isDelegationActiveAt(entry.state, at))
          out.push(entry.active);
      }
      return out;
    },
    recordSeqs(recordId) {
      const row = records.rowOf(recordId);
      return row < 0 ? undefined : records.seqs(row);
    },
    recordsOfSubject(subject) {
      const out: { recordId: string; seqs: readonly number[] }[] = [];
      for (let row = records.firstOfSubject(subject); row >= 0; row = records.nextOfSubject(row))
        out.push({ recordId: records.recordId(row), seqs: records.seqs(row) });
      return out;
    },
    expiryDue(at) {
      const atMs = at.getTime();
      const due: string[] = [];
      for (let row = 0; row < records.size; row++) if (records.isExpiryDue(row, atMs)) due.push(records.recordId(row));
      return due;
    },
    *currentRows() {
      for (let row = 0; row < records.size; row++) yield currentRow(row);
    },
    delegationState: (delegationId) => delegations.get(delegationId)?.state,
    getDelegation(delegationId) {
      const entry = delegations.get(delegationId);
      return entry === undefined ? undefined : { state: entry.state, seqs: seqList(entry.seqs) };
    },
    recentEvent: (seq) => recent.get(seq),
  };
}
