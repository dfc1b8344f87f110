// The policy decision point over HTTP. Every decision, permit or deny, is appended to the audit chain
// before the answer leaves: an unaudited permit would be an unprovable use.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { Decision, DecisionRequest, decideParsed } from '../../../consent/decision.ts';
import type { GatewayContext } from '../../services/context.ts';
import { declaredFieldsSerializerCompiler } from '../response-serializer.ts';

const DECIDE = { roles: ['data-steward', 'exchange', 'admin'] } as const;

export function registerDecisionRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.post(
    '/v1/decisions',
    {
      config: DECIDE,
      // The answer is built only by decideParsed, typed as Decision, so re-validating it on the way out (about a tenth
      // of this route's CPU) guards nothing; it is still written with the declared fields only.
      serializerCompiler: declaredFieldsSerializerCompiler,
      schema: {
        summary:
          'Decide (principal, action, resource, context): permit or deny, reasons, records relied on, allowed fields',
        tags: ['decisions'],
        body: DecisionRequest,
        response: { 200: Decision },
      },
    },
    async (request) => {
      const { authorizer, bundle } = ctx.policies;
      // The body is the validator's DecisionRequest output (schema above), so it is not parsed a second time.
      const decision = decideParsed(request.body, {
        authorizer,
        purposes: bundle.purposes,
        view: ctx.consent.view,
        controllerId: ctx.config.partyId,
        now: ctx.clock.now(),
      });
      await ctx.consent.recordDecision({
        actor: `token:${request.principal?.tokenId ?? 'unknown'}`,
        action: request.body.action.toLowerCase(),
        outcome: decision.decision,
        purpose: request.body.context.purpose,
        reasons: decision.reasons.map((r) => r.code),
        consentIds: decision.consentIds,
        delegationIds: decision.delegationIds,
        fields: decision.allowedFields,
        ...(request.trace === null || request.trace === undefined ? {} : { traceId: request.trace.traceId }),
      });
      // Counted once audited: a decision the audit chain refused was never answered.
      ctx.metrics.decisions.inc({ outcome: decision.decision });
      return decision;
    },
  );
}
