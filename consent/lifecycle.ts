// Consent lifecycle: the pure rules that fold a record's events into its current state (ISO/IEC TS 27560 status
// values; GDPR Art. 7(3) withdrawal; PIPL Art. 14 fresh consent on change of purpose). Time is always passed in.
import { z } from 'zod';
import { GatewayError } from '../core/errors.ts';
import { canonicalize } from './canonical.ts';
import type { UnsealedEvent } from './event.ts';
import {
  FRESH_CONSENT_FIELDS,
  Instant,
  RecordId,
  parseConsentRecord,
  type ConsentRecord,
  type ConsentStatus,
  type RenewInput,
} from './record.ts';

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
export const TerminalReason = z.enum(['withdrawn', 'revoked', 'superseded']);
export type TerminalReason = z.infer<typeof TerminalReason>;

/** What events change about a record after its grant: everything the lifecycle reads, the record itself aside. */
export type ConsentCore = {
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

export type ConsentState = ConsentCore & {
  /** The record as granted and signed; never mutated, so its signature keeps verifying. */
  record: ConsentRecord;
};

type EventBody = Pick<UnsealedEvent, 'type' | 'recordId' | 'subjectOrPartner' | 'at' | 'payload'>;

const conflict = (message: string, recordId: string, core: ConsentCore) =>
  new GatewayError('CONFLICT', message, { recordId, status: core.status });

/** The state a grant event starts: its record, validated against the event. */
export function grantedState(event: EventBody): ConsentState {
  const record = parseConsentRecord(event.payload);
  if (record.recordId !== event.recordId || record.subject !== event.subjectOrPartner || record.status !== 'Given') {
    throw new GatewayError('BAD_INPUT', 'grant event does not match its record', { recordId: event.recordId });
  }
  return {
    record,
    status: 'Given',
    expiresAt: record.expiresAt,
    terminalReason: null,
    supersededBy: null,
    updatedAt: event.at,
    notBeforeMs: Date.parse(record.notBefore),
    expiresAtMs: record.expiresAt === null ? null : Date.parse(record.expiresAt),
  };
}

/**
 * Applies one event after the grant to the core of record `event.recordId`. Throws CONFLICT for a transition the
 * lifecycle forbids (withdraw twice, renew a withdrawn record, expire before expiresAt), BAD_INPUT for a payload
 * that does not fit its type. The compact projection replays the log through this same function.
 */
export function advanceConsent<T extends ConsentCore>(core: T, event: EventBody): T {
  const id = event.recordId;
  if (event.type === 'grant') throw conflict('record already exists', id, core);
  if (core.terminalReason !== null) throw conflict(`record is already ${core.terminalReason}`, id, core);
  const at = Date.parse(event.at);
  const next = (change: Partial<ConsentCore>): T => ({ ...core, ...change, updatedAt: event.at });
  switch (event.type) {
    case 'withdraw':
      WithdrawPayload.parse(event.payload);
      return next({ status: 'Withdrawn', terminalReason: 'withdrawn' });
    case 'revoke':
      RevokePayload.parse(event.payload);
      return next({ status: 'Revoked', terminalReason: 'revoked' });
    case 'supersede': {
      const { supersededBy } = SupersedePayload.parse(event.payload);
      if (supersededBy === id) throw conflict('a record cannot supersede itself', id, core);
      return next({ status: 'Revoked', terminalReason: 'superseded', supersededBy });
    }
    case 'expire': {
      const { expiresAt } = ExpirePayload.parse(event.payload);
      if (core.status === 'Expired') throw conflict('record is already expired', id, core);
      if (core.expiresAtMs === null || expiresAt !== core.expiresAt)
        throw conflict('expire names a different expiresAt', id, core);
      if (at < core.expiresAtMs) throw conflict('record has not reached expiresAt', id, core);
      return next({ status: 'Expired' });
    }
    case 'renew': {
      const payload = RenewPayload.parse(event.payload);
      if (core.expiresAt === null) throw conflict('record has no expiry to renew', id, core);
      if (payload.previousExpiresAt !== core.expiresAt)
        throw conflict('renewal is based on a stale expiresAt', id, core);
      const until = Date.parse(payload.expiresAt);
      if (until <= (core.expiresAtMs ?? 0) || until <= at)
        throw conflict('renewal must move expiresAt later, into the future', id, core);
      return next({ status: 'Renewed', expiresAt: payload.expiresAt, expiresAtMs: until });
    }
    default:
      throw new GatewayError('BAD_INPUT', `event type ${event.type} is not a consent event`);
  }
}

/**
 * Applies one consent event. Throws CONFLICT for a transition the lifecycle forbids, NOT_FOUND for an event on an
 * unknown record, BAD_INPUT for a payload that does not fit its type. The same function validates new writes and
 * folds histories read back from the log.
 */
export function applyConsentEvent(state: ConsentState | undefined, event: EventBody): ConsentState {
  if (event.type === 'grant') {
    if (state !== undefined) throw conflict('record already exists', state.record.recordId, state);
    return grantedState(event);
  }
  if (state === undefined) throw new GatewayError('NOT_FOUND', 'no such consent record', { recordId: event.recordId });
  return advanceConsent(state, event);
}

/** Folds a record's events in order. */
export function foldConsentEvents(events: readonly EventBody[]): ConsentState | undefined {
  let state: ConsentState | undefined;
  for (const event of events) state = applyConsentEvent(state, event);
  return state;
}

/**
 * Status at `at`: a Given or Renewed record whose expiresAt has passed reads as Expired even before the expire event.
 */
export function statusAt(state: ConsentState, at: Date): ConsentStatus {
  const isLive = state.status === 'Given' || state.status === 'Renewed';
  if (isLive && state.expiresAtMs !== null && at.getTime() >= state.expiresAtMs) return 'Expired';
  return state.status;
}

/**
 * In force at `atMs`: Given or Renewed, notBefore reached, expiresAt not reached. Fail closed on anything else.
 * On fields rather than a state, so the projection's columns apply the same rule without building one.
 */
export function isInForceAt(
  status: ConsentStatus,
  notBeforeMs: number,
  expiresAtMs: number | null,
  atMs: number,
): boolean {
  if (Number.isNaN(atMs)) return false;
  if (status !== 'Given' && status !== 'Renewed') return false;
  return notBeforeMs <= atMs && (expiresAtMs === null || atMs < expiresAtMs);
}

export function isActiveAt(state: ConsentState, at: Date): boolean {
  return isInForceAt(state.status, state.notBeforeMs, state.expiresAtMs, at.getTime());
}

/** True when an explicit expire event may be written at `atMs` (on fields, as isInForceAt). */
export function isExpiryDueAt(
  terminalReason: TerminalReason | null,
  status: ConsentStatus,
  expiresAtMs: number | null,
  atMs: number,
): boolean {
  return terminalReason === null && status !== 'Expired' && expiresAtMs !== null && atMs >= expiresAtMs;
}

export function isExpiryDue(state: ConsentState, at: Date): boolean {
  return isExpiryDueAt(state.terminalReason, state.status, state.expiresAtMs, at.getTime());
}

/**
 * Turns a renewal request into its event payload. Echoed purposes, data categories, notice, recipients or
 * minimization must equal the record's: changing any of them needs a grant that supersedes (CONFLICT otherwise).
 */
export function planRenewal(state: ConsentState, input: RenewInput): z.infer<typeof RenewPayload> {
  const changed = FRESH_CONSENT_FIELDS.filter(
    (field) => input[field] !== undefined && canonicalize(input[field]) !== canonicalize(state.record[field]),
  );
  if (changed.length > 0) {
    throw new GatewayError('CONFLICT', 'changing these terms needs a new grant that supersedes this record', {
      recordId: state.record.recordId,
      changed,
    });
  }
  if (state.expiresAt === null) throw conflict('record has no expiry to renew', state.record.recordId, state);
  return { expiresAt: new Date(input.expiresAt).toISOString(), previousExpiresAt: state.expiresAt };
}

/** A superseding grant must be for the same subject and controller, and the old record must still be replaceable. */
export function checkSupersede(old: ConsentState, replacement: ConsentRecord): void {
  if (old.record.subject !== replacement.subject || old.record.controller !== replacement.controller) {
    throw new GatewayError('CONFLICT', 'a record can only be superseded by one for the same subject and controller', {
      recordId: old.record.recordId,
    });
  }
  if (old.terminalReason !== null) throw conflict(`record is already ${old.terminalReason}`, old.record.recordId, old);
}
