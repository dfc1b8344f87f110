// The Cedar policy bundle over HTTP: read it, replace it (validated before it takes effect), or reload
// it from disk after an operator edit. Every change is an audit entry.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PolicyBundle } from '../../../consent/policy-set.ts';
import type { GatewayContext } from '../../services/context.ts';

const READ = { roles: ['admin', 'data-steward', 'compliance-officer'] } as const;
const ADMIN = { roles: ['admin'] } as const;

const PolicyView = z.object({ version: z.string(), bundle: PolicyBundle });
const PolicyChange = z.object({ previousVersion: z.string(), version: z.string() });

export function registerPolicyRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['policies'];

  const audit = (request: FastifyRequest, action: string, change: { previousVersion: string; version: string }) =>
    ctx.consent.appendAudit({
      kind: 'policy-change',
      actor: `token:${request.principal?.tokenId ?? 'unknown'}`,
      action,
      outcome: 'ok',
      refs: [change.previousVersion.slice(0, 128), change.version.slice(0, 128)],
      detail: {},
    });

  api.get(
    '/v1/policies',
    {
      config: READ,
      schema: {
        summary: 'The policy bundle in force: Cedar schema, policies and purpose catalogue',
        tags,
        response: { 200: PolicyView },
      },
    },
    async () => ({ version: ctx.policies.authorizer.version, bundle: ctx.policies.bundle }),
  );

  api.put(
    '/v1/policies',
    {
      config: ADMIN,
      schema: {
        summary: 'Replace the bundle; it must parse and validate against its schema or nothing changes (422)',
        tags,
        body: PolicyBundle,
        response: { 200: PolicyChange },
      },
    },
    async (request) => {
      const change = await ctx.policies.replace(request.body);
      await audit(request, 'replace', change);
      return change;
    },
  );

  api.post(
    '/v1/policies/reload',
    {
      config: ADMIN,
      schema: {
        summary: 'Re-read the bundle from the data directory; an invalid bundle leaves the current one in force',
        tags,
        response: { 200: PolicyChange },
      },
    },
    async (request) => {
      const change = await ctx.policies.reload();
      await audit(request, 'reload', change);
      return change;
    },
  );
}
