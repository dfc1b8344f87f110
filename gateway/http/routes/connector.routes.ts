// Connector views over HTTP: register (declare and import), list, describe and refresh. Responses
// carry declarations and counts, never rows. Every attempt, failed ones included, is an audit entry.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Connectors } from '../../../connectors/connectors.ts';
import { ObjectName } from '../../../connectors/sql-name.ts';
import { ConnectorView } from '../../../connectors/view.ts';
import { ViewDescription } from '../../../connectors/view-registry.ts';
import type { GatewayContext } from '../../services/context.ts';
import { isGatewayError } from '../../../core/errors.ts';
import { actorOf } from './request-actor.ts';

/** What these routes need from the gateway context (GatewayContext plus `connectors`). */
export type ConnectorRouteContext = Pick<GatewayContext, 'consent'> & { connectors: Connectors };

const STEWARD = { roles: ['data-steward', 'admin'] } as const;

const ViewParams = z.strictObject({ name: ObjectName });
const ViewList = z.object({ views: z.array(ViewDescription) });

/**
 * Runs an import and writes its audit entry either way. A refused import is still a data-handling
 * event a compliance officer should see; the entry names the error code, never the row's values.
 */
export async function auditedConnectorChange<T>({
  ctx,
  request,
  action,
  name,
  work,
  describe,
}: {
  ctx: Pick<GatewayContext, 'consent'>;
  request: FastifyRequest;
  action: string;
  name: string;
  work: () => Promise<T>;
  describe: (result: T) => { refs: string[]; detail: Record<string, unknown> };
}): Promise<T> {
  try {
    const result = await work();
    const { refs, detail } = describe(result);
    await ctx.consent.appendAudit({
      kind: 'connector',
      actor: actorOf(request),
      action,
      outcome: 'ok',
      refs: [name, ...refs],
      detail,
    });
    return result;
  } catch (error) {
    const code = isGatewayError(error) ? error.code : 'INTERNAL';
    const outcome = isGatewayError(error) && error.status < 500 ? 'rejected' : 'error';
    const where = isGatewayError(error) ? { row: error.detail.row ?? null, column: error.detail.column ?? null } : {};
    await ctx.consent
      .appendAudit({
        kind: 'connector',
        actor: actorOf(request),
        action,
        outcome,
        refs: [name],
        detail: { code, ...where },
      })
      .catch((auditError: unknown) =>
        request.log.error({ err: auditError }, 'could not audit a failed connector change'),
      );
    throw error;
  }
}

const importDetail = (view: ViewDescription) => ({
  refs: [view.source.sha256],
  detail: {
    kind: view.declaration.source.kind,
    file: view.source.file,
    rows: view.rows,
    subjects: view.subjects,
    generation: view.generation,
  },
});

export function registerConnectorRoutes(app: FastifyInstance, ctx: ConnectorRouteContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { views } = ctx.connectors;
  const tags = ['connectors'];

  api.post(
    '/v1/connectors/views',
    {
      config: STEWARD,
      schema: {
        summary:
          'Declare a view over a partner file or table and import it: subject ids become pseudonyms, identifier columns are dropped, all or nothing',
        tags,
        body: ConnectorView,
        response: { 201: ViewDescription },
      },
    },
    async (request, reply) => {
      const view = await auditedConnectorChange({
        ctx,
        request,
        action: 'view-register',
        name: request.body.name,
        work: () => views.register(request.body),
        describe: importDetail,
      });
      return reply.code(201).send(view);
    },
  );

  api.get(
    '/v1/connectors/views',
    {
      config: STEWARD,
      schema: {
        summary: 'Every registered view: declaration, row and subject counts, source digest',
        tags,
        response: { 200: ViewList },
      },
    },
    async () => ({ views: await views.list() }),
  );

  api.get(
    '/v1/connectors/views/:name',
    {
      config: STEWARD,
      schema: {
        summary: 'One view: declaration and counts (never rows)',
        tags,
        params: ViewParams,
        response: { 200: ViewDescription },
      },
    },
    async (request) => views.get(request.params.name),
  );

  api.post(
    '/v1/connectors/views/:name/refresh',
    {
      config: STEWARD,
      schema: {
        summary:
          'Re-import the source under the stored declaration; the previous rows stay until the new import commits',
        tags,
        params: ViewParams,
        response: { 200: ViewDescription },
      },
    },
    async (request) =>
      auditedConnectorChange({
        ctx,
        request,
        action: 'view-refresh',
        name: request.params.name,
        work: () => views.refresh(request.params.name),
        describe: importDetail,
      }),
  );
}
