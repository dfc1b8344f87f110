// The in-memory read model of the consent log (CQRS projection): events applied one by one, at write time and on
// replay at start, into per-subject and per-partner indexes so each authorization lookup is a few map reads.
import { GatewayError } from '../gateway/errors.ts';
import type { ActiveDelegation, ActiveGrant, AuthorizationView } from './authorization-view.ts';
import { applyDelegationEvent, isDelegationActiveAt, type DelegationState } from './delegation.ts';
import type { LogEvent } from './event.ts';
import { applyConsentEvent, isActiveAt, type ConsentState } from './lifecycle.ts';

export type RecordHistory = { state: ConsentState; events: readonly LogEvent[] };
export type DelegationHistory = { state: DelegationState; events: readonly LogEvent[] };

type RecordEntry = RecordHistory & { events: LogEvent[]; grant: ActiveGrant; purposes: ReadonlySet<string> };
type DelegationEntry = DelegationHistory & { events: LogEvent[]; active: ActiveDelegation; purposes: ReadonlySet<string> };

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
};

/** The view the decision point reads: shared, frozen objects so callers cannot alter the projection. */
export function toActiveGrant(state: ConsentState): ActiveGrant {
  const r = state.record;
  return Object.freeze({
    recordId: r.recordId,
    subject: r.subject,
    controller: r.controller,
    purposes: Object.freeze(r.purposes.map((p) => p.purpose)),
    recipients: Object.freeze(r.recipients.map((x) => x.id)),
    fieldAllowlist: Object.freeze([...r.minimization.fieldAllowlist]),
    precision: Object.freeze({ ...r.minimization.precision }),
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

export function createProjection(): ConsentProjection {
  const records = new Map<string, RecordEntry>();
  const bySubject = new Map<string, Set<string>>();
  const delegations = new Map<string, DelegationEntry>();
  const byPartner = new Map<string, Set<string>>();
  let lastSeq = 0;

  const index = (map: Map<string, Set<string>>, key: string, id: string) => {
    const ids = map.get(key);
    if (ids === undefined) map.set(key, new Set([id]));
    else ids.add(id);
  };

  const applyConsent = (event: LogEvent) => {
    const entry = records.get(event.recordId);
    const state = applyConsentEvent(entry?.state, event);
    const events = entry === undefined ? [event] : [...entry.events, event];
    const purposes = entry?.purposes ?? new Set(state.record.purposes.map((p) => p.purpose));
    records.set(event.recordId, { state, events, grant: toActiveGrant(state), purposes });
    if (entry === undefined) index(bySubject, state.record.subject, event.recordId);
  };

  const applyDelegation = (event: LogEvent) => {
    const entry = delegations.get(event.recordId);
    const state = applyDelegationEvent(entry?.state, event);
    const events = entry === undefined ? [event] : [...entry.events, event];
    const purposes = entry?.purposes ?? new Set(state.delegation.purposes);
    delegations.set(event.recordId, { state, events, active: toActiveDelegation(state), purposes });
    if (entry === undefined) index(byPartner, state.delegation.partner, event.recordId);
  };

  const history = (entry: RecordEntry): RecordHistory => ({ state: entry.state, events: entry.events });

  return {
    get lastSeq() { return lastSeq; },
    apply(event) {
      if (event.seq !== lastSeq + 1) {
        throw new GatewayError('INTERNAL', 'consent projection received an event out of order', { expected: lastSeq + 1, got: event.seq });
      }
      if (event.kind === 'consent') applyConsent(event);
      else applyDelegation(event);
      lastSeq = event.seq;
    },
    grantsFor(subject, purpose, at) {
      const out: ActiveGrant[] = [];
      for (const id of bySubject.get(subject) ?? []) {
        const entry = records.get(id);
        if (entry !== undefined && entry.purposes.has(purpose) && isActiveAt(entry.state, at)) out.push(entry.grant);
      }
      return out;
    },
    delegationsFor(partner, purpose, at) {
      const out: ActiveDelegation[] = [];
      for (const id of byPartner.get(partner) ?? []) {
        const entry = delegations.get(id);
        if (entry !== undefined && entry.purposes.has(purpose) && isDelegationActiveAt(entry.state, at)) out.push(entry.active);
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
      return entry === undefined ? undefined : { state: entry.state, events: entry.events };
    },
    recordsOfSubject(subject) {
      const out: RecordHistory[] = [];
      for (const id of bySubject.get(subject) ?? []) {
        const entry = records.get(id);
        if (entry !== undefined) out.push(history(entry));
      }
      return out;
    },
    *allRecords() {
      for (const entry of records.values()) yield history(entry);
    },
  };
}
