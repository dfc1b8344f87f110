// The audit trail for compliance officers: filtered listing and a full chain verification that names
// the first broken link.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AuditEntry, AuditKind } from '../../../consent/audit.ts';
import { Actor } from '../../../consent/event.ts';

import type { GatewayContext } from '../../services/context.ts';

const AUDIT = { roles: ['compliance-officer', 'admin'] } as const;

const AuditListQuery = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  kind: AuditKind.optional(),
  actor: Actor.optional(),
  ref: z.string().min(1).max(128).optional(),
  afterSeq: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const AuditList = z.object({ entries: z.array(AuditEntry), nextAfterSeq: z.number().int().nullable() });

const Verification = z.union([
  z.object({ ok: z.literal(true), events: z.number().int(), audit: z.number().int() }),
  z.object({
    ok: z.literal(false),
    chain: z.enum(['events', 'audit']),
    seq: z.number().int(),
    id: z.string().nullable(),
    reason: z.enum(['hash-mismatch', 'bad-signature', 'broken-link', 'seq-gap', 'truncated']),
  }),
]);

export function registerAuditRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['audit'];

  api.get(
    '/v1/audit',
    {
      config: AUDIT,
      schema: {
        summary: 'Audit entries in chain order, filtered; page with afterSeq',
        tags,
        querystring: AuditListQuery,
        response: { 200: AuditList },
      },
    },
    async (request) => {
      const q = request.query;
      const entries = await ctx.consent.listAudit({
        limit: q.limit,
        ...(q.from === undefined ? {} : { from: q.from }),
        ...(q.to === undefined ? {} : { to: q.to }),
        ...(q.kind === undefined ? {} : { kind: q.kind }),
        ...(q.actor === undefined ? {} : { actor: q.actor }),
        ...(q.ref === undefined ? {} : { ref: q.ref }),
        ...(q.afterSeq === undefined ? {} : { afterSeq: q.afterSeq }),
      });
      const last = entries.at(-1);
      return { entries, nextAfterSeq: entries.length === q.limit && last ? last.seq : null };
    },
  );

  api.get(
    '/v1/audit/verify',
    {
      config: AUDIT,
      schema: {
        summary: 'Recompute the consent event chain (hashes, signatures, links) and the audit chain from disk',
        tags,
        response: { 200: Verification },
      },
    },
    async () => ctx.consent.verify(),
  );
}
