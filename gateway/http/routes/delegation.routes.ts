// Controller -> partner delegations over HTTP: signed, chained events in the same log as consent.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { DelegationInput } from '../../../consent/delegation.ts';
import type { GatewayContext } from '../../services/context.ts';
import { commandContext } from './consent.routes.ts';
import { DelegationView, IdempotencyHeaders, ReasonBody, RecordIdParams } from './consent-schemas.ts';

const STEWARD = { roles: ['data-steward', 'admin'] } as const;
const READ = { roles: ['data-steward', 'compliance-officer', 'admin'] } as const;

export function registerDelegationRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['delegations'];

  api.post(
    '/v1/delegations',
    {
      config: STEWARD,
      schema: {
        summary: 'Let a partner use consent for purposes, with a field allowlist and an expiry',
        tags,
        headers: IdempotencyHeaders,
        body: DelegationInput,
        response: { 201: DelegationView },
      },
    },
    async (request, reply) => reply.code(201).send(await ctx.consent.delegate(request.body, commandContext(request))),
  );

  api.get(
    '/v1/delegations/:id',
    {
      config: READ,
      schema: {
        summary: 'A delegation, whether it is in force, and its signed events',
        tags,
        params: RecordIdParams,
        response: { 200: DelegationView },
      },
    },
    async (request) => ctx.consent.getDelegation(request.params.id),
  );

  api.post(
    '/v1/delegations/:id/revoke',
    {
      config: STEWARD,
      schema: {
        summary: 'Revoke a delegation; effective at the next decision',
        tags,
        params: RecordIdParams,
        headers: IdempotencyHeaders,
        body: ReasonBody.optional(),
        response: { 200: DelegationView },
      },
    },
    async (request) => ctx.consent.revokeDelegation(request.params.id, commandContext(request), request.body?.reason),
  );
}
