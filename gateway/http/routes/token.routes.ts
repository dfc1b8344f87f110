// Bearer token administration over HTTP (admin only). The running gateway holds the DuckDB file
// lock, so while it runs this API, not the CLI, is how tokens are issued and revoked.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { GatewayContext } from '../../services/context.ts';
import { Role, TokenId, TokenInfo, TokenLabel } from '../../identity/token-store.ts';

export const CreateTokenRequest = z.strictObject({ role: Role, label: TokenLabel.optional() });
export const CreatedToken = TokenInfo.extend({
  token: z.string().describe('Shown once; only its SHA-256 digest is stored'),
});
export const TokenList = z.object({ tokens: z.array(TokenInfo) });

const ADMIN = { roles: ['admin'] } as const;

export function registerTokenRoutes(app: FastifyInstance, ctx: GatewayContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.post(
    '/v1/tokens',
    {
      config: ADMIN,
      schema: {
        summary: 'Issue a bearer token for one role; the token is in this response only',
        tags: ['tokens'],
        body: CreateTokenRequest,
        response: { 201: CreatedToken },
      },
    },
    async (request, reply) => {
      const created = await ctx.tokens.createToken(request.body.role, request.body.label);
      request.log.info({ tokenId: created.id, role: created.role, by: request.principal?.tokenId }, 'token issued');
      return reply.code(201).send(created);
    },
  );

  api.get(
    '/v1/tokens',
    {
      config: ADMIN,
      schema: {
        summary: 'List issued tokens (never the tokens themselves)',
        tags: ['tokens'],
        response: { 200: TokenList },
      },
    },
    async () => ({ tokens: await ctx.tokens.listTokens() }),
  );

  api.delete(
    '/v1/tokens/:id',
    {
      config: ADMIN,
      schema: {
        summary: 'Revoke a token; takes effect for the next request',
        tags: ['tokens'],
        params: z.object({ id: TokenId }),
        response: { 200: TokenInfo },
      },
    },
    async (request) => {
      const revoked = await ctx.tokens.revokeToken(request.params.id);
      request.log.info({ tokenId: revoked.id, by: request.principal?.tokenId }, 'token revoked');
      return revoked;
    },
  );
}
