// Liveness (/health), readiness (/ready) and Prometheus metrics (/metrics): the public probe
// surface orchestrators and scrapers use. Nothing here reveals data, keys or tokens.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { GatewayContext } from '../../services/context.ts';
import { checkReadiness } from '../../services/readiness.ts';

const State = z.enum(['ok', 'degraded', 'down']);

export const Health = z.object({ status: z.literal('ok') });

export const Readiness = z.object({
  status: State,
  components: z.record(z.string(), State),
  /** Components that answer but slowly or partially; the gateway still takes traffic. */
  degraded: z.array(z.string()),
  /** Components that do not answer; any entry here makes the gateway unready (503). */
  down: z.array(z.string()),
});
export type Readiness = z.infer<typeof Readiness>;

export function registerHealthRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/health',
    {
      config: { public: true },
      schema: {
        summary: 'Liveness: the process is up and serving HTTP',
        tags: ['operations'],
        response: { 200: Health },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  api.get(
    '/ready',
    {
      config: { public: true },
      schema: {
        summary: 'Readiness of each component; 503 when any is down',
        tags: ['operations'],
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      const readiness = await checkReadiness(ctx);
      return reply.code(readiness.status === 'down' ? 503 : 200).send(readiness);
    },
  );

  api.get(
    '/metrics',
    {
      config: { public: true },
      schema: {
        summary: 'Prometheus metrics, text exposition format 0.0.4',
        tags: ['operations'],
        response: { 200: z.string().describe('Prometheus text format') },
      },
    },
    async (_request, reply) => {
      // A string body with a non-JSON content type is sent as is, bypassing the JSON serializer.
      return reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
    },
  );
}
