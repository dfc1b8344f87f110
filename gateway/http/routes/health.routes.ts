// Liveness (/health), readiness (/ready) and Prometheus metrics (/metrics): the public probe
// surface orchestrators and scrapers use. Nothing here reveals data, keys or tokens.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { GatewayContext, ReadinessState } from '../../services/context.ts';

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

/** Runs every probe concurrently; a probe that throws is 'down'. */
export async function checkReadiness(ctx: Pick<GatewayContext, 'readiness' | 'log'>): Promise<Readiness> {
  const entries = await Promise.all(
    [...ctx.readiness].map(async ([name, probe]): Promise<[string, ReadinessState]> => {
      try {
        const state = State.safeParse(await probe());
        return [name, state.success ? state.data : 'down'];
      } catch (error) {
        ctx.log.warn({ err: error, component: name }, 'readiness probe failed');
        return [name, 'down'];
      }
    }),
  );
  const components = Object.fromEntries(entries);
  const down = entries.filter(([, s]) => s === 'down').map(([n]) => n);
  const degraded = entries.filter(([, s]) => s === 'degraded').map(([n]) => n);
  const status = down.length > 0 ? 'down' : degraded.length > 0 ? 'degraded' : 'ok';
  return { status, components, degraded, down };
}

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
