// The route table: every route module is registered here, in one place, so the API surface and
// each route's access policy can be reviewed together.
import type { FastifyInstance } from 'fastify';
import type { GatewayContext } from '../context.ts';
import { registerHealthRoutes } from './health.routes.ts';
import { registerTokenRoutes } from './token.routes.ts';

export async function registerRoutes(app: FastifyInstance, ctx: GatewayContext): Promise<void> {
  registerHealthRoutes(app, ctx);
  registerTokenRoutes(app, ctx);
}
