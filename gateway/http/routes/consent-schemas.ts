// Response and request shapes shared by the consent, delegation and audit routes. Response schemas
// strip undeclared fields on the way out, which is a privacy control in its own right. The consent log's results
// are defined in consent/consent-results.ts; here they are only extended with what HTTP adds.
import { z } from 'zod';
import {
  DelegationView as LogDelegationView,
  EventRef,
  RecordResult,
  RecordView,
} from '../../../consent/consent-results.ts';
import { Pseudonym, RecordId } from '../../../consent/record.ts';
import { LogEvent } from '../../../consent/event.ts';
import { Receipt } from '../../../consent/receipt.ts';

export const IdempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'expected 1-128 characters of A-Z a-z 0-9 . _ : -')
    .optional(),
});

export const RecordIdParams = z.strictObject({ id: RecordId });
export const SubjectParams = z.strictObject({ subject: Pseudonym });

/** The answer to a consent write: the signed record, its status now, and the events the write appended. */
export const ConsentWriteResult = RecordResult.extend({
  /**
   * Signed at once for the event just written; upgraded with its Merkle proof at GET /v1/consents/{id}/proof once
   * anchored.
   */
  receipt: Receipt.optional(),
});

/** A record with its full event history (each event signed and chained): the log's RecordView as it is. */
export const ConsentRecordView = RecordView;

export const SubjectHistory = z.object({ subject: Pseudonym, records: z.array(ConsentRecordView) });

/**
 * One schema for every delegation answer: a read is the log's DelegationView; a write is its DelegationResult,
 * which has no isActive and event refs in place of events. Keys stay in place, so answers keep their field order.
 */
export const DelegationView = LogDelegationView.extend({
  isActive: z.boolean().optional(),
  events: z.array(z.union([LogEvent, EventRef])).readonly(),
});

export const ReasonBody = z.strictObject({ reason: z.string().min(1).max(512).optional() });

export const PseudonymRequest = z.strictObject({ subjectIds: z.array(z.string().min(1).max(256)).min(1).max(10_000) });
export const PseudonymResponse = z.object({ subjects: z.array(Pseudonym) });

export const FilterRequest = z.strictObject({
  subjects: z.array(Pseudonym).max(100_000),
  purpose: z.string().min(1).max(256),
  recipient: z.string().min(1).max(128),
  /** Defaults to now; lets an auditor ask "who was covered at time T". */
  at: z.iso.datetime({ offset: true }).optional(),
});
export const FilterResponse = z.object({
  purpose: z.string(),
  recipient: z.string(),
  at: z.string(),
  requested: z.number().int(),
  covered: z.number().int(),
  subjects: z.array(Pseudonym),
});
