// Who is asking, as the routes record it: the bearer token's id (never the token) and its role. The auth hook has
// set `request.principal` on every route that takes a token; 'unknown' stands in only where none was needed.
import type { FastifyRequest } from 'fastify';

/** The audit actor of a request: `token:<id>`. */
export const actorOf = (request: FastifyRequest): string => `token:${request.principal?.tokenId ?? 'unknown'}`;

/** The token id and role, as the job runner and the exchange's services take them. */
export const askerOf = (request: FastifyRequest): { tokenId: string; role: string } => ({
  tokenId: request.principal?.tokenId ?? 'unknown',
  role: request.principal?.role ?? 'unknown',
});
