// Consent lifecycle: the pure rules that fold a record's events into its current state (ISO/IEC TS 27560 status
// values; GDPR Art. 7(3) withdrawal; PIPL Art. 14 fresh consent on change of purpose). Time is always passed in.
import { z } from 'zod';
import { GatewayError } from '../gateway/errors.ts';
import { canonicalize } from './canonical.ts';
import type { UnsealedEvent } from './event.ts';
import { FRESH_CONSENT_FIELDS, Instant, RecordId, parseConsentRecord, type ConsentRecord, type ConsentStatus, type RenewInput } from './record.ts';

const Reason = z.string().min(1).max(512);

export const WithdrawPayload = z.object({ reason: Reason.optional() }).strict();
export const RevokePayload = z.object({ reason: Reason.optional() }).strict();
/** Names the expiresAt that passed, so a renewal racing the expiry job cannot be expired by mistake. */
export const ExpirePayload = z.object({ expiresAt: Instant }).strict();
export const RenewPayload = z.object({ expiresAt: Instant, previousExpiresAt: Instant }).strict();
export const SupersedePayload = z.object({ supersededBy: RecordId }).strict();

/**
 * Why a record can never be active again. A superseded record gets status Revoked (the controller replaced it on
 * the subject's new indication) plus `supersededBy`, so the six DPV/ISO status values stay the only statuses.
 */
export type TerminalReason = 'withdrawn' | 'revoked' | 'superseded';

export type ConsentState = {
  /** The record as granted and signed; never mutated, so its signature keeps verifying. */
  record: ConsentRecord;
  /** Status after the last event. Implicit expiry by time is applied by `statusAt`, not stored. */
  status: ConsentStatus;
  /** Current expiry after renewals (the record keeps the original). */
  expiresAt: string | null;
  terminalReason: TerminalReason | null;
  supersededBy: string | null;
  updatedAt: string;
  // Parsed once so per-decision checks do no date parsing.
  notBeforeMs: number;
  expiresAtMs: number | null;
};

type EventBody = Pick<UnsealedEvent, 'type' | 'recordId' | 'subjectOrPartner' | 'at' | 'payload'>;

const conflict = (message: string, state: ConsentState) =>
  new GatewayError('CONFLICT', message, { recordId: state.record.recordId, status: state.status });

/**
 * Applies one consent event. Throws CONFLICT for a transition the lifecycle forbids (withdraw twice, renew a
 * withdrawn record, expire before expiresAt), NOT_FOUND for an event on an unknown record, BAD_INPUT for a
 * payload that does not fit its type. The same function validates new writes and replays the log.
 */
export function applyConsentEvent(state: ConsentState | undefined, event: EventBody): ConsentState {
  if (event.type === 'grant') {
    if (state !== undefined) throw conflict('record already exists', state);
    const record = parseConsentRecord(event.payload);
    if (record.recordId !== event.recordId || record.subject !== event.subjectOrPartner || record.status !== 'Given') {
      throw new GatewayError('BAD_INPUT', 'grant event does not match its record', { recordId: event.recordId });
    }
    return {
      record, status: 'Given', expiresAt: record.expiresAt, terminalReason: null, supersededBy: null, updatedAt: event.at,
      notBeforeMs: Date.parse(record.notBefore), expiresAtMs: record.expiresAt === null ? null : Date.parse(record.expiresAt),
    };
  }
  if (state === undefined) throw new GatewayError('NOT_FOUND', 'no such consent record', { recordId: event.recordId });
  if (state.terminalReason !== null) throw conflict(`record is already ${state.terminalReason}`, state);
  const at = Date.parse(event.at);
  const next = (change: Partial<ConsentState>): ConsentState => ({ ...state, ...change, updatedAt: event.at });
  switch (event.type) {
    case 'withdraw':
      WithdrawPayload.parse(event.payload);
      return next({ status: 'Withdrawn', terminalReason: 'withdrawn' });
    case 'revoke':
      RevokePayload.parse(event.payload);
      return next({ status: 'Revoked', terminalReason: 'revoked' });
    case 'supersede': {
      const { supersededBy } = SupersedePayload.parse(event.payload);
      if (supersededBy === state.record.recordId) throw conflict('a record cannot supersede itself', state);
      return next({ status: 'Revoked', terminalReason: 'superseded', supersededBy });
    }
    case 'expire': {
      const { expiresAt } = ExpirePayload.parse(event.payload);
      if (state.status === 'Expired') throw conflict('record is already expired', state);
      if (state.expiresAtMs === null || expiresAt !== state.expiresAt) throw conflict('expire names a different expiresAt', state);
      if (at < state.expiresAtMs) throw conflict('record has not reached expiresAt', state);
      return next({ status: 'Expired' });
    }
    case 'renew': {
      const payload = RenewPayload.parse(event.payload);
      if (state.expiresAt === null) throw conflict('record has no expiry to renew', state);
      if (payload.previousExpiresAt !== state.expiresAt) throw conflict('renewal is based on a stale expiresAt', state);
      const until = Date.parse(payload.expiresAt);
      if (until <= (state.expiresAtMs ?? 0) || until <= at) throw conflict('renewal must move expiresAt later, into the future', state);
      return next({ status: 'Renewed', expiresAt: payload.expiresAt, expiresAtMs: until });
    }
    default:
      throw new GatewayError('BAD_INPUT', `event type ${event.type} is not a consent event`);
  }
}

/** Folds a record's events in order. */
export function foldConsentEvents(events: readonly EventBody[]): ConsentState | undefined {
  let state: ConsentState | undefined;
  for (const event of events) state = applyConsentEvent(state, event);
  return state;
}

/** Status at `at`: a Given or Renewed record whose expiresAt has passed reads as Expired even before the expire event. */
export function statusAt(state: ConsentState, at: Date): ConsentStatus {
  const isLive = state.status === 'Given' || state.status === 'Renewed';
  if (isLive && state.expiresAtMs !== null && at.getTime() >= state.expiresAtMs) return 'Expired';
  return state.status;
}

/** In force at `at`: Given or Renewed, notBefore reached, expiresAt not reached. Fail closed on anything else. */
export function isActiveAt(state: ConsentState, at: Date): boolean {
  const t = at.getTime();
  if (Number.isNaN(t)) return false;
  if (state.status !== 'Given' && state.status !== 'Renewed') return false;
  return state.notBeforeMs <= t && (state.expiresAtMs === null || t < state.expiresAtMs);
}

/** True when an explicit expire event may be written now. */
export function isExpiryDue(state: ConsentState, at: Date): boolean {
  return state.terminalReason === null && state.status !== 'Expired' && state.expiresAtMs !== null && at.getTime() >= state.expiresAtMs;
}

/**
 * Turns a renewal request into its event payload. Echoed purposes, data categories, notice, recipients or
 * minimization must equal the record's: changing any of them needs a grant that supersedes (CONFLICT otherwise).
 */
export function planRenewal(state: ConsentState, input: RenewInput): z.infer<typeof RenewPayload> {
  const changed = FRESH_CONSENT_FIELDS.filter((field) =>
    input[field] !== undefined && canonicalize(input[field]) !== canonicalize(state.record[field]));
  if (changed.length > 0) {
    throw new GatewayError('CONFLICT', 'changing these terms needs a new grant that supersedes this record',
      { recordId: state.record.recordId, changed });
  }
  if (state.expiresAt === null) throw conflict('record has no expiry to renew', state);
  return { expiresAt: new Date(input.expiresAt).toISOString(), previousExpiresAt: state.expiresAt };
}

/** A superseding grant must be for the same subject and controller, and the old record must still be replaceable. */
export function checkSupersede(old: ConsentState, replacement: ConsentRecord): void {
  if (old.record.subject !== replacement.subject || old.record.controller !== replacement.controller) {
    throw new GatewayError('CONFLICT', 'a record can only be superseded by one for the same subject and controller',
      { recordId: old.record.recordId });
  }
  if (old.terminalReason !== null) throw conflict(`record is already ${old.terminalReason}`, old);
}
