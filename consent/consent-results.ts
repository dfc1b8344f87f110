// What the consent log answers: a record or delegation, where it stands now, and its events. Zod schemas, so the
// gateway's response schemas extend these instead of restating them, and the types are what those schemas declare.
import { z } from 'zod';
import { Delegation } from './delegation.ts';
import { LogEvent } from './event.ts';
import { TerminalReason } from './lifecycle.ts';
import { ConsentRecord, ConsentStatus } from './record.ts';

/** Where a just-written event sits in the chain; the event itself is read back by seq. */
export const EventRef = z.object({ seq: z.number().int(), eventId: z.string(), hash: z.string() });
export type EventRef = z.infer<typeof EventRef>;

/** A record's state at one instant: what its events made of it, with implicit expiry by time applied. */
export const CurrentStatus = z.object({
  status: ConsentStatus,
  isActive: z.boolean(),
  expiresAt: z.string().nullable(),
  terminalReason: TerminalReason.nullable(),
  supersededBy: z.string().nullable(),
  updatedAt: z.string(),
});
export type CurrentStatus = z.infer<typeof CurrentStatus>;

/** A command's result: the record as signed, its current status, and the events just written. */
export const RecordResult = z.object({ record: ConsentRecord, current: CurrentStatus, events: z.array(EventRef) });
export type RecordResult = z.infer<typeof RecordResult>;

/** A record with its full event history (each event signed and chained). */
export const RecordView = z.object({
  record: ConsentRecord,
  current: CurrentStatus,
  events: z.array(LogEvent).readonly(),
});
export type RecordView = z.infer<typeof RecordView>;

/** A delegation command's result: the delegation, whether it is revoked now, and the events just written. */
export const DelegationResult = z.object({ delegation: Delegation, isRevoked: z.boolean(), events: z.array(EventRef) });
export type DelegationResult = z.infer<typeof DelegationResult>;

/** A delegation, whether it is in force now, and its full event history. */
export const DelegationView = z.object({
  delegation: Delegation,
  isRevoked: z.boolean(),
  isActive: z.boolean(),
  events: z.array(LogEvent).readonly(),
});
export type DelegationView = z.infer<typeof DelegationView>;
