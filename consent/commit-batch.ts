// One durable write batch of the consent log (consent-store.ts, audit-journal.ts): the signed events, audit entries,
// idempotency rows and consent_current changes that are journaled as one line and moved into DuckDB together.
// Its own module so that the store and the journal both build on it without importing each other.
import type { AuditEntry } from './audit.ts';
import type { LogEvent } from './event.ts';
import type { ConsentState } from './lifecycle.ts';
import type { ConsentStatus } from './record.ts';

export type ChainHead = { seq: number; hash: string; id: string | null };
export type IdempotencyRow = { key: string; requestHash: string; response: string; createdAt: string };
/** A record's row of consent_current: what the bulk filter reads of its folded state. */
export type CurrentRow = {
  recordId: string;
  subject: string;
  controller: string;
  status: ConsentStatus;
  purposes: readonly string[];
  recipients: readonly string[];
  notBeforeMs: number;
  expiresAtMs: number | null;
};
/** A record whose folded state changed in the batch; `isNew` when its grant is in the batch (nothing to replace). */
export type CurrentChange = { row: CurrentRow; isNew: boolean };
export type CommitBatch = {
  events: LogEvent[];
  audit: AuditEntry[];
  idempotency: IdempotencyRow[];
  current: CurrentChange[];
};

export function currentRowOf(state: ConsentState): CurrentRow {
  const r = state.record;
  return {
    recordId: r.recordId,
    subject: r.subject,
    controller: r.controller,
    status: state.status,
    purposes: r.purposes.map((p) => p.purpose),
    recipients: r.recipients.map((x) => x.id),
    notBeforeMs: state.notBeforeMs,
    expiresAtMs: state.expiresAtMs,
  };
}
