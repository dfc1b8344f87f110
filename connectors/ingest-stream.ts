// An ingest stream declaration (platform events: app clicks, live-stream interactions) and the event
// schema derived from it. Every event carries a producer-chosen eventId (unique per stream), the raw
// subjectId (pseudonymized at the edge, never stored) and occurredAt; the other fields are declared.
import { z } from 'zod';
import type { ColumnType } from './column-type.ts';
import { ColumnDeclaration } from './view.ts';
import { ObjectName } from './sql-name.ts';

/** Names the envelope and the stored table use; a declared field may not shadow them (any case). */
const RESERVED = ['eventid', 'subjectid', 'occurredat', 'subject', 'event_id', 'occurred_at', 'received_at'];

export const IngestField = ColumnDeclaration.extend({
  // Only the subject id may identify a person, and it is pseudonymized; other identifiers are not collected.
  classification: z.enum(['quasi-identifier', 'sensitive', 'feature', 'label']),
});
export type IngestField = z.infer<typeof IngestField>;

export const IngestStreamDeclaration = z
  .strictObject({
    name: ObjectName,
    description: z.string().max(1000).optional(),
    fields: z.array(IngestField).max(256),
  })
  .superRefine((stream, ctx) => {
    const seen = new Set<string>();
    stream.fields.forEach((field, i) => {
      const folded = field.name.toLowerCase();
      if (RESERVED.includes(folded))
        ctx.addIssue({ code: 'custom', path: ['fields', i, 'name'], message: 'reserved for the event envelope' });
      if (seen.has(folded))
        ctx.addIssue({
          code: 'custom',
          path: ['fields', i, 'name'],
          message: 'duplicate field name (names are case-insensitive)',
        });
      seen.add(folded);
    });
  });
export type IngestStreamDeclaration = z.infer<typeof IngestStreamDeclaration>;
export type IngestStreamInput = z.input<typeof IngestStreamDeclaration>;

/** Producer-chosen, unique per stream: the replay and idempotency key. */
export const EventId = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'eventId is 1-128 characters of A-Z a-z 0-9 . _ : -');

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function valueSchema(type: ColumnType): z.ZodType {
  switch (type) {
    case 'string':
      return z.string().max(4096);
    case 'integer':
      return z.int().min(-MAX_SAFE).max(MAX_SAFE);
    case 'double':
      return z.number();
    case 'boolean':
      return z.boolean();
    case 'date':
      return z.iso.date();
    case 'timestamp':
      return z.iso.datetime({ offset: true });
  }
}

/** A strict object: undeclared fields are refused, so nothing unannounced is ever collected. */
export function eventSchemaFor(stream: IngestStreamDeclaration) {
  const shape: Record<string, z.ZodType> = {
    eventId: EventId,
    // Length bounds are consent's pseudonymize() rule for raw ids.
    subjectId: z.string().min(1).max(256),
    occurredAt: z.iso.datetime({ offset: true }),
  };
  for (const field of stream.fields) {
    const value = valueSchema(field.type);
    shape[field.name] = field.isNullable ? value.nullable().optional() : value;
  }
  return z.strictObject(shape);
}
export type IngestEvent = { eventId: string; subjectId: string; occurredAt: string } & Record<string, unknown>;
